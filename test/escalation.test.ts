import { afterAll, beforeAll, describe, test } from 'vitest'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TaskEscalated, TaskReminder } from '../alerts/events.ts'
import type { Anomaly } from '../vocab/index.ts'
import { STORES, connectDevice, freshDatabase, HOUR, seedStreet, startGridcare, type Harness } from './helpers.ts'

const MIN = 60_000
const T = Date.UTC(2026, 10, 22, 20)
const fall = (subjectId: string, over: Partial<Anomaly> = {}): Anomaly => ({
  subjectId, detector: 'camera', kind: 'fall', phase: 'raise', severity: 'critical', confidence: 'high',
  startedAt: T, observedAt: T + HOUR, evidence: {}, ...over,
})

/** A leader above the grid worker: community and street command centre. */
async function seedTree (h: Harness) {
  const tokens = await seedStreet(h)
  const com = await h.api('POST', '/api/workers', { id: 'com', name: 'Qian Yu', role: 'community', grids: ['C1'] })
  const cc = await h.api('POST', '/api/workers', { id: 'cc', name: 'Street centre', role: 'command_centre', grids: ['S1'] })
  await h.api('POST', '/api/subjects', { id: 'x1', kind: 'lone_elder', address: 'U201' })
  return { ...tokens, com: com.body.token as string, cc: cc.body.token as string }
}

for (const store of STORES) describe(store, () => {
  let h: Harness
  let tokens: Awaited<ReturnType<typeof seedTree>>
  let now = Date.UTC(2026, 10, 23, 2)
  const clock = { now: () => now }
  const escalated: TaskEscalated[] = []
  const reminders: TaskReminder[] = []

  beforeAll(async () => {
    h = await startGridcare({}, clock, store)
    tokens = await seedTree(h)
    h.gc.events.on('task.escalated', (e) => escalated.push(e))
    h.gc.events.on('task.reminder', (e) => reminders.push(e))
  })
  afterAll(async () => { await h.close() })

  test('an unacknowledged critical task climbs worker → grid leader → community → street command centre, reminded once before each deadline', async () => {
    const start = now
    const a = h.gc.components.alerts
    // The worker's app hears each step on its own topic, saying why.
    const app = await connectDevice(h.mqttUrl, { username: 'worker:w2', password: tokens.w2 })
    const pushes: string[] = []
    app.on('message', (_t, p) => pushes.push(JSON.parse(p.toString()).why))
    await app.subscribeAsync((await h.api('GET', '/api/workers/w2')).body.topic, { qos: 1 })
    await a.handleAnomaly(fall('x1'))
    const [task] = (await h.api('GET', '/api/tasks?grid=G2')).body
    assert.equal(task.workerId, 'w2')
    assert.equal(task.stage, 'dispatched')
    assert.equal(task.stageName, '派遣')
    assert.equal(task.deadlines.ackBy, new Date(start + 10 * MIN).toISOString())
    assert.equal(task.deadlines.arriveBy, new Date(start + 30 * MIN).toISOString())
    assert.equal(task.deadlines.resolveBy, new Date(start + 240 * MIN).toISOString())

    assert.deepEqual(await a.sweep(start + 6 * MIN), { escalated: 0, reminded: 0, checkinsExpired: 0 }, 'not yet in the 3-minute reminder window')
    assert.equal((await a.sweep(start + 8 * MIN)).reminded, 1)
    assert.equal((await a.sweep(start + 9 * MIN)).reminded, 0, 'once')
    assert.equal(reminders[0]!.deadline, 'ack')

    const seen: Array<[number, string | null]> = []
    for (const [i, at] of [11, 22, 33].entries()) {
      now = start + at * MIN
      assert.equal((await a.sweep(now)).escalated, 1, `step ${i + 1}`)
      const t = (await h.api('GET', `/api/tasks/${task.id}`)).body
      seen.push([t.escalationLevel, t.escalatedTo])
      assert.equal(t.workerId, 'w2', 'nobody else on duty: the worker keeps it, the holders above look on')
      assert.equal(t.deadlines.ackBy, new Date(now + 10 * MIN).toISOString(), 'the new holder gets the stage\'s time again')
    }
    assert.deepEqual(seen, [[1, 'lead'], [2, 'com'], [3, 'cc']])
    now = start + 60 * MIN
    assert.equal((await a.sweep(now)).escalated, 0, 'the top keeps it')
    assert.deepEqual(escalated.map((e) => [e.level, e.holder, e.missed]), [[1, 'lead', 'ack'], [2, 'com', 'ack'], [3, 'cc', 'ack']])
    const t = (await h.api('GET', `/api/tasks/${task.id}`, undefined, tokens.cc)).body
    assert.deepEqual(t.history.filter((x: { action: string }) => x.action === 'escalated').map((x: { data: { levelName: string } }) => x.data.levelName), ['grid_leader', 'community', 'command_centre'])

    const overdue = (await h.api('GET', '/api/tasks/overdue?scope=S1', undefined, tokens.cc)).body
    assert.deepEqual(overdue.byLevel.map((l: { count: number }) => l.count), [0, 0, 0, 1])
    assert.equal(overdue.tasks[0].id, task.id)
    assert.equal((await h.api('GET', '/api/tasks/overdue?level=3', undefined, tokens.w1)).body.tasks.length, 0, 'not in w1\'s grid')
    assert.equal((await h.api('GET', '/api/tasks/overdue?scope=S1', undefined, tokens.w1)).status, 403)

    now = start + 70 * MIN
    const acked = (await h.api('POST', `/api/tasks/${task.id}/ack`, {}, tokens.w2)).body
    assert.equal(acked.stage, 'handling')
    for (let i = 0; i < 100 && pushes.length < 6; i++) await new Promise((r) => setTimeout(r, 50))
    await app.endAsync()
    assert.deepEqual(pushes, ['created', 'reminder', 'escalated', 'escalated', 'escalated', 'updated'])
    assert.equal((await h.api('GET', '/api/tasks/overdue?scope=S1', undefined, tokens.cc)).body.tasks.length, 1, 'the arrive deadline passed too')
  })

  test('deadlines are read from the store and changed at run time by a command centre', async () => {
    const list = (await h.api('GET', '/api/policies/deadlines')).body
    assert.deepEqual(list.find((p: { severity: string }) => p.severity === 'medium'), { severity: 'medium', category: '*', ackMin: 120, arriveMin: 480, resolveMin: 1440, reviewMin: 4320, remindMin: 30, updatedBy: 'system', updatedAt: list[0].updatedAt })
    const row = { severity: 'medium', category: 'safety', ackMin: 15, arriveMin: 45, resolveMin: 120, reviewMin: 600, remindMin: 5 }
    assert.equal((await h.api('PUT', '/api/policies/deadlines', { set: [row] }, tokens.lead)).status, 403)
    assert.equal((await h.api('PUT', '/api/policies/deadlines', { set: [{ ...row, ackMin: 500 }] }, tokens.cc)).body.error.code, 'DEADLINE_POLICY_INVALID')
    assert.equal((await h.api('PUT', '/api/policies/deadlines', { set: [row] }, tokens.cc)).status, 200)
    const start = now
    await h.api('POST', '/api/subjects', { id: 'x2', kind: 'lone_elder', address: 'U202' })
    await h.gc.components.alerts.handleAnomaly(fall('x2', { kind: 'night_load', detector: 'night_load', severity: 'medium' }))
    await h.gc.components.alerts.handleAnomaly(fall('x2', { kind: 'inactivity', detector: 'inactivity', severity: 'medium' }))
    const tasks = (await h.api('GET', '/api/tasks')).body.filter((t: { subject: string }) => t.subject === 'x2')
    const by = (k: string) => tasks.find((t: { kind: string }) => t.kind === k).deadlines.ackBy
    assert.equal(by('night_load'), new Date(start + 15 * MIN).toISOString(), 'the safety row')
    assert.equal(by('inactivity'), new Date(start + 120 * MIN).toISOString(), 'the default row')
    assert.equal((await h.api('PUT', '/api/policies/deadlines', { remove: [{ severity: 'medium', category: '*' }] }, tokens.cc)).body.error.code, 'DEADLINE_POLICY_INVALID')
  })
})

for (const store of STORES) test(`${store}: a restart in the middle of an escalation chain resumes it`, async () => {
  let now = Date.UTC(2026, 10, 23, 2)
  const clock = { now: () => now }
  const dir = mkdtempSync(join(tmpdir(), 'gridcare-restart-'))
  const server = store === 'postgres' ? await freshDatabase() : undefined
  const env: Record<string, string> = server ? { DATABASE_URL: server.url } : { DATA_DIR: dir }
  let h = await startGridcare(env, clock)
  try {
    await seedTree(h)
    await h.gc.components.alerts.handleAnomaly(fall('x1'))
    const start = now
    now = start + 11 * MIN
    await h.gc.components.alerts.sweep(now)
    const [task] = (await h.api('GET', '/api/tasks')).body
    assert.equal(task.escalationLevel, 1)
    await h.gc.stop()
    h = await startGridcare(env, clock)
    now = start + 22 * MIN
    assert.equal((await h.gc.components.alerts.sweep(now)).escalated, 1)
    const after = (await h.api('GET', `/api/tasks/${task.id}`)).body
    assert.deepEqual([after.escalationLevel, after.escalatedTo], [2, 'com'])
  } finally {
    await h.close()
    rmSync(dir, { recursive: true, force: true })
    await server?.drop()
  }
}, 300_000) // two starts of a whole gridcare
