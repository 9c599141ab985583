import { afterAll, beforeAll, describe, test } from 'vitest'
import assert from 'node:assert/strict'
import type { CheckinSent } from '../alerts/events.ts'
import type { Anomaly } from '../vocab/index.ts'
import { STORES, HOUR, seedStreet, startGridcare, type Harness } from './helpers.ts'

const MIN = 60_000

for (const store of STORES) describe(store, () => {
  let h: Harness
  let tokens: Awaited<ReturnType<typeof seedStreet>>
  let now = Date.UTC(2026, 10, 23, 2)
  const clock = { now: () => now }
  const T = Date.UTC(2026, 10, 22, 20)
  const sent: CheckinSent[] = []
  const taught: Array<{ subjectId: string, falseAlarm: boolean, kind?: string }> = []
  const quiet = (subjectId: string, over: Partial<Anomaly> = {}): Anomaly => ({
    subjectId, detector: 'inactivity', kind: 'inactivity', phase: 'raise', severity: 'medium', confidence: 'low',
    startedAt: T, observedAt: T + 6 * HOUR, evidence: { usualKwh: 2, actualKwh: 0.2 }, ...over,
  })
  const family = [{ name: 'Zhang Min', phone: '13900000009', relation: 'daughter' }, { name: 'Li Bo', phone: '13900000008', relation: 'neighbour' }]
  /** The contact's answer: no bearer token, the secret from the link. */
  const answer = async (link: string, ans: string, secret?: string) => {
    const u = new URL(link, 'http://x')
    const id = u.pathname.split('/').pop()!
    const res = await h.gc.http.inject({ method: 'POST', url: `/api/checkins/${id}/answer?s=${secret ?? u.searchParams.get('s')}`, payload: { answer: ans } })
    return { status: res.statusCode, body: JSON.parse(res.body) }
  }
  const tasksOf = async (subject: string) => (await h.api('GET', '/api/tasks')).body.filter((t: { subject: string }) => t.subject === subject)
  const alertOf = async (subject: string) => (await h.api('GET', `/api/alerts?subject=${subject}`)).body[0]

  beforeAll(async () => {
    h = await startGridcare({}, clock, store)
    tokens = await seedStreet(h)
    for (const [id, unit] of [['c1', 'U101'], ['c2', 'U102'], ['c3', 'U201'], ['c4', 'U202']]) {
      const r = await h.api('POST', '/api/subjects', { id, kind: 'lone_elder', address: unit, name: `Elder ${id}`, contacts: family })
      assert.equal(r.status, 201)
    }
    h.gc.events.on('checkin.sent', (e) => sent.push(e))
    const d = h.gc.components.detectors
    const feedback = d.feedback.bind(d)
    d.feedback = (fb) => { taught.push({ subjectId: fb.subjectId, falseAlarm: fb.falseAlarm === true, ...(fb.kind ? { kind: fb.kind } : {}) }); return feedback(fb) }
  })
  afterAll(async () => { await h.close() })

  test('contacts are kept in order and changed with PUT; a change is audited', async () => {
    assert.deepEqual((await h.api('GET', '/api/subjects/c1')).body.contacts, family)
    const put = await h.api('PUT', '/api/subjects/c4', { contacts: [family[1]] }, tokens.w2)
    assert.equal(put.status, 200)
    assert.deepEqual(put.body.contacts, [family[1]])
    assert.equal(put.body.name, 'Elder c4', 'fields left out stay')
    assert.equal((await h.api('PUT', '/api/subjects/c4', { contacts: [] }, tokens.w1)).status, 403, 'outside the worker\'s grid')
    assert.equal((await h.api('PUT', '/api/subjects/c4', { contacts: [{ name: 'x' }] })).body.error.code, 'REQUEST_INVALID')
    assert.equal((await h.api('PUT', '/api/subjects/nobody', { contacts: [] })).status, 404)
  })

  test('a low-confidence welfare alert asks the first contact; "well" closes it as a false alarm and teaches the detector', async () => {
    await h.gc.components.alerts.handleAnomaly(quiet('c1'))
    const alert = await alertOf('c1')
    assert.equal(alert.stage, 'checkin')
    assert.equal(alert.confidence, 'low')
    assert.equal((await tasksOf('c1')).length, 0, 'no worker yet')
    const ev = sent.find((e) => e.subject.id === 'c1')!
    assert.equal(ev.contact.name, 'Zhang Min')
    assert.match(ev.link, /^\/checkin\/[^?]+\?s=.+/)
    assert.equal(ev.dueAt, new Date(now + 20 * MIN).toISOString())
    const listed = (await h.api('GET', `/api/alerts/${alert.id}/checkins`)).body
    assert.equal(listed.stage, 'checkin')
    assert.equal(listed.checkins[0].state, 'pending')

    assert.equal((await answer(ev.link, 'well', 'not-the-secret')).body.error.code, 'CHECKIN_BAD_SECRET')
    now += 5 * MIN
    const ok = await answer(ev.link, 'well')
    assert.equal(ok.status, 200)
    assert.equal(ok.body.state, 'well')
    const closed = await alertOf('c1')
    assert.equal(closed.status, 'closed')
    assert.equal(closed.outcome, 'false_alarm')
    assert.deepEqual(taught.filter((t) => t.subjectId === 'c1'), [{ subjectId: 'c1', falseAlarm: true, kind: 'inactivity' }])
    assert.equal((await tasksOf('c1')).length, 0, 'a visit avoided')
    assert.equal((await h.api('GET', '/api/checkins/summary')).body.visitsAvoided, 1)
    const again = await answer(ev.link, 'help')
    assert.equal(again.status, 409)
    assert.equal(again.body.error.code, 'CHECKIN_CLOSED')
    const page = await h.gc.http.inject({ method: 'GET', url: ev.link })
    assert.equal(page.statusCode, 200)
    assert.match(page.body, /平安/)
  })

  test('no answer by the deadline: the worker gets the task at the next sweep', async () => {
    const start = now
    await h.gc.components.alerts.handleAnomaly(quiet('c2'))
    assert.equal((await h.gc.components.alerts.sweep(start + 19 * MIN)).checkinsExpired, 0)
    assert.equal((await tasksOf('c2')).length, 0)
    const r = await h.gc.components.alerts.sweep(start + 21 * MIN)
    assert.equal(r.checkinsExpired, 1)
    const [task] = await tasksOf('c2')
    assert.equal(task.workerId, 'w1')
    assert.match(task.history[0].note, /no answer from Zhang Min/)
    assert.equal((await alertOf('c2')).stage, 'task')
    const expired = (await h.api('GET', '/api/checkins?state=expired')).body
    assert.equal(expired.length, 1)
    const late = sent.find((e) => e.subject.id === 'c2')!
    assert.equal((await answer(late.link, 'well')).body.error.code, 'CHECKIN_CLOSED')
  })

  test('"help" makes the worker\'s task at once', async () => {
    await h.gc.components.alerts.handleAnomaly(quiet('c3'))
    const ev = sent.find((e) => e.subject.id === 'c3')!
    const res = await h.gc.http.inject({ method: 'POST', url: ev.link.replace('/checkin/', '/api/checkins/').replace(/\?s=.*/, '/answer'), payload: { answer: 'help', secret: ev.code } })
    assert.equal(res.statusCode, 200, res.body)
    const [task] = await tasksOf('c3')
    assert.equal(task.workerId, 'w2')
    assert.match(task.history[0].note, /Zhang Min \(daughter\) asked for help/)
    assert.equal((await alertOf('c3')).stage, 'task')
  })

  test('a critical alert goes to the worker and the contact at the same time; "well" is told to the worker, the task stays', async () => {
    const before = sent.length
    await h.gc.components.alerts.handleAnomaly(quiet('c4', { kind: 'fall', detector: 'camera', severity: 'critical', confidence: 'high' }))
    const [task] = await tasksOf('c4')
    assert.ok(task, 'a task at once')
    assert.equal(task.confidence, 'high')
    assert.equal(sent.length, before + 1)
    const ev = sent.at(-1)!
    assert.equal(ev.contact.name, 'Li Bo', 'the first contact after the change')
    assert.equal((await answer(ev.link, 'well')).status, 200)
    const after = (await h.api('GET', `/api/tasks/${task.id}`)).body
    assert.equal(after.state, 'open')
    assert.equal(after.history.at(-1).action, 'checkin_answered')
    assert.equal((await h.api('GET', '/api/checkins/summary')).body.visitsAvoided, 1, 'not a visit avoided')
  })

  test('a check-in stage alert that turns critical goes to the worker; one that clears cancels its check-in', async () => {
    await h.api('POST', '/api/subjects', { id: 'c5', kind: 'lone_elder', address: 'U101', contacts: family })
    await h.api('POST', '/api/subjects', { id: 'c6', kind: 'lone_elder', address: 'U101', contacts: family })
    const a = h.gc.components.alerts
    await a.handleAnomaly(quiet('c5'))
    await a.handleAnomaly(quiet('c5', { phase: 'update', severity: 'critical', observedAt: T + 9 * HOUR }))
    assert.equal((await tasksOf('c5')).length, 1)
    await a.handleAnomaly(quiet('c6'))
    await a.handleAnomaly(quiet('c6', { phase: 'clear', observedAt: T + 7 * HOUR }))
    const alert = await alertOf('c6')
    assert.equal(alert.status, 'cleared')
    assert.equal(alert.outcome, 'self_resolved')
    assert.equal((await h.api('GET', `/api/alerts/${alert.id}/checkins`)).body.checkins[0].state, 'cancelled')
    await a.sweep(now + 30 * MIN)
    assert.equal((await tasksOf('c6')).length, 0, 'a cancelled check-in makes no task')
  })
})
