import { afterAll, beforeAll, test } from 'vitest'
import assert from 'node:assert/strict'
import { createBroker, type Broker, type DeviceMessage } from '../broker/index.ts'
import { connectDevice, seedStreet, silent, startGridcare, type Harness } from './helpers.ts'

/**
 * MQTT asks a broker to send PUBACKs in the order the publishes came (3.1.1 and 5.0, section 4.6).
 * gridcare acknowledges a reading once stored, and the store may answer a device's messages out of
 * order: its first waits for the device to be looked up, the next, cached, may be stored in the same
 * batch and answered first. Here the store answers the second publish at once and the first later.
 */
let h: Harness
let broker: Broker
const held: Array<(err: Error | null) => void> = []
const stored: string[] = []

beforeAll(async () => {
  h = await startGridcare()
  await seedStreet(h)
  const { registry } = h.gc.components
  broker = createBroker({
    config: { mqttPort: 0, mqttUrl: undefined, mqttClientId: undefined, mqttShareGroup: 'gridcare' }, logger: silent, verify: registry.verifyMqtt, host: '127.0.0.1',
    sink: () => Promise.resolve(),
    // The first message of each pair waits; the second is stored at once, then the first.
    sinkWith: (msg: DeviceMessage, done) => {
      const n = JSON.parse(msg.payload.toString()).n as number
      if (n % 2 === 0) { held.push(done); return }
      stored.push(`${n}`); done(null)
      const first = held.shift()
      setTimeout(() => { stored.push(`${n - 1}`); first?.(null) }, 50)
    },
  })
  await broker.start()
})
afterAll(async () => {
  await broker?.stop()
  await h?.close()
})

for (const protocolVersion of [4, 5] as const) {
  test(`PUBACKs go out in the order the publishes came, though the store answered them out of order (MQTT ${protocolVersion === 4 ? '3.1.1' : '5'})`, async () => {
    const device = (await h.api('POST', '/api/devices', { id: `po${protocolVersion}`, kind: 'meter', address: 'U101' })).body
    const client = await connectDevice(`mqtt://127.0.0.1:${broker.port}`, device, { protocolVersion })
    const sent: number[] = []
    const acked: number[] = []
    client.on('packetsend', (p) => { if (p.cmd === 'publish') sent.push(p.messageId!) })
    client.on('packetreceive', (p) => { if (p.cmd === 'puback') acked.push(p.messageId!) })
    stored.length = 0
    await Promise.all([0, 1, 2, 3].map((n) => client.publishAsync(device.topics.telemetry, JSON.stringify({ n }), { qos: 1 })))
    await client.endAsync()
    assert.deepEqual(stored.slice(0, 2), ['1', '3'], 'the store answered the second of each pair first')
    assert.equal(sent.length, 4)
    assert.deepEqual(acked, sent, 'each PUBACK in publish order')
  })

  test(`a publish refused (not its topic) is answered in its turn too, after one still being stored (MQTT ${protocolVersion === 4 ? '3.1.1' : '5'})`, async () => {
    const device = (await h.api('POST', '/api/devices', { id: `pr${protocolVersion}`, kind: 'meter', address: 'U101' })).body
    const client = await connectDevice(`mqtt://127.0.0.1:${broker.port}`, device, { protocolVersion })
    const sent: number[] = []
    const acked: Array<[number, number | undefined]> = []
    client.on('packetsend', (p) => { if (p.cmd === 'publish') sent.push(p.messageId!) })
    client.on('packetreceive', (p) => { if (p.cmd === 'puback') acked.push([p.messageId!, p.reasonCode]) })
    stored.length = 0
    await Promise.all([
      client.publishAsync(device.topics.telemetry, JSON.stringify({ n: 0 }), { qos: 1 }), // held by the store until n 1 comes
      client.publishAsync('gc/v1/S1/someone-else/telemetry', '{}', { qos: 1 }).catch(() => null), // refused: MQTT 5 gives reason 0x87
      client.publishAsync(device.topics.telemetry, JSON.stringify({ n: 1 }), { qos: 1 }),
    ])
    await client.endAsync()
    assert.equal(sent.length, 3)
    assert.deepEqual(acked.map(([id]) => id), sent, 'each PUBACK in publish order')
    if (protocolVersion === 5) assert.equal(acked[1]![1], 0x87, 'the refused one: not authorized')
  })
}
