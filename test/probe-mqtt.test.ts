import { afterAll, beforeAll, describe, test } from 'vitest'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { connect as tcp } from 'node:net'
import mqtt from 'mqtt'
import { connectDevice, seedStreet, startGridcare, STORES, type Harness } from './helpers.ts'

type Dev = { id: string, username: string, password: string, topics: { telemetry: string, events: string, status: string } }
const T0 = Date.UTC(2026, 4, 1)

describe('the broker keeps devices to their own', () => {
  let h: Harness
  let m1: Dev
  let m2: Dev
  beforeAll(async () => {
    h = await startGridcare()
    await seedStreet(h)
    m1 = (await h.api('POST', '/api/devices', { id: 'pm1', kind: 'meter', address: 'U101' })).body
    m2 = (await h.api('POST', '/api/devices', { id: 'pm2', kind: 'meter', address: 'U102' })).body
  })
  afterAll(async () => { await h.close() })

  test('a client id belongs to its device: another device using it is refused and the owner stays connected', async () => {
    const owner = await connectDevice(h.mqttUrl, m1, { clientId: 'pm1' })
    let ownerClosed = 0
    owner.on('close', () => { ownerClosed++ })
    await assert.rejects(connectDevice(h.mqttUrl, m2, { clientId: 'pm1' }), /Identifier rejected/)
    await owner.publishAsync(m1.topics.telemetry, JSON.stringify({ ts: T0, kwh: 1 }), { qos: 1 })
    assert.equal(ownerClosed, 0, 'the owner was not cut off')
    await owner.endAsync()
    // Random client ids (MQTT.js's default) still work, and a device may reconnect with its own.
    const again = await connectDevice(h.mqttUrl, m1, { clientId: 'pm1' })
    await again.endAsync()
    const random = await connectDevice(h.mqttUrl, m2)
    await random.endAsync()
  })

  test('a device that keeps publishing where it may not is disconnected', async () => {
    const c = await connectDevice(h.mqttUrl, m2)
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()))
    let acked = 0
    for (let i = 0; i < 40; i++) c.publish(m1.topics.telemetry, JSON.stringify({ ts: T0, kwh: i }), { qos: 1 }, (err) => { if (!err) acked++ })
    await closed
    c.end(true)
    assert.equal(acked, 30, 'the first 30 a minute are acknowledged and dropped')
    assert.ok(h.gc.components.broker.refusals()['device:pm2']! > 30)
  })

  test('a CONNECT declaring 256 MB is dropped on its header, not buffered', async () => {
    const closedAfter = await new Promise<number>((resolve) => {
      const s = tcp({ host: '127.0.0.1', port: h.gc.mqttPort! })
      let sent = 0
      s.on('connect', () => {
        s.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]))
        const chunk = Buffer.alloc(64 * 1024)
        const pump = () => { while (!s.destroyed && sent < 8 * 1024 * 1024 && s.write(chunk)) sent += chunk.length }
        s.on('drain', pump)
        pump()
      })
      s.on('error', () => {})
      s.on('close', () => resolve(sent))
    })
    assert.ok(closedAfter < 8 * 1024 * 1024, `closed after ${closedAfter} bytes`)
  })

  test('a 10 MB publish does not trap its device: a dead letter with its size and sha256, acknowledged; the readings after it are stored', async () => {
    const big = Buffer.alloc(10 * 1024 * 1024, 0x20)
    big.write('{"readings":[', 0)
    const sha = createHash('sha256').update(big).digest('hex')
    const tried: string[] = []
    for (const version of [4, 5] as const) {
      // Default reconnects: before, the device was closed on the big one, resent it, and was closed again, for ever.
      const c = mqtt.connect(h.mqttUrl, { username: m1.username, password: m1.password, protocolVersion: version, clientId: `pm1-${version}` })
      await new Promise((resolve) => c.once('connect', resolve))
      let closes = 0
      c.on('close', () => { closes++ })
      const answer = new Promise<string>((resolve) => c.publish(m1.topics.telemetry, big, { qos: 1 }, (err) => resolve(err ? err.message : 'acked')))
      const ts = T0 + version * 900_000
      await c.publishAsync(m1.topics.telemetry, JSON.stringify({ ts, kwh: 10 + version }), { qos: 1 })
      tried.push(`MQTT ${version === 4 ? '3.1.1' : '5'}: ${await answer}`)
      assert.equal(closes, 0, 'the connection stays up')
      await c.endAsync()
      const { rows } = await h.gc.components.db.query<{ n: number }>('SELECT count(*)::int AS n FROM readings WHERE device_id = $1 AND ts = $2', ['pm1', new Date(ts).toISOString()])
      assert.equal(rows[0]!.n, 1, 'the reading after the big one is stored')
    }
    assert.equal(tried[0], 'MQTT 3.1.1: acked')
    assert.match(tried[1]!, /^MQTT 5: .*(0x87|135|[Nn]ot authorized|too large)/)
    const dead = await h.gc.components.db.query<{ code: string, reason: string, payload_bytes: number, payload_sha256: string, payload: string }>(
      "SELECT code, reason, payload_bytes, payload_sha256, payload FROM dead_letters WHERE device_id = 'pm1' AND code = 'INGEST_TOO_LARGE' ORDER BY id")
    assert.equal(dead.rows.length, 2, 'one dead letter each, not one per resend')
    for (const d of dead.rows) {
      assert.equal(d.payload_bytes, big.length)
      assert.equal(d.payload_sha256, sha)
      assert.match(d.reason, /10485760-byte message; at most 1048576 bytes/)
      assert.ok(d.payload.startsWith('{"readings":[') && d.payload.length <= 4096, 'its start, as an excerpt')
    }
    console.log(`probe: 10 MB publishes: ${tried.join(', ')}; dead letters ${dead.rows.length}, the reading after each stored`)
  })

  test('a 10 MB publish to another device\'s topic is refused like any other, not stored', async () => {
    const m3: Dev = (await h.api('POST', '/api/devices', { id: 'pm3', kind: 'meter', address: 'U102' })).body
    const c = await connectDevice(h.mqttUrl, m3)
    await c.publishAsync(m1.topics.telemetry, Buffer.alloc(3 * 1024 * 1024, 0x31), { qos: 1 })
    await c.endAsync()
    const { rows } = await h.gc.components.db.query<{ code: string, payload: string }>("SELECT code, payload FROM dead_letters WHERE device_id = 'pm3'")
    assert.deepEqual(rows.map((r) => [r.code, r.payload.length]), [['INGEST_TOPIC_REFUSED', 4096]], 'refused, with an excerpt of what it sent')
    assert.equal((await h.gc.components.db.query("SELECT 1 FROM readings WHERE device_id = 'pm1' AND amount > 1000")).rows.length, 0)
  })

  test('GET /metrics answers Prometheus text without a token', async () => {
    const res = await h.gc.http.inject({ method: 'GET', url: '/metrics' })
    assert.equal(res.statusCode, 200)
    assert.match(res.headers['content-type'] as string, /text\/plain/)
    for (const name of ['gridcare_readings_total', 'gridcare_dead_letters_total', 'gridcare_acks_pending', 'gridcare_batch_write_seconds_bucket', 'gridcare_detector_lag_seconds',
      'gridcare_alerts', 'gridcare_tasks_overdue', 'gridcare_nodejs_eventloop_lag_seconds', 'gridcare_mqtt_clients_connected', 'gridcare_store_up 1']) {
      assert.ok(res.body.includes(name), `${name} in /metrics`)
    }
    assert.ok(!/phone|name=/.test(res.body), 'nothing personal')
  })
})

for (const store of STORES) {
  describe(`payloads that can never be stored are dead letters, acknowledged (${store})`, () => {
    let h: Harness
    let meter: Dev
    let cam: Dev
    beforeAll(async () => {
      h = await startGridcare({}, undefined, store)
      await seedStreet(h)
      meter = (await h.api('POST', '/api/devices', { id: 'dm1', kind: 'meter', address: 'U101' })).body
      cam = (await h.api('POST', '/api/devices', { id: 'dc1', kind: 'camera', address: 'U101' })).body
    })
    afterAll(async () => { await h.close() })

    test('each is acknowledged on the same connection, kept with a reason and a bounded excerpt; the good ones after them are stored', async () => {
      const deep = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000)
      const big = { readings: Array.from({ length: 5001 }, (_, i) => ({ ts: T0 + i * 900_000, kwh: i })) }
      const allBad = { readings: Array.from({ length: 5000 }, (_, i) => ({ ts: T0 + i * 900_000, kwh: -1 })) }
      const cases: Array<[string, string | Buffer, RegExp]> = [
        [meter.topics.status, '{"ts":1e20}', /ts/],
        [meter.topics.status, '{"ts":-1e15}', /ts/],
        [meter.topics.status, `{"ts":${2 ** 53}}`, /ts/],
        [meter.topics.status, '{"ts":1e308,"v":-1e308}', /ts/],
        [meter.topics.status, '{"note":"a\\u0000b"}', /NUL/],
        [meter.topics.status, deep, /deeper/],
        [meter.topics.telemetry, '{"readings":[]}', /empty/],
        [meter.topics.telemetry, JSON.stringify(big), /5001 readings; at most 5000/],
        [meter.topics.telemetry, JSON.stringify({ ts: '9999-12-31T23:59:59Z', kwh: 1 }), /after 2100/],
        [meter.topics.telemetry, JSON.stringify({ ts: 4102444800001, kwh: 1 }), /after 2100/],
        [cam.topics.events, JSON.stringify({ ts: 1e20, event: 'fall' }), /ts/],
      ]
      const c = await connectDevice(h.mqttUrl, meter)
      const cc = await connectDevice(h.mqttUrl, cam)
      let closes = 0
      c.on('close', () => { closes++ })
      for (const [topic, payload] of cases) await (topic === cam.topics.events ? cc : c).publishAsync(topic, payload, { qos: 1 })
      await c.publishAsync(meter.topics.telemetry, JSON.stringify(allBad), { qos: 1 })
      await c.publishAsync(meter.topics.telemetry, JSON.stringify({ ts: T0, kwh: 5 }), { qos: 1 })
      assert.equal(closes, 0, 'never dropped')
      await c.endAsync()
      await cc.endAsync()
      const stored = await h.gc.components.db.query<{ n: number }>("SELECT count(*)::int AS n FROM readings WHERE device_id = 'dm1'")
      assert.equal(stored.rows[0]!.n, 1, 'the good reading after them is stored, none of the 5,001')
      const all: Array<{ id: number, code: string, reason: string, payload: string, payloadBytes: number, payloadSha256: string, topic: string }> = []
      for (let before: number | undefined; ;) {
        const page = await h.api('GET', `/api/dead-letters?limit=1000${before ? `&before=${before}` : ''}`)
        assert.equal(page.status, 200)
        all.push(...page.body)
        if (page.body.length < 1000) break
        before = page.body.at(-1).id
      }
      assert.equal(all.length, cases.length + 5000, 'every case and every bad reading of the batch, paged')
      assert.equal(new Set(all.map((d) => d.id)).size, all.length, 'pages do not overlap')
      const firsts = all.slice(5000).reverse().concat(all.filter((d) => d.topic === cam.topics.events))
      for (const [i, [, payload, reason]] of cases.slice(0, -1).entries()) {
        const d = firsts[i]!
        assert.match(d.reason, reason, `case ${i}: ${d.reason}`)
        assert.ok(d.payload.length <= 4096, 'an excerpt')
        assert.equal(d.payloadBytes, Buffer.byteLength(payload))
        assert.match(d.payloadSha256, /^[0-9a-f]{64}$/)
      }
      assert.equal(firsts.find((d) => /5001/.test(d.reason))!.code, 'INGEST_TOO_LARGE')
    })
  })
}
