import { afterAll, beforeAll, describe, test } from 'vitest'
import assert from 'node:assert/strict'
import { connect as tcp } from 'node:net'
import { STORES, connectDevice, HOUR, seedStreet, startGridcare, type Harness } from './helpers.ts'

for (const store of STORES) describe(store, () => {

  let h: Harness
  let meter: { id: string, username: string, password: string, topics: { telemetry: string, events: string, status: string }, commandTopic: string }
  let other: typeof meter

  beforeAll(async () => {
    h = await startGridcare({}, undefined, store)
    await seedStreet(h)
    await h.api('POST', '/api/subjects', { id: 'elder1', kind: 'lone_elder', address: 'U101', name: 'Chen Ying' })
    meter = (await h.api('POST', '/api/devices', { id: 'm1', kind: 'meter', subject: 'elder1' })).body
    other = (await h.api('POST', '/api/devices', { id: 'm2', kind: 'meter', address: 'U102' })).body
  })
  afterAll(async () => { await h.close() })

  const T0 = Date.UTC(2026, 2, 1)
  const readings = async (id: string) => (await h.gc.components.db.query<{ ts: Date, register: number, amount: number | null, reset: boolean }>(
    'SELECT ts, register, amount, reset FROM readings WHERE device_id = $1 ORDER BY ts', [id])).rows

  test('registration answers credentials and topics rooted at the street; the password is stored hashed', async () => {
    assert.equal(meter.username, 'device:m1')
    assert.equal(meter.topics.telemetry, 'gc/v1/S1/m1/telemetry')
    assert.ok(meter.password.length >= 40)
    const { rows } = await h.gc.components.db.query<{ password_hash: string }>('SELECT password_hash FROM devices WHERE id = $1', ['m1'])
    assert.notEqual(rows[0]!.password_hash, meter.password)
    const dup = await h.api('POST', '/api/devices', { id: 'm1', kind: 'meter' })
    assert.equal(dup.status, 409)
  })

  test('a device connects only with its own credentials', async () => {
    await assert.rejects(connectDevice(h.mqttUrl, { username: meter.username, password: 'wrong' }), /Bad username or password|Not authorized|refused/i)
    await assert.rejects(connectDevice(h.mqttUrl, { username: 'device:nobody', password: meter.password }), /Bad username or password|Not authorized|refused/i)
    const c = await connectDevice(h.mqttUrl, meter)
    await c.endAsync()
  })

  test('a QoS 1 reading is acknowledged once stored; single and batched, MQTT 3.1.1 and 5', async () => {
    const c = await connectDevice(h.mqttUrl, meter)
    await c.publishAsync(meter.topics.telemetry, JSON.stringify({ ts: new Date(T0).toISOString(), kwh: 100, w: 50 }), { qos: 1 })
    assert.equal((await readings('m1')).length, 1, 'stored before the PUBACK reached the device')
    const batch = { readings: [1, 2, 3, 4].map((i) => ({ ts: T0 + i * 15 * 60_000, kwh: 100 + i * 0.1 })) }
    await c.publishAsync(meter.topics.telemetry, JSON.stringify(batch), { qos: 1 })
    await c.endAsync()
    const v5 = await connectDevice(h.mqttUrl, meter, { protocolVersion: 5 })
    await v5.publishAsync(meter.topics.telemetry, JSON.stringify({ ts: T0 + 5 * 15 * 60_000, kwh: 100.5 }), { qos: 1 })
    await v5.endAsync()
    const rows = await readings('m1')
    assert.equal(rows.length, 6)
    assert.equal(rows[0]!.amount, null, 'the first reading has no interval')
    for (const r of rows.slice(1)) assert.ok(Math.abs(r.amount! - 0.1) < 1e-9, `interval energy 0.1 kWh, got ${r.amount}`)
  })

  test('PUBACKs of publishes sent in one write: one each, in order, as aedes wrote them (MQTT 3.1.1 and 5)', async () => {
    const dev = (await h.api('POST', '/api/devices', { id: 'm-raw', kind: 'meter', address: 'U201' })).body
    const str = (x: string) => { const b = Buffer.from(x); return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]) }
    const packet = (type: number, body: Buffer) => Buffer.concat([Buffer.from([type, body.length]), body]) // bodies here are under 128 bytes
    const ids = [7, 300, 2, 65535]
    for (const version of [4, 5]) {
      const props = version === 5 ? Buffer.from([0]) : Buffer.alloc(0)
      const connect = packet(0x10, Buffer.concat([str('MQTT'), Buffer.from([version, 0xc2, 0, 60]), props, str(`raw-${version}`), str(dev.username), str(dev.password)]))
      const publishes = ids.map((id, i) => packet(0x32, Buffer.concat([str(dev.topics.telemetry), Buffer.from([id >> 8, id & 0xff]), props,
        Buffer.from(JSON.stringify({ ts: T0 + (version * 10 + i) * 15 * 60_000, kwh: 10 + i }))])))
      const expected = Buffer.concat(ids.map((id) => version === 5 ? Buffer.from([0x40, 4, id >> 8, id & 0xff, 0, 0]) : Buffer.from([0x40, 2, id >> 8, id & 0xff])))
      const got = await new Promise<Buffer>((resolve, reject) => {
        const s = tcp({ host: '127.0.0.1', port: h.gc.mqttPort! })
        let buf = Buffer.alloc(0)
        let connected = false
        s.on('error', reject)
        s.on('connect', () => s.write(connect))
        s.on('data', (d) => {
          buf = Buffer.concat([buf, d])
          if (!connected && buf.length >= (version === 5 ? 5 : 4)) {
            assert.equal(buf[0], 0x20, 'CONNACK')
            assert.equal(buf[3], 0, 'connection accepted')
            buf = buf.subarray(2 + buf[1]!)
            connected = true
            s.write(Buffer.concat(publishes)) // all four in one write: they are read, stored and acknowledged together
          }
          if (connected && buf.length >= expected.length) { s.end(); resolve(buf) }
        })
      })
      assert.deepEqual(got, expected, `MQTT ${version === 5 ? '5' : '3.1.1'}`)
    }
    assert.equal((await readings('m-raw')).length, 8, 'every acknowledged reading stored')
  })

  test('duplicates, out-of-order and late readings, and a register reset', async () => {
    const c = await connectDevice(h.mqttUrl, meter)
    const t = (q: number) => T0 + HOUR * 10 + q * 15 * 60_000
    const send = (ts: number, kwh: number) => c.publishAsync(meter.topics.telemetry, JSON.stringify({ ts, kwh }), { qos: 1 })
    await send(t(0), 200)
    await send(t(2), 201) // t(1) is late
    await send(t(2), 201) // duplicate
    await send(t(1), 200.4) // late: splits the interval t0..t2
    await c.publishAsync(meter.topics.telemetry, JSON.stringify({ readings: [{ ts: t(4), kwh: 202 }, { ts: t(3), kwh: 201.5 }] }), { qos: 1 }) // out of order in a batch
    await send(t(5), 0.2) // meter replaced: register restarts from zero
    await c.endAsync()
    const rows = (await readings('m1')).filter((r) => r.ts.getTime() >= t(0))
    const amounts = rows.map((r) => r.amount === null ? null : Math.round(r.amount * 1000) / 1000)
    assert.deepEqual(rows.map((r) => r.ts.getTime()), [t(0), t(1), t(2), t(3), t(4), t(5)])
    assert.deepEqual(amounts.slice(1), [0.4, 0.6, 0.5, 0.5, 0.2])
    assert.equal(rows[5]!.reset, true)
  })

  test('a register jump more than a home can draw is stored without an amount, also when a late reading recomputes it', async () => {
    const c = await connectDevice(h.mqttUrl, meter)
    const t = (q: number) => T0 + HOUR * 15 + q * 15 * 60_000
    const send = (ts: number, kwh: number) => c.publishAsync(meter.topics.telemetry, JSON.stringify({ ts, kwh }), { qos: 1 })
    await send(t(0), 300)
    await send(t(2), 900.5) // +600 kWh in half an hour: corrupt
    await send(t(3), 900.7)
    await send(t(1), 300.2) // late, between the two: the jump lands on t(2) again
    await c.endAsync()
    const rows = (await readings('m1')).filter((r) => r.ts.getTime() >= t(0) && r.ts.getTime() <= t(3))
    const amounts = rows.map((r) => r.amount === null ? null : Math.round(r.amount * 1000) / 1000)
    assert.deepEqual(amounts.slice(1), [0.2, null, 0.2])
  })

  test('a device publishes only to its own topics and subscribes only to its command topic', async () => {
    const c = await connectDevice(h.mqttUrl, meter)
    await assert.rejects(c.subscribeAsync(other.commandTopic, { qos: 1 }), /Subscribe error/, 'another device\'s commands are refused')
    await assert.rejects(c.subscribeAsync('gc/v1/#', { qos: 1 }), /Subscribe error/, 'wildcards over others are refused')
    const own = await c.subscribeAsync(meter.commandTopic, { qos: 1 })
    assert.equal(own[0]!.qos, 1)
    // A stray publish is acknowledged and dropped (as Mosquitto does): the device is not
    // trapped resending it, and its own readings still arrive on the same connection.
    let closes = 0
    c.on('close', () => { closes++ })
    await c.publishAsync(other.topics.telemetry, JSON.stringify({ ts: T0, kwh: 1 }), { qos: 1 })
    await c.publishAsync(meter.topics.telemetry, JSON.stringify({ ts: T0 - HOUR, kwh: 0.5 }), { qos: 1 })
    assert.equal(closes, 0, 'the connection stays up')
    await c.endAsync()
    // MQTT 5 says so: reason code 0x87 Not authorized.
    const c5 = await connectDevice(h.mqttUrl, meter, { protocolVersion: 5 })
    const err = await c5.publishAsync(other.topics.telemetry, JSON.stringify({ ts: T0, kwh: 1 }), { qos: 1 }).then(() => null, (e: Error & { code?: number }) => e)
    assert.equal(err?.code, 0x87, 'MQTT 5 PUBACK with reason code 0x87')
    await c5.endAsync()
    assert.equal((await readings('m2')).length, 0, 'nothing stored for the other meter')
    assert.ok((await readings('m1')).some((r) => r.ts.getTime() === T0 - HOUR), 'the device\'s own reading after the stray one was stored')
    // The refusal is recorded beside its ack, not before it: wait for it (bounded), as a reader of the list would.
    const refusedRows = async () => (await h.api('GET', '/api/dead-letters?device=m1')).body.filter((d: { code: string }) => d.code === 'INGEST_TOPIC_REFUSED').length
    for (let i = 0; i < 100 && await refusedRows() < 2; i++) await new Promise((r) => setTimeout(r, 50))
    assert.equal(await refusedRows(), 2, 'each refusal is kept with the device, visible')
    assert.equal(h.gc.components.broker.refusals()['device:m1'], 2, 'and counted')
  })

  test('malformed payloads become dead letters with a reason and the stream goes on', async () => {
    const c = await connectDevice(h.mqttUrl, meter)
    const t = T0 + HOUR * 20
    await c.publishAsync(meter.topics.telemetry, 'not json {', { qos: 1 })
    await c.publishAsync(meter.topics.telemetry, JSON.stringify({ ts: 'yesterday', kwh: 5 }), { qos: 1 })
    await c.publishAsync(meter.topics.telemetry, JSON.stringify({ ts: t, kwh: -3 }), { qos: 1 })
    await c.publishAsync(meter.topics.telemetry, JSON.stringify({ ts: t, m3: 3 }), { qos: 1 })
    await c.publishAsync(meter.topics.telemetry, Buffer.from([0, 159, 146, 150]), { qos: 1 })
    await c.publishAsync(meter.topics.telemetry, JSON.stringify({ readings: [{ ts: t, kwh: 300 }, { ts: 'bad', kwh: 1 }, { ts: t + 900_000, kwh: 300.2 }] }), { qos: 1 })
    await c.publishAsync(meter.topics.events, JSON.stringify({ ts: t, event: 'door_open' }), { qos: 1 })
    await c.publishAsync(meter.topics.status, '{"status":"\\ud800"}', { qos: 1 })
    await c.endAsync()
    const dl = await h.api('GET', '/api/dead-letters?device=m1')
    assert.equal(dl.status, 200)
    const reasons = (dl.body as Array<{ code: string, reason: string, payload: string }>).filter((d) => d.code !== 'INGEST_TOPIC_REFUSED').reverse()
    assert.deepEqual(reasons.map((d) => d.code), ['INGEST_BAD_JSON', 'INGEST_INVALID_PAYLOAD', 'INGEST_INVALID_PAYLOAD', 'INGEST_INVALID_PAYLOAD', 'INGEST_BAD_JSON', 'INGEST_INVALID_PAYLOAD', 'INGEST_INVALID_PAYLOAD', 'INGEST_INVALID_PAYLOAD'])
    assert.match(reasons[1]!.reason, /^ts: must be an ISO 8601 time with its offset .* or epoch milliseconds$/, 'says what a time looks like')
    assert.match(reasons[2]!.reason, /kwh/)
    assert.equal(reasons[3]!.reason, 'the reading is in "m3", but a meter reports "kwh"', 'says what the reading had and what the device reports')
    assert.match(reasons[4]!.payload, /^base64:/)
    assert.match(reasons[5]!.reason, /readings\[1\]/)
    assert.match(reasons[6]!.reason, /a meter does not send events/)
    assert.match(reasons[7]!.reason, /lone UTF-16 surrogate/, 'the store would refuse it: said up front')
    const kept = (await readings('m1')).filter((r) => r.ts.getTime() >= t)
    assert.equal(kept.length, 2, 'the good readings of a partly bad batch are stored')
  })

})
