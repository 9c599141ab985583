/**
 * Hostile MQTT clients (issue 11): garbage and truncated packets, thousands of idle or
 * unauthenticated connections, subscriptions to `#` and `$SYS/#`. The server stays up, a
 * well-behaved meter keeps its acks and loses nothing, and each figure is printed
 * (tried, failed, lost). Longer (as in `npm run probe`): PROBE_SCALE=10 PROBE_IDLE=5000 npx vitest run test/probe-hostile.test.ts
 */
import { afterAll, beforeAll, describe, test } from 'vitest'
import assert from 'node:assert/strict'
import { connect as tcp, type Socket } from 'node:net'
import { connectDevice, seedStreet, startGridcare, type Harness } from './helpers.ts'
import { mulberry32 as rng } from '../simulators/random.ts'

/** At most 3: both ends of every connection are in this process, and its file limit may be 20,000. */
const SCALE = Math.min(3, Number(process.env.PROBE_SCALE ?? 1))
type Dev = { id: string, username: string, password: string, topics: { telemetry: string, events: string, status: string }, commandTopic: string }
const T0 = Date.UTC(2026, 6, 1)
const Q = 15 * 60_000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))


/** A CONNECT packet, MQTT 3.1.1, clean session, keep-alive 60 s. */
function connectPacket (clientId: string, username?: string, password?: string): Buffer {
  const str = (s: string) => { const b = Buffer.from(s); return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]) }
  const flags = 0x02 | (username !== undefined ? 0x80 : 0) | (password !== undefined ? 0x40 : 0)
  const body = Buffer.concat([str('MQTT'), Buffer.from([4, flags, 0, 60]), str(clientId), ...(username !== undefined ? [str(username)] : []), ...(password !== undefined ? [str(password)] : [])])
  const len: number[] = []
  for (let x = body.length; ; x >>= 7) { len.push((x & 0x7f) | (x > 0x7f ? 0x80 : 0)); if (x <= 0x7f) break }
  return Buffer.concat([Buffer.from([0x10, ...len]), body])
}

describe('hostile connections beside a well-behaved meter', () => {
  let h: Harness
  let good: Dev
  let other: Dev
  const sockets: Socket[] = []
  beforeAll(async () => {
    h = await startGridcare({}, undefined, 'postgres')
    await seedStreet(h)
    good = (await h.api('POST', '/api/devices', { id: 'hg1', kind: 'meter', address: 'U101' })).body
    other = (await h.api('POST', '/api/devices', { id: 'hg2', kind: 'meter', address: 'U102' })).body
  })
  afterAll(async () => {
    sockets.forEach((s) => s.destroy())
    await h?.close()
  })

  /** Opens a raw TCP connection and writes `bytes` (if any); `closed` resolves when the server ends it. */
  const raw = (bytes?: Buffer) => new Promise<{ socket: Socket, closed: Promise<void> }>((resolve) => {
    const socket = tcp({ host: '127.0.0.1', port: h.gc.mqttPort! })
    sockets.push(socket)
    const closed = new Promise<void>((r) => socket.once('close', () => r()))
    socket.on('error', () => {})
    socket.resume() // read what the server answers, so its FIN is seen
    socket.once('connect', () => { if (bytes) socket.write(bytes); resolve({ socket, closed }) })
  })

  test('the CONNECT this file builds is a good one: the broker answers CONNACK accepted', async () => {
    const { socket } = await raw(connectPacket('hg2-check', other.username, other.password))
    const connack = await new Promise<Buffer>((resolve) => socket.once('data', resolve))
    assert.deepEqual([...connack.subarray(0, 4)], [0x20, 0x02, 0x00, 0x00])
    socket.destroy()
  })

  test('garbage, truncated packets and thousands of idle or unauthenticated connections: the server stays up and the meter keeps every ack', { timeout: 300_000 }, async () => {
    const r = rng(11)
    const meter = await connectDevice(h.mqttUrl, good)
    let meterDrops = 0
    meter.on('close', () => { meterDrops++ })
    const acked: number[] = []
    let n = 0
    const publishOne = async () => { const ts = T0 + n++ * Q; await meter.publishAsync(good.topics.telemetry, JSON.stringify({ ts, kwh: n * 0.1 }), { qos: 1 }); acked.push(ts) }

    const IDLE = Number(process.env.PROBE_IDLE ?? 2000)
    const BAD_AUTH = 300 * SCALE
    const GARBAGE = 300 * SCALE
    const TRUNCATED = 300 * SCALE
    const tried = { idle: 0, badAuth: 0, garbage: 0, truncated: 0, afterConnect: 0 }
    const idle: Array<Promise<void>> = []

    // Idle: TCP connections that never send a CONNECT (the broker drops them after its connect timeout).
    for (let i = 0; i < IDLE; i += 100) {
      idle.push(...(await Promise.all(Array.from({ length: Math.min(100, IDLE - i) }, () => raw()))).map((x) => x.closed))
      tried.idle += Math.min(100, IDLE - i)
      await publishOne()
    }
    // Unauthenticated: CONNECTs with a wrong password, an unknown user, none at all.
    const badAuth = await Promise.all(Array.from({ length: BAD_AUTH }, (_, i) => raw(
      i % 3 === 0 ? connectPacket(`x${i}`, good.username, 'wrong') : i % 3 === 1 ? connectPacket(`x${i}`, `device:nobody${i}`, 'x') : connectPacket(`x${i}`))))
    tried.badAuth = badAuth.length
    await publishOne()
    // Garbage: random bytes as the first packet; truncated: a good CONNECT cut short, then silence.
    const garbage = await Promise.all(Array.from({ length: GARBAGE }, () => raw(Buffer.from(Array.from({ length: 1 + Math.floor(r() * 64) }, () => Math.floor(r() * 256))))))
    tried.garbage = garbage.length
    const full = connectPacket('trunc', good.username, good.password)
    const truncated = await Promise.all(Array.from({ length: TRUNCATED }, () => raw(full.subarray(0, 1 + Math.floor(r() * (full.length - 1))))))
    tried.truncated = TRUNCATED
    await publishOne()
    // Garbage after a good CONNECT, from the device's own credentials (another client id).
    const after = await Promise.all(Array.from({ length: 20 }, (_, i) => raw(Buffer.concat([connectPacket(`hg2-${i}`, other.username, other.password), Buffer.from([0x30 + (i % 16), 0xff, 0xff, 0xff, 0xff, 0x01]), Buffer.from('garbage')]))))
    tried.afterConnect = after.length
    for (let i = 0; i < 10; i++) await publishOne()

    // The server closes each: a bad one at once, one that never completes its CONNECT (idle,
    // truncated, garbage that reads as the start of a long packet) at the broker's 30 s connect
    // timeout. A bound, not a timing: a closed socket resolves at once.
    const bound = sleep(45_000).then(() => 0)
    const count = async (ps: Array<Promise<void>>) => (await Promise.all(ps.map((p) => Promise.race([p.then(() => 1), bound])))).reduce((a, b) => a + b, 0)
    const publishing = (async () => { for (let i = 0; i < 10; i++) { await publishOne(); await sleep(1000) } })()
    const closedByServer = {
      idle: await count(idle), badAuth: await count(badAuth.map((x) => x.closed)), garbage: await count(garbage.map((x) => x.closed)),
      truncated: await count(truncated.map((x) => x.closed)), afterConnect: await count(after.map((x) => x.closed)),
    }
    await publishing
    const hz = await h.gc.http.inject({ method: 'GET', url: '/healthz' })
    const fresh = await connectDevice(h.mqttUrl, other)
    await fresh.publishAsync(other.topics.telemetry, JSON.stringify({ ts: T0, kwh: 1 }), { qos: 1 })
    await fresh.endAsync()
    const dropped = meterDrops
    await meter.endAsync()

    const { rows } = await h.gc.components.db.query<{ ts: Date }>("SELECT ts FROM readings WHERE device_id = 'hg1'")
    const stored = new Set(rows.map((x) => x.ts.getTime()))
    const lost = acked.filter((t) => !stored.has(t)).length
    const total = tried.idle + tried.badAuth + tried.garbage + tried.truncated + tried.afterConnect
    console.log(`probe: hostile connections: tried ${total} (idle ${tried.idle}, bad credentials ${tried.badAuth}, garbage ${tried.garbage}, truncated CONNECT ${tried.truncated}, garbage after CONNECT ${tried.afterConnect}); ` +
      `closed by the server: ${Object.entries(closedByServer).map(([k, v]) => `${k} ${v}/${tried[k as keyof typeof tried]}`).join(', ')}; ` +
      `well-behaved meter: ${acked.length} acked, lost ${lost}, dropped ${dropped}; /healthz ${hz.statusCode}`)
    assert.deepEqual(closedByServer, tried, 'every hostile connection is closed by the server')
    assert.equal(lost, 0)
    assert.equal(dropped, 0, 'the meter was never cut off')
    assert.equal(hz.statusCode, 200)
  })

  test('subscriptions to #, $SYS/#, wildcards and another device\'s topics are refused; nothing leaks', async () => {
    const filters = ['#', '$SYS/#', '$SYS/+/heartbeat', '+/#', 'gc/#', 'gc/v1/+/+/telemetry', other.topics.telemetry, other.commandTopic, '$share/g/#', '$gridcare/#']
    const tried: string[] = []
    let granted = 0
    const received: string[] = []
    for (const version of [4, 5] as const) {
      const spy = await connectDevice(h.mqttUrl, good, { protocolVersion: version })
      spy.on('message', (topic) => received.push(topic))
      for (const f of filters) {
        tried.push(f)
        // MQTT.js rejects a refused subscription (SUBACK 0x80 or a v5 reason code >= 0x80).
        const g = await spy.subscribeAsync(f, { qos: 1 }).catch(() => [])
        if (g.length > 0 && g.every((x) => x.qos < 128)) granted++
      }
      const own = await spy.subscribeAsync(good.commandTopic, { qos: 1 })
      assert.ok(own[0]!.qos < 128, 'its own commands topic is granted')
      const pub = await connectDevice(h.mqttUrl, other)
      await pub.publishAsync(other.topics.telemetry, JSON.stringify({ ts: T0 + Q, kwh: 2 }), { qos: 1 })
      await pub.endAsync()
      await h.gc.components.broker.publish(`${other.commandTopic.replace(/#$/, '')}reboot`, '{}')
      await spy.endAsync()
    }
    console.log(`probe: hostile subscriptions (MQTT 3.1.1 and 5): tried ${tried.length}, granted ${granted}, messages leaked ${received.length}`)
    assert.equal(granted, 0)
    assert.deepEqual(received, [])
  })
})
