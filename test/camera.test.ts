import { afterAll, beforeAll, test } from 'vitest'
import assert from 'node:assert/strict'
import { connectDevice, seedStreet, startGridcare, type Harness } from './helpers.ts'

let h: Harness
let tokens: Awaited<ReturnType<typeof seedStreet>>
beforeAll(async () => {
  h = await startGridcare({})
  tokens = await seedStreet(h)
  await h.api('POST', '/api/subjects', { id: 'e1', kind: 'lone_elder', address: 'U101' })
})
afterAll(async () => { await h.close() })

test('a door camera that sees a fall pages the grid worker at once; door openings and doubtful sightings do not', async () => {
  const cam = (await h.api('POST', '/api/devices', { id: 'cam1', kind: 'camera', subject: 'e1' })).body
  const c = await connectDevice(h.mqttUrl, cam)
  const ts = Date.UTC(2026, 10, 23, 1)
  const send = (body: object) => c.publishAsync(cam.topics.events, JSON.stringify(body), { qos: 1 })
  await send({ ts, event: 'door_open' })
  await send({ ts: ts + 60_000, event: 'fall', confidence: 0.2 })
  await h.gc.components.alerts.idle()
  assert.deepEqual((await h.api('GET', '/api/alerts?subject=e1')).body, [])
  await send({ ts: ts + 120_000, event: 'fall', confidence: 0.93 })
  await send({ ts: ts + 180_000, event: 'fall', confidence: 0.97 }) // the same fall, seen again
  await c.endAsync()
  await h.gc.components.alerts.idle()
  const alerts = (await h.api('GET', '/api/alerts?subject=e1')).body
  assert.equal(alerts.length, 1)
  assert.equal(alerts[0].kind, 'fall')
  assert.equal(alerts[0].severity, 'critical')
  assert.equal(alerts[0].category, 'welfare')
  assert.equal(alerts[0].raisedAt, new Date(ts + 120_000).toISOString())
  const tasks = (await h.api('GET', '/api/tasks', undefined, tokens.w1)).body
  assert.equal(tasks.filter((t: { alertId: string }) => t.alertId === alerts[0].id).length, 1, 'on the grid worker\'s phone')
})
