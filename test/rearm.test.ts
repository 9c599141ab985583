import { afterAll, beforeAll, test } from 'vitest'
import assert from 'node:assert/strict'
import { generateReadings } from '../simulators/index.ts'
import { connectDevice, DAY, HOUR, seedStreet, startGridcare, type Harness } from './helpers.ts'

// The worker resolves an inactivity task `false_alarm` (she answered the door, or the family said she was fine), and
// the meter never moves again: the silence since the answer is judged anew, and a new task reaches the worker.

const FROM = Date.UTC(2026, 2, 1) - 8 * HOUR // local (UTC+8) midnight, 1 March 2026
const QUIET_AT = FROM + 24 * DAY + 9 * HOUR // 09:00 local on 25 March: she stops moving about
const ANSWERED = FROM + 25 * DAY // the month replayed up to here before the worker answers

let h: Harness
let tokens: Awaited<ReturnType<typeof seedStreet>>
let creds: { username: string, password: string, topics: { telemetry: string } }
const readings = generateReadings({ subjectKind: 'lone_elder', seed: 33, scenarios: [{ kind: 'incapacitated', at: QUIET_AT }] }, FROM, FROM + 30 * DAY)

async function replay (from: number, to: number) {
  const part = readings.filter((r) => r.ts > from && r.ts <= to)
  const c = await connectDevice(h.mqttUrl, creds)
  for (let i = 0; i < part.length; i += 96) await c.publishAsync(creds.topics.telemetry, JSON.stringify({ readings: part.slice(i, i + 96) }), { qos: 1 })
  await c.endAsync()
  await h.gc.components.alerts.idle()
}

beforeAll(async () => {
  h = await startGridcare({}, undefined, 'embedded')
  tokens = await seedStreet(h)
  await h.api('POST', '/api/subjects', { id: 'quiet-g1', kind: 'lone_elder', address: 'U101', name: 'Elder quiet-g1' })
  const dev = await h.api('POST', '/api/devices', { id: 'meter-quiet-g1', kind: 'meter', subject: 'quiet-g1' })
  assert.equal(dev.status, 201)
  creds = dev.body
})
afterAll(async () => { await h.close() })

test('told false, a silence that goes on reaches the worker again as a new task, from the moment of the answer', async () => {
  await replay(-Infinity, ANSWERED)
  const first = (await h.api('GET', '/api/tasks')).body
  assert.equal(first.length, 1, 'the silence is raised once')
  const resolved = await h.api('POST', `/api/tasks/${first[0].id}/resolve`, { outcome: 'false_alarm', note: 'her daughter says she is fine' }, tokens.w1)
  assert.equal(resolved.status, 200)

  await replay(ANSWERED, FROM + 30 * DAY)
  const tasks = (await h.api('GET', '/api/tasks')).body.filter((t: { subject: string }) => t.subject === 'quiet-g1')
  assert.equal(tasks.length, 2, `a second task expected, got ${JSON.stringify(tasks.map((t: { state: string }) => t.state))}`)
  const again = tasks.find((t: { id: string }) => t.id !== first[0].id)
  assert.equal(again.state, 'open')
  assert.equal(again.workerId, 'w1')
  const alerts = (await h.api('GET', '/api/alerts?subject=quiet-g1')).body
  assert.equal(alerts.length, 2)
  const second = alerts.find((a: { id: string }) => a.id !== first[0].alertId)
  assert.ok(Math.abs(Date.parse(second.startedAt) - ANSWERED) <= HOUR, `the new alert starts at the answer, not ${second.startedAt}`)
  assert.ok(second.evidence.quietSinceFalseAlarm, 'the alert says the silence has gone on since a false alarm')
})
