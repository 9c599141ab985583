import { afterAll, beforeAll, test } from 'vitest'
import assert from 'node:assert/strict'
import type { Anomaly } from '../vocab/index.ts'
import { DAY, HOUR, seedStreet, startGridcare, type Harness } from './helpers.ts'

let h: Harness
let tokens: Awaited<ReturnType<typeof seedStreet>>
const now = Date.UTC(2026, 10, 23, 2)
const clock = { now: () => now }
const iso = (t: number) => new Date(t).toISOString()
const quiet = (subjectId: string, at: number): Anomaly => ({
  subjectId, detector: 'low_use', kind: 'inactivity', phase: 'raise', severity: 'medium', startedAt: at - 6 * HOUR, observedAt: at, evidence: {},
})

beforeAll(async () => {
  h = await startGridcare({}, clock)
  tokens = await seedStreet(h)
  for (const [id, unit] of [['e101', 'U101'], ['e102', 'U102']]) {
    await h.api('POST', '/api/subjects', { id, kind: 'lone_elder', address: unit })
  }
})
afterAll(async () => { await h.close() })

test('a family tells the grid worker of a trip next week: no inactivity alert during it, the detectors know', async () => {
  const from = now + 2 * DAY, until = now + 6 * DAY
  const res = await h.api('POST', '/api/subjects/e101/absences', { from: iso(from), until: iso(until), note: 'visiting her son in Ningbo' }, tokens.w1)
  assert.equal(res.status, 201)
  assert.equal(res.body.from, iso(from))
  assert.equal(res.body.until, iso(until))
  assert.equal(res.body.declaredBy, 'w1')

  // The detectors expect quiet in that window only.
  const inactivity = h.gc.components.detectors.detectors.find((d) => d.name === 'inactivity')!
  const snap = inactivity.snapshot('e101') as { awayFrom: number, awayUntil: number }
  assert.equal(snap.awayFrom, from)
  assert.equal(snap.awayUntil, until)

  const alerts = h.gc.components.alerts
  assert.equal(await alerts.handleAnomaly(quiet('e101', from + DAY)), null, 'quiet during the trip is expected')
  const before = await alerts.handleAnomaly(quiet('e101', now + DAY))
  assert.ok(before, 'quiet the day before the trip still alerts')
  assert.equal(before.kind, 'inactivity')

  const list = await h.api('GET', '/api/subjects/e101/absences', undefined, tokens.w1)
  assert.equal(list.status, 200)
  assert.deepEqual(list.body.map((a: { id: string }) => a.id), [res.body.id])
})

test('an absence is declared only by someone covering the subject, and must make sense', async () => {
  const other = await h.api('POST', '/api/subjects/e102/absences', { until: iso(now + DAY) }, tokens.w2)
  assert.equal(other.status, 403)
  for (const bad of [
    { from: iso(now + 2 * DAY), until: iso(now + DAY) },
    { from: iso(now - 3 * DAY), until: iso(now - DAY) },
    { until: iso(now + 400 * DAY) },
  ]) {
    const r = await h.api('POST', '/api/subjects/e102/absences', bad, tokens.w1)
    assert.equal(r.status, 400, JSON.stringify(bad))
    assert.equal(r.body.error.code, 'ABSENCE_INVALID')
  }
  const missing = await h.api('POST', '/api/subjects/e102/absences', { from: iso(now) }, tokens.w1)
  assert.equal(missing.status, 400)
  assert.equal((await h.api('POST', '/api/subjects/nobody/absences', { until: iso(now + DAY) }, tokens.w1)).status, 404)
})

test('a cancelled trip: alerts come again, and the detectors watch as usual', async () => {
  const res = await h.api('POST', '/api/subjects/e102/absences', { until: iso(now + 3 * DAY) }, tokens.w1)
  assert.equal(res.status, 201)
  const alerts = h.gc.components.alerts
  assert.equal(await alerts.handleAnomaly(quiet('e102', now + HOUR)), null)
  const cancel = await h.api('DELETE', `/api/subjects/e102/absences/${res.body.id}`, undefined, tokens.w1)
  assert.equal(cancel.status, 200)
  assert.ok(cancel.body.cancelledAt)
  assert.equal((await h.api('DELETE', `/api/subjects/e102/absences/${res.body.id}`, undefined, tokens.w1)).status, 404)
  const snap = h.gc.components.detectors.detectors.find((d) => d.name === 'inactivity')!.snapshot('e102') as { awayUntil: number }
  assert.equal(snap.awayUntil, 0)
  assert.ok(await alerts.handleAnomaly(quiet('e102', now + 2 * HOUR)))
})

test('a stuck meter during a trip is still a task, for a technician: a device fault, not a welfare visit', async () => {
  const res = await h.api('POST', '/api/subjects/e101/absences', { until: iso(now + 2 * DAY) }, tokens.w1)
  assert.equal(res.status, 201)
  const alert = await h.gc.components.alerts.handleAnomaly({
    subjectId: 'e101', detector: 'meter_health', kind: 'meter_stuck', phase: 'raise', severity: 'low', startedAt: now, observedAt: now + HOUR,
    evidence: { deviceFault: true, deviceId: 'm-e101', reason: 'Electricity meter m-e101 looks stuck' },
  })
  assert.ok(alert)
  assert.equal(alert.category, 'device_fault')
  const tasks = (await h.api('GET', '/api/tasks', undefined, tokens.w1)).body.filter((t: { alertId: string }) => t.alertId === alert.id)
  assert.equal(tasks.length, 1)
  assert.equal(tasks[0].category, 'device_fault')
  assert.equal(tasks[0].severity, 'low')
})

test('two trips declared: the detectors watch for the one that comes first, then the next; a cancel keeps the other', async () => {
  await h.api('POST', '/api/subjects', { id: 'e103', kind: 'lone_elder', address: 'U101' })
  const window = () => {
    const s = h.gc.components.detectors.detectors.find((d) => d.name === 'inactivity')!.snapshot('e103') as { awayFrom: number, awayUntil: number }
    return [s.awayFrom, s.awayUntil]
  }
  const a = (await h.api('POST', '/api/subjects/e103/absences', { from: iso(now + DAY), until: iso(now + 2 * DAY) }, tokens.w1)).body
  const b = (await h.api('POST', '/api/subjects/e103/absences', { from: iso(now + 5 * DAY), until: iso(now + 6 * DAY) }, tokens.w1)).body
  assert.deepEqual(window(), [now + DAY, now + 2 * DAY], 'the first trip, though the second was declared last')
  // The first trip's window stays a day past its end (its last day's readings may come late);
  // then the minute sweep moves the detectors on to the second.
  await h.gc.components.alerts.sweep(now + 2 * DAY + HOUR)
  assert.deepEqual(window(), [now + DAY, now + 2 * DAY])
  await h.gc.components.alerts.sweep(now + 3 * DAY + 3 * HOUR)
  assert.deepEqual(window(), [now + 5 * DAY, now + 6 * DAY])
  await h.api('DELETE', `/api/subjects/e103/absences/${a.id}`, undefined, tokens.w1)
  assert.deepEqual(window(), [now + 5 * DAY, now + 6 * DAY], 'cancelling one trip keeps the other')
  await h.api('DELETE', `/api/subjects/e103/absences/${b.id}`, undefined, tokens.w1)
  assert.deepEqual(window(), [0, 0])
})

test('an episode whose raise fell inside an absence becomes an alert when it goes on after it', async () => {
  const alerts = h.gc.components.alerts
  await h.api('POST', '/api/subjects', { id: 'e104', kind: 'lone_elder', address: 'U101' })
  await h.api('POST', '/api/subjects/e104/absences', { until: iso(now + 6 * HOUR) }, tokens.w1)
  const startedAt = now - 2 * HOUR
  assert.equal(await alerts.handleAnomaly({ ...quiet('e104', now + HOUR), startedAt }), null)
  const later = await alerts.handleAnomaly({ ...quiet('e104', now + 8 * HOUR), startedAt, phase: 'update', severity: 'high' })
  assert.ok(later, 'still quiet after the trip was due to end')
  assert.equal(later.severity, 'high')
  assert.equal(await alerts.handleAnomaly({ ...quiet('e104', now + 9 * HOUR), startedAt, phase: 'update', severity: 'critical' }).then((x) => x?.id), later.id, 'and the next update is the same alert')
})
