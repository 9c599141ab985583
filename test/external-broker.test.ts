import { afterAll, beforeAll, test } from 'vitest'
import assert from 'node:assert/strict'
import mqtt from 'mqtt'
import { seedStreet, startGridcare, type Harness } from './helpers.ts'

// With MQTT_URL gridcare is a client of an external broker: here the machine's Mosquitto.
const BROKER = process.env.TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883'
const CLIENT_ID = `gridcare-test-${process.pid}-${Date.now()}`
let h: Harness

beforeAll(async () => {
  // A group of its own: a session left in another group by an aborted run would take a share of the messages.
  h = await startGridcare({ MQTT_URL: BROKER, MQTT_CLIENT_ID: CLIENT_ID, MQTT_SHARE_GROUP: CLIENT_ID })
  await seedStreet(h)
})
afterAll(async () => {
  await h.close()
  // gridcare keeps a persistent session in the shared group; end it so later runs do not share with a ghost.
  const c = await mqtt.connectAsync(BROKER, { clientId: CLIENT_ID, clean: true, reconnectPeriod: 0 })
  await c.endAsync()
})

test('readings published to an external broker are stored, bad ones dead-lettered', async () => {
  assert.equal(h.gc.mqttPort, undefined, 'no embedded broker')
  const dev = (await h.api('POST', '/api/devices', { id: `ext-${process.pid}`, kind: 'meter', address: 'U101' })).body
  const c = await mqtt.connectAsync(BROKER, { username: dev.username, password: dev.password, reconnectPeriod: 0 })
  const T0 = Date.UTC(2026, 4, 1)
  await c.publishAsync(dev.topics.telemetry, JSON.stringify({ readings: [0, 1, 2, 3].map((i) => ({ ts: T0 + i * 900_000, kwh: 10 + i * 0.2 })) }), { qos: 1 })
  await c.publishAsync(dev.topics.telemetry, 'garbage', { qos: 1 })
  await c.endAsync()
  const deadline = Date.now() + 10_000
  let rows: Array<{ amount: number | null }> = []
  while (Date.now() < deadline) {
    rows = (await h.gc.components.db.query<{ amount: number | null }>('SELECT amount FROM readings WHERE device_id = $1 ORDER BY ts', [dev.id])).rows
    const dl = (await h.api('GET', `/api/dead-letters?device=${dev.id}`)).body
    if (rows.length === 4 && dl.length === 1) break
    await new Promise((r) => setTimeout(r, 100))
  }
  assert.equal(rows.length, 4)
  assert.deepEqual(rows.slice(1).map((r) => Math.round(r.amount! * 10) / 10), [0.2, 0.2, 0.2])
  const dl = (await h.api('GET', `/api/dead-letters?device=${dev.id}`)).body
  assert.equal(dl[0].code, 'INGEST_BAD_JSON')
})
