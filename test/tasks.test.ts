import { afterAll, beforeAll, describe, test } from 'vitest'
import assert from 'node:assert/strict'
import { request } from 'node:http'
import type { Anomaly } from '../vocab/index.ts'
import { STORES, connectDevice, HOUR, seedStreet, startGridcare, type Harness } from './helpers.ts'

for (const store of STORES) describe(store, () => {

  let h: Harness
  let tokens: Awaited<ReturnType<typeof seedStreet>>
  let now = Date.UTC(2026, 10, 23, 2)
  const clock = { now: () => now }
  const T = Date.UTC(2026, 2, 10, 1) // event time of the anomalies: a past month

  const anomaly = (subjectId: string, over: Partial<Anomaly> = {}): Anomaly => ({
    subjectId, detector: 'inactivity', kind: 'inactivity', phase: 'raise', severity: 'medium',
    startedAt: T, observedAt: T + 6 * HOUR, evidence: { usualKwh: 2, actualKwh: 0.2 }, ...over,
  })

  beforeAll(async () => {
    h = await startGridcare({}, clock, store)
    tokens = await seedStreet(h)
    for (const [id, unit] of [['e101', 'U101'], ['e102', 'U102'], ['e201', 'U201']]) {
      await h.api('POST', '/api/subjects', { id, kind: 'lone_elder', address: unit, name: `Elder ${id}`, phone: '13900000000' })
    }
  })
  afterAll(async () => { await h.close() })

  const tasksOf = async (subject: string) => (await h.api('GET', '/api/tasks')).body.filter((t: { subject: string }) => t.subject === subject)

  test('one alert per episode: repeated anomalies update it, a higher severity raises the task', async () => {
    const alerts = h.gc.components.alerts
    await alerts.handleAnomaly(anomaly('e101'))
    await alerts.handleAnomaly(anomaly('e101', { observedAt: T + 7 * HOUR }))
    await alerts.handleAnomaly(anomaly('e101', { phase: 'update', severity: 'high', observedAt: T + 10 * HOUR }))
    const list = (await h.api('GET', '/api/alerts?subject=e101')).body
    assert.equal(list.length, 1)
    assert.equal(list[0].severity, 'high')
    assert.equal(list[0].startedAt, new Date(T).toISOString())
    assert.equal(list[0].raisedAt, new Date(T + 6 * HOUR).toISOString())
    assert.equal(list[0].lastSeenAt, new Date(T + 10 * HOUR).toISOString())
    const tasks = await tasksOf('e101')
    assert.equal(tasks.length, 1)
    assert.equal(tasks[0].severity, 'high')
    assert.deepEqual(tasks[0].history.map((x: { action: string }) => x.action), ['created', 'severity_raised'])
  })

  test('a worker moves only its grid\'s tasks, through the states, each change kept with actor and time', async () => {
    const [task] = await tasksOf('e101')
    assert.equal(task.workerId, 'w1')
    const other = await h.api('POST', `/api/tasks/${task.id}/ack`, {}, tokens.w2)
    assert.equal(other.status, 403)
    const early = await h.api('POST', `/api/tasks/${task.id}/review`, {}, tokens.lead)
    assert.equal(early.status, 409)
    assert.equal(early.body.error.code, 'TASK_BAD_TRANSITION')
    now += 5 * 60_000
    assert.equal((await h.api('POST', `/api/tasks/${task.id}/ack`, { note: 'on my way' }, tokens.w1)).body.state, 'acknowledged')
    assert.equal((await h.api('POST', `/api/tasks/${task.id}/ack`, {}, tokens.w1)).status, 409)
    now += 15 * 60_000
    assert.equal((await h.api('POST', `/api/tasks/${task.id}/arrive`, {}, tokens.w1)).body.state, 'on_site')
    const noOutcome = await h.api('POST', `/api/tasks/${task.id}/resolve`, {}, tokens.w1)
    assert.equal(noOutcome.status, 400)
    const awayNoDate = await h.api('POST', `/api/tasks/${task.id}/resolve`, { outcome: 'away' }, tokens.w1)
    assert.equal(awayNoDate.body.error.code, 'TASK_BAD_OUTCOME')
    const bogus = await h.api('POST', `/api/tasks/${task.id}/resolve`, { outcome: 'abducted' }, tokens.w1)
    assert.equal(bogus.body.error.code, 'REQUEST_INVALID')
    const awayUntil = new Date(now + 2 * 24 * HOUR).toISOString()
    const resolved = await h.api('POST', `/api/tasks/${task.id}/resolve`, { outcome: 'away', awayUntil, note: 'neighbour says she is at her daughter\'s' }, tokens.w1)
    assert.equal(resolved.status, 200)
    assert.equal(resolved.body.state, 'resolved')
    assert.equal(resolved.body.outcome, 'away')
    assert.equal((await h.api('POST', `/api/tasks/${task.id}/review`, {}, tokens.w1)).status, 403, 'a grid worker does not review')
    const reviewed = await h.api('POST', `/api/tasks/${task.id}/review`, { note: 'fine' }, tokens.lead)
    assert.equal(reviewed.body.state, 'reviewed')
    const hist = reviewed.body.history.map((x: { actor: string, action: string, from: string, to: string }) => [x.actor, x.action, x.from, x.to])
    assert.deepEqual(hist.slice(2), [['w1', 'ack', 'open', 'acknowledged'], ['w1', 'arrive', 'acknowledged', 'on_site'], ['w1', 'resolve', 'on_site', 'resolved'], ['lead', 'review', 'resolved', 'reviewed']])
    assert.equal(reviewed.body.history[2].at, new Date(Date.UTC(2026, 10, 23, 2, 5)).toISOString())
    const alert = (await h.api('GET', '/api/alerts?subject=e101')).body[0]
    assert.equal(alert.status, 'closed')
  })

  test('resolving as away quiets that subject\'s inactivity alerts until awayUntil', async () => {
    const subject = (await h.api('GET', '/api/subjects/e101')).body
    const until = Date.parse(subject.awayUntil)
    assert.ok(until > now)
    const alerts = h.gc.components.alerts
    assert.equal(await alerts.handleAnomaly(anomaly('e101', { startedAt: until - 10 * HOUR, observedAt: until - 2 * HOUR })), null)
    assert.equal((await tasksOf('e101')).length, 1, 'no new task while away')
    const back = await alerts.handleAnomaly(anomaly('e101', { startedAt: until + HOUR, observedAt: until + 8 * HOUR }))
    assert.ok(back, 'after awayUntil inactivity alerts again')
    assert.equal((await tasksOf('e101')).length, 2)
  })

  test('a task not acknowledged by its deadline is escalated to the grid leader by the sweep and goes to another on-duty worker', async () => {
    await h.api('POST', '/api/workers', { id: 'w1b', name: 'Sun Li', role: 'grid_worker', grids: ['G1'] })
    await h.api('PUT', '/api/workers/w1/duty', { onDuty: true })
    const created = await h.gc.components.alerts.handleAnomaly(anomaly('e102'))
    const [task] = await tasksOf('e102')
    assert.ok(created && task)
    const firstWorker = task.workerId
    assert.equal((await h.gc.components.alerts.sweep(now + 60 * 60_000)).escalated, 0, 'not yet due')
    now += 2 * HOUR + 60_000
    assert.ok((await h.gc.components.alerts.sweep()).escalated >= 1)
    const after = (await h.api('GET', `/api/tasks/${task.id}`)).body
    assert.equal(after.severity, 'medium', 'escalation moves who holds it, not what the evidence says')
    assert.equal(after.escalationLevel, 1)
    assert.equal(after.escalatedTo, 'lead')
    assert.notEqual(after.workerId, firstWorker)
    assert.equal(after.history.at(-1).action, 'escalated')
    assert.ok(Date.parse(after.deadlines.ackBy) > now, 'a new deadline')
  })

  test('reading a person\'s details is audited; outside one\'s grid it is refused', async () => {
    assert.equal((await h.api('GET', '/api/subjects/e102', undefined, tokens.w2)).status, 403)
    const ok = await h.api('GET', '/api/subjects/e102', undefined, tokens.w1)
    assert.equal(ok.body.name, 'Elder e102')
    const { rows } = await h.gc.components.db.query<{ actor: string, action: string, target: string }>('SELECT actor, action, target FROM audit_log ORDER BY id')
    assert.deepEqual(rows.at(-1), { actor: 'w1', action: 'read_subject', target: 'e102' })
  })

  test('the live feed carries new alerts and tasks to those whose grid they are in', async () => {
    const events: Array<{ event: string, data: { subject: string } }> = []
    const req = request({ host: '127.0.0.1', port: h.gc.httpPort, path: '/api/feed', headers: { authorization: `Bearer ${tokens.w2}` } })
    const opened = new Promise<void>((resolve, reject) => {
      req.on('response', (res) => {
        assert.equal(res.statusCode, 200)
        assert.match(String(res.headers['content-type']), /text\/event-stream/)
        let buf = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          buf += chunk
          for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
            const block = buf.slice(0, i); buf = buf.slice(i + 2)
            const ev = /^event: (.+)$/m.exec(block)?.[1]
            const data = /^data: (.+)$/m.exec(block)?.[1]
            if (ev && data) events.push({ event: ev, data: JSON.parse(data) })
          }
        })
        resolve()
      })
      req.on('error', reject)
    })
    req.end()
    await opened
    const taskSeen = new Promise<void>((resolve) => h.gc.events.once('task.created', () => setTimeout(resolve, 50)))
    await h.gc.components.alerts.handleAnomaly(anomaly('e201'))
    await h.gc.components.alerts.handleAnomaly(anomaly('e102', { kind: 'night_load' }))
    await taskSeen
    await new Promise((r) => setTimeout(r, 100))
    req.destroy()
    assert.deepEqual(events.map((e) => [e.event, e.data.subject]), [['alert.created', 'e201'], ['task.created', 'e201']])
  })

  test('a worker app gets its tasks over MQTT on its own topic, and only there', async () => {
    const me = (await h.api('GET', '/api/workers')).body.find((w: { id: string }) => w.id === 'w2')
    const c = await connectDevice(h.mqttUrl, { username: 'worker:w2', password: tokens.w2 })
    await assert.rejects(c.subscribeAsync('gc/v1/workers/w1/tasks', { qos: 1 }), /Subscribe error/)
    await c.subscribeAsync(me.topic, { qos: 1 })
    const got = new Promise<{ why: string, task: { subject: string, workerId: string } }>((resolve) => c.once('message', (_t, p) => resolve(JSON.parse(p.toString()))))
    await h.api('POST', '/api/subjects', { id: 'e202', kind: 'lone_elder', address: 'U202' })
    await h.gc.components.alerts.handleAnomaly(anomaly('e202'))
    const msg = await got
    assert.equal(msg.why, 'created')
    assert.equal(msg.task.subject, 'e202')
    assert.equal(msg.task.workerId, 'w2')
    await c.endAsync()
    await assert.rejects(connectDevice(h.mqttUrl, { username: 'worker:w2', password: tokens.w1 }), /Bad username or password|Not authorized/i)
  })

})
