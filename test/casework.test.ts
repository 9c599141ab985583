import { afterAll, beforeAll, describe, test } from 'vitest'
import assert from 'node:assert/strict'
import type { Anomaly } from '../vocab/index.ts'
import { STORES, DAY, HOUR, seedStreet, startGridcare, type Harness } from './helpers.ts'

const MIN = 60_000
const T = Date.UTC(2026, 10, 22, 20)

for (const store of STORES) describe(store, () => {
  let h: Harness
  let tokens: Awaited<ReturnType<typeof seedStreet>> & { cc: string, w2n: string, w2b: string }
  // Monday 23 Nov 2026, 10:00 in UTC+8
  let now = Date.UTC(2026, 10, 23, 2)
  const clock = { now: () => now }
  const quiet = (subjectId: string, over: Partial<Anomaly> = {}): Anomaly => ({
    subjectId, detector: 'inactivity', kind: 'inactivity', phase: 'raise', severity: 'medium',
    startedAt: T, observedAt: T + 6 * HOUR, evidence: {}, ...over,
  })
  const tasksOf = async (subject: string) => (await h.api('GET', '/api/tasks')).body.filter((t: { subject: string }) => t.subject === subject)
  const task = async (id: string) => (await h.api('GET', `/api/tasks/${id}`)).body

  beforeAll(async () => {
    h = await startGridcare({}, clock, store)
    const base = await seedStreet(h)
    const cc = await h.api('POST', '/api/workers', { id: 'cc', name: 'Street centre', role: 'command_centre', grids: ['S1'] })
    const w2n = await h.api('POST', '/api/workers', { id: 'w2n', name: 'Night shift', role: 'grid_worker', grids: ['G2'] })
    const w2b = await h.api('POST', '/api/workers', { id: 'w2b', name: 'Backup', role: 'grid_worker', grids: ['G1'] })
    tokens = { ...base, cc: cc.body.token, w2n: w2n.body.token, w2b: w2b.body.token }
    for (const [id, unit] of [['s1', 'U101'], ['s2', 'U102'], ['s3', 'U101'], ['s4', 'U102'], ['r1', 'U201']]) {
      await h.api('POST', '/api/subjects', { id, kind: 'lone_elder', address: unit })
    }
  })
  afterAll(async () => { await h.close() })

  test('a cleared alert closes its untouched task as self_resolved; a re-rise within the window reopens the same alert and task', async () => {
    const a = h.gc.components.alerts
    await a.handleAnomaly(quiet('s1'))
    const [t] = await tasksOf('s1')
    await a.handleAnomaly(quiet('s1', { phase: 'clear', observedAt: T + 8 * HOUR }))
    const closed = await task(t.id)
    assert.deepEqual([closed.state, closed.outcome, closed.stage], ['resolved', 'self_resolved', 'closed'])
    assert.equal(closed.history.at(-1).action, 'self_resolved')
    await a.handleAnomaly(quiet('s1', { startedAt: T + 9 * HOUR, observedAt: T + 14 * HOUR, severity: 'high' }))
    const alerts = (await h.api('GET', '/api/alerts?subject=s1')).body
    assert.equal(alerts.length, 1, 'the same alert')
    assert.deepEqual([alerts[0].status, alerts[0].reopened, alerts[0].severity], ['open', 1, 'high'])
    const tasks = await tasksOf('s1')
    assert.equal(tasks.length, 1, 'no second task for one silence')
    assert.deepEqual([tasks[0].state, tasks[0].outcome, tasks[0].severity], ['open', null, 'high'])
    assert.equal(tasks[0].history.at(-1).action, 'reopened')
    // Past the window (12 h by default) a rise is a new alert.
    await a.handleAnomaly(quiet('s1', { phase: 'clear', observedAt: T + 15 * HOUR }))
    await a.handleAnomaly(quiet('s1', { startedAt: T + 30 * HOUR, observedAt: T + 36 * HOUR }))
    assert.equal((await h.api('GET', '/api/alerts?subject=s1')).body.length, 2)
  })

  test('a clearing after a worker acted only notes it on the task', async () => {
    const a = h.gc.components.alerts
    await a.handleAnomaly(quiet('s2'))
    const [t] = await tasksOf('s2')
    await h.api('POST', `/api/tasks/${t.id}/ack`, {}, tokens.w1)
    await a.handleAnomaly(quiet('s2', { phase: 'clear', observedAt: T + 8 * HOUR }))
    const after = await task(t.id)
    assert.deepEqual([after.state, after.history.at(-1).action], ['acknowledged', 'alert_cleared'])
  })

  test('a severity rise tightens the deadlines still ahead', async () => {
    const a = h.gc.components.alerts
    await a.handleAnomaly(quiet('s3'))
    const [t] = await tasksOf('s3')
    assert.equal(t.deadlines.ackBy, new Date(now + 120 * MIN).toISOString())
    now += 5 * MIN
    await a.handleAnomaly(quiet('s3', { phase: 'update', severity: 'critical', observedAt: T + 9 * HOUR }))
    const after = await task(t.id)
    assert.equal(after.deadlines.ackBy, new Date(now + 10 * MIN).toISOString())
    assert.equal(after.deadlines.arriveBy, new Date(now + 30 * MIN).toISOString())
    assert.equal(after.history.at(-1).action, 'severity_raised')
  })

  test('rosters route by the time of day and fall back to the backup, then the leader', async () => {
    const roster = {
      shifts: [{ worker: 'w2', weekdays: [0, 1, 2, 3, 4, 5, 6], from: '08:00', to: '18:00' }, { worker: 'w2n', weekdays: [0, 1, 2, 3, 4, 5, 6], from: '18:00', to: '08:00' }],
      exceptions: [{ worker: 'w2n', date: '2026-11-24', onDuty: false, note: 'sick' }],
      backups: ['w2b'], leader: 'lead',
    }
    assert.equal((await h.api('PUT', '/api/rosters/G2', roster, tokens.w2)).status, 403)
    assert.equal((await h.api('PUT', '/api/rosters/G2', { ...roster, backups: ['ghost'] }, tokens.lead)).body.error.code, 'ROSTER_INVALID')
    const put = await h.api('PUT', '/api/rosters/G2', roster, tokens.lead)
    assert.equal(put.status, 200)
    assert.deepEqual(put.body.shifts, roster.shifts)
    const who = async () => (await h.api('GET', '/api/rosters/G2', undefined, tokens.lead)).body.onDutyNow
    const day = now
    try {
      now = Date.UTC(2026, 10, 23, 2) // Mon 10:00 local
      assert.equal(await who(), 'w2')
      now = Date.UTC(2026, 10, 23, 12) // Mon 20:00 local
      assert.equal(await who(), 'w2n')
      now = Date.UTC(2026, 10, 23, 21) // Tue 05:00 local: the night shift runs past midnight, but w2n is off sick Tuesday
      assert.equal(await who(), 'w2b')
      await h.api('PUT', '/api/workers/w2b/duty', { onDuty: false })
      assert.equal(await who(), 'lead')
      await h.api('PUT', '/api/workers/w2b/duty', { onDuty: true })
      now = Date.UTC(2026, 10, 23, 12)
      await h.gc.components.alerts.handleAnomaly(quiet('r1'))
      const [t] = await tasksOf('r1')
      assert.equal(t.workerId, 'w2n', 'a real alert takes the same route')
    } finally { now = day }
  })

  test('a leader reassigns with a reason; a worker hands a task back and it goes to the next by the roster', async () => {
    const [t] = await tasksOf('r1')
    const wrong = await h.api('POST', `/api/tasks/${t.id}/reassign`, { worker: 'w1', reason: 'closer' }, tokens.lead)
    assert.equal(wrong.body.error.code, 'TASK_BAD_ASSIGNEE', 'w1 does not cover G2')
    assert.equal((await h.api('POST', `/api/tasks/${t.id}/reassign`, { worker: 'w2', reason: 'closer' }, tokens.w2n)).status, 403)
    const moved = (await h.api('POST', `/api/tasks/${t.id}/reassign`, { worker: 'w2', reason: 'she knows the family' }, tokens.lead)).body
    assert.equal(moved.workerId, 'w2')
    assert.deepEqual([moved.history.at(-1).action, moved.history.at(-1).actor, moved.history.at(-1).note], ['reassigned', 'lead', 'she knows the family'])
    assert.equal((await h.api('POST', `/api/tasks/${t.id}/handback`, { reason: 'not mine' }, tokens.w2n)).status, 403)
    now = Date.UTC(2026, 10, 23, 12) // the night shift is on
    const back = (await h.api('POST', `/api/tasks/${t.id}/handback`, { reason: 'at hospital with my mother' }, tokens.w2)).body
    now = Date.UTC(2026, 10, 23, 2)
    assert.equal(back.workerId, 'w2n')
    assert.equal(back.history.at(-1).action, 'handed_back')
  })

  test('every rejected move has its code', async () => {
    await h.api('POST', '/api/subjects', { id: 's9', kind: 'lone_elder', address: 'U101' })
    await h.gc.components.alerts.handleAnomaly(quiet('s9'))
    const [t] = await tasksOf('s9')
    const call = async (path: string, body: unknown = {}, token = tokens.w1) => (await h.api('POST', `/api/tasks/${t.id}/${path}`, body, token))
    const code = async (path: string, body: unknown = {}, token = tokens.w1) => { const r = await call(path, body, token); return [r.status, r.body.error?.code] }
    assert.deepEqual(await code('review', {}, tokens.lead), [409, 'TASK_BAD_TRANSITION'], 'review before resolve')
    assert.deepEqual(await code('review', {}, tokens.w1), [403, 'AUTH_FORBIDDEN'], 'a grid worker does not review')
    assert.deepEqual(await code('resolve', { outcome: 'away', awayUntil: new Date(now + 181 * DAY).toISOString() }), [400, 'TASK_AWAY_TOO_LONG'])
    assert.deepEqual(await code('resolve', { outcome: 'away', awayUntil: new Date(now + 5 * DAY).toISOString() }), [403, 'TASK_AWAY_NEEDS_LEADER'])
    assert.deepEqual(await code('resolve', { outcome: 'away', awayUntil: new Date(now - DAY).toISOString() }), [400, 'TASK_BAD_OUTCOME'])
    assert.deepEqual(await code('resolve', { outcome: 'handled', awayUntil: new Date(now + DAY).toISOString() }), [400, 'TASK_BAD_OUTCOME'])
    assert.deepEqual(await code('resolve', { outcome: 'handled', satisfaction: 5 }), [400, 'TASK_BAD_OUTCOME'], 'satisfaction is for reports')
    assert.deepEqual(await code('ack', {}, tokens.w2), [403, 'AUTH_FORBIDDEN'])
    assert.equal((await call('ack')).status, 200)
    assert.deepEqual(await code('ack'), [409, 'TASK_BAD_TRANSITION'])
    assert.equal((await call('arrive')).status, 200)
    assert.deepEqual(await code('arrive'), [409, 'TASK_BAD_TRANSITION'])
    assert.equal((await call('resolve', { outcome: 'away', awayUntil: new Date(now + 5 * DAY).toISOString() }, tokens.lead)).status, 200, 'a leader may')
    for (const p of ['ack', 'arrive']) assert.deepEqual(await code(p), [409, 'TASK_BAD_TRANSITION'], `${p} after resolve`)
    assert.deepEqual(await code('resolve', { outcome: 'handled' }), [409, 'TASK_BAD_TRANSITION'])
    assert.deepEqual(await code('reassign', { worker: 'w1', reason: 'x' }, tokens.lead), [409, 'TASK_BAD_TRANSITION'])
    assert.deepEqual(await code('handback', { reason: 'x' }), [409, 'TASK_BAD_TRANSITION'])
    const reviewed = await call('review', {}, tokens.lead)
    assert.deepEqual([reviewed.body.state, reviewed.body.stage, reviewed.body.stageName], ['reviewed', 'closed', '结案'])
    assert.deepEqual(await code('review', {}, tokens.lead), [409, 'TASK_BAD_TRANSITION'])
  })

  test('comments and photos on a task; a report\'s satisfaction at closing; bulk moves for a command centre', async () => {
    const rep = (await h.api('POST', '/api/reports', { category: 'environment', address: 'U102', text: 'rubbish on the stairs' }, tokens.w1)).body
    const id = rep.taskId
    assert.equal((await h.api('POST', `/api/tasks/${id}/comments`, { text: 'called the property office' }, tokens.w1)).body.history.at(-1).note, 'called the property office')
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(100)])
    const up = await h.gc.http.inject({ method: 'POST', url: `/api/tasks/${id}/photos`, payload: png, headers: { authorization: `Bearer ${tokens.w1}`, 'content-type': 'image/png' } })
    assert.equal(up.statusCode, 201, up.body)
    const photo = JSON.parse(up.body)
    const got = await h.gc.http.inject({ method: 'GET', url: `/api/tasks/${id}/photos/${photo.id}`, headers: { authorization: `Bearer ${tokens.w1}` } })
    assert.equal(got.headers['content-type'], 'image/png')
    assert.deepEqual(got.rawPayload, png)
    const fake = await h.gc.http.inject({ method: 'POST', url: `/api/tasks/${id}/photos`, payload: Buffer.from('<svg/>'), headers: { authorization: `Bearer ${tokens.w1}`, 'content-type': 'image/png' } })
    assert.deepEqual([fake.statusCode, JSON.parse(fake.body).error.code], [415, 'PHOTO_BAD_TYPE'])
    const big = await h.gc.http.inject({ method: 'POST', url: `/api/tasks/${id}/photos`, payload: Buffer.concat([png, Buffer.alloc(5 * 1024 * 1024)]), headers: { authorization: `Bearer ${tokens.w1}`, 'content-type': 'image/png' } })
    assert.deepEqual([big.statusCode, JSON.parse(big.body).error.code], [413, 'PHOTO_TOO_LARGE'])

    assert.equal((await h.api('POST', '/api/tasks/bulk', { ids: [id], action: 'ack' }, tokens.lead)).status, 403)
    const others = (await h.api('GET', '/api/tasks?status=open')).body.map((t: { id: string }) => t.id)
    const bulk = (await h.api('POST', '/api/tasks/bulk', { ids: [...new Set([id, ...others])], action: 'ack', note: 'seen at the centre' }, tokens.cc)).body
    assert.ok(bulk.every((r: { ok: boolean }) => r.ok))
    const res = (await h.api('POST', '/api/tasks/bulk', { ids: [id, 'nope'], action: 'resolve', outcome: 'handled' }, tokens.cc)).body
    assert.deepEqual(res.map((r: { ok: boolean }) => r.ok), [false, true])
    const done = await h.api('POST', `/api/tasks/${id}/review`, { satisfaction: 4 }, tokens.lead)
    assert.deepEqual([done.body.satisfaction, done.body.stage, done.body.stageName], [4, 'evaluated', '评价'])
    assert.deepEqual((await h.api('POST', `/api/tasks/${id}/review`, { satisfaction: 9 }, tokens.lead)).body.error.code, 'REQUEST_INVALID')
  })
})
