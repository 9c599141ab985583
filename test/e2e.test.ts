import { afterAll, beforeAll, describe, test } from 'vitest'
import assert from 'node:assert/strict'
import { generateReadings, type MeterProfile } from '../simulators/index.ts'
import { STORES, connectDevice, DAY, HOUR, seedStreet, startGridcare, type Harness } from './helpers.ts'

for (const store of STORES) describe(store, () => {

  // A month in the past, replayed in seconds: alerts must carry that month's times.
  const FROM = Date.UTC(2026, 2, 1) - 8 * HOUR // local (UTC+8) midnight, 1 March 2026
  const DAYS = 30
  const QUIET_AT = FROM + 24 * DAY + 9 * HOUR // 09:00 local on 25 March: she stops moving about

  let h: Harness
  let tokens: Awaited<ReturnType<typeof seedStreet>>

  async function replay (deviceId: string, profile: MeterProfile, creds: { username: string, password: string, topics: { telemetry: string } }) {
    const readings = generateReadings(profile, FROM, FROM + DAYS * DAY)
    const c = await connectDevice(h.mqttUrl, creds)
    for (let i = 0; i < readings.length; i += 96) {
      // concentrators upload a day of 15-minute points at once
      await c.publishAsync(creds.topics.telemetry, JSON.stringify({ readings: readings.slice(i, i + 96) }), { qos: 1 })
    }
    await c.endAsync()
    void deviceId
  }

  beforeAll(async () => {
    h = await startGridcare({}, undefined, store)
    tokens = await seedStreet(h)
    const homes = [
      { subject: 'normal-g1', unit: 'U102', seed: 1, scenarios: [] },
      { subject: 'normal-g2', unit: 'U201', seed: 2, scenarios: [] },
      { subject: 'quiet-g1', unit: 'U101', seed: 33, scenarios: [{ kind: 'incapacitated' as const, at: QUIET_AT }] },
    ]
    for (const home of homes) {
      await h.api('POST', '/api/subjects', { id: home.subject, kind: 'lone_elder', address: home.unit, name: `Elder ${home.subject}` })
      const dev = await h.api('POST', '/api/devices', { id: `meter-${home.subject}`, kind: 'meter', subject: home.subject })
      assert.equal(dev.status, 201)
      await replay(dev.body.id, { subjectKind: 'lone_elder', seed: home.seed, scenarios: home.scenarios }, dev.body)
    }
    await h.gc.components.alerts.idle()
  })
  afterAll(async () => { await h.close() })

  test('a month replayed: exactly one task, for the quiet elder, with her grid\'s worker', async () => {
    const all = await h.api('GET', '/api/tasks')
    assert.equal(all.status, 200)
    assert.equal(all.body.length, 1, `one task expected, got ${JSON.stringify(all.body.map((t: { subject: string, kind: string }) => [t.subject, t.kind]))}`)
    const task = all.body[0]
    assert.equal(task.subject, 'quiet-g1')
    assert.equal(task.workerId, 'w1')
    assert.equal(task.grid, 'G1')
    assert.equal(task.state, 'open')
    assert.equal(task.history[0].action, 'created')

    const mine = await h.api('GET', '/api/tasks', undefined, tokens.w1)
    assert.deepEqual(mine.body.map((t: { id: string }) => t.id), [task.id])
    const theirs = await h.api('GET', '/api/tasks', undefined, tokens.w2)
    assert.deepEqual(theirs.body, [], 'the other grid\'s worker sees nothing')
    const forbidden = await h.api('GET', `/api/tasks/${task.id}`, undefined, tokens.w2)
    assert.equal(forbidden.status, 403)
    const leader = await h.api('GET', '/api/tasks', undefined, tokens.lead)
    assert.equal(leader.body.length, 1, 'the community leader sees tasks under the community')
  })

  test('the alert carries event-time startedAt and raisedAt from the replayed month', async () => {
    const alerts = await h.api('GET', '/api/alerts?subject=quiet-g1')
    assert.equal(alerts.body.length, 1)
    const a = alerts.body[0]
    assert.equal(a.kind, 'inactivity')
    const started = Date.parse(a.startedAt)
    const raised = Date.parse(a.raisedAt)
    assert.ok(Math.abs(started - QUIET_AT) <= 2 * HOUR, `startedAt ${a.startedAt} should be near ${new Date(QUIET_AT).toISOString()}`)
    assert.ok(raised > started && raised - QUIET_AT <= 12 * HOUR, `raisedAt ${a.raisedAt} should follow within the same day`)
    assert.ok(Date.now() - raised > 30 * DAY, 'event time, not the server clock')
    assert.ok(a.evidence && typeof a.evidence === 'object')
  })

})
