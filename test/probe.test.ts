/**
 * The outside probe of issues 11 and 15, short form: kill during a first start,
 * a late batch beside a live device, fuzzed payloads on every topic, a store
 * outage with default MQTT.js clients. Each prints its figures (tried, failed,
 * lost). Longer: `npm run probe` (PROBE_SCALE=10: 5,000 fuzzed payloads, 500,000 stored
 * readings beside the late batch; PROBE_OUTAGE_S=30: a 30 s outage).
 */
import { afterAll, beforeAll, describe, test } from 'vitest'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { runStart } from './child.ts'
import { connectDevice, PG_ADMIN_URL, seedStreet, startGridcare, type Harness } from './helpers.ts'
import { proxiedDatabase } from './tcp-proxy.ts'
import { mulberry32 as rng } from '../simulators/random.ts'

const SCALE = Number(process.env.PROBE_SCALE ?? 1)
const OUTAGE_S = Number(process.env.PROBE_OUTAGE_S ?? 6)
type Dev = { id: string, username: string, password: string, topics: { telemetry: string, events: string, status: string } }
const T0 = Date.UTC(2026, 0, 1)
const Q = 15 * 60_000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

test('kill -9 during a first start never bricks the embedded store: the next start succeeds', { timeout: 900_000 }, async () => {
  const tried: string[] = []
  let failed = 0
  for (const ms of SCALE > 1 ? [300, 800, 1500, 2500, 3500, 5000] : [500, 2500]) {
    const dir = mkdtempSync(join(tmpdir(), 'gridcare-firstkill-'))
    try {
      const killed = await runStart({ DATA_DIR: dir, LOG_LEVEL: 'info' }, { killAfterLine: { includes: 'first start: creating the embedded store', ms } })
      tried.push(`${ms} ms: ${killed.signal ?? 'exited ' + killed.code}`)
      const next = await runStart({ DATA_DIR: dir })
      if (!next.running) failed++
      assert.ok(next.running, `after a kill ${ms} ms into the first start: ${next.stderr}`)
      assert.deepEqual(readdirSync(dir), ['store'], 'nothing half-made is left')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
  console.log(`probe: kill during first start: tried ${tried.length} (${tried.join(', ')}), failed ${failed}, lost 0`)
})

describe('one device\'s late batch does not stall the others', () => {
  let h: Harness
  let late: Dev
  let live: Dev
  const STORED = 50_000 * SCALE
  beforeAll(async () => {
    h = await startGridcare()
    await seedStreet(h)
    late = (await h.api('POST', '/api/devices', { id: 'late1', kind: 'meter', address: 'U101' })).body
    live = (await h.api('POST', '/api/devices', { id: 'live1', kind: 'meter', address: 'U102' })).body
    // A meter with a long history: one reading every 15 min, the latest at T0.
    await h.gc.components.db.query(`INSERT INTO readings (device_id, ts, register, amount, interval_ms)
      SELECT 'late1', to_timestamp(($1::float8 - i * $2::float8) / 1000), ($3 - i) * 0.1, 0.1, $2 FROM generate_series(0, $3 - 1) i`, [T0, Q, STORED])
  })
  afterAll(async () => { await h.close() })

  test('a 5,000-reading batch earlier than the meter\'s latest, beside a live meter', { timeout: 300_000 }, async () => {
    const lc = await connectDevice(h.mqttUrl, late)
    const vc = await connectDevice(h.mqttUrl, live)
    await lc.publishAsync(late.topics.telemetry, JSON.stringify({ ts: T0 + Q, kwh: STORED * 0.1 + 0.1 }), { qos: 1 }) // the ingest learns the register
    // Late readings between the stored ones (7.5 min after each), in the middle of the history.
    const from = T0 - 20_000 * Q
    const batch = Array.from({ length: 5000 }, (_, i) => ({ ts: from + i * Q + Q / 2, kwh: (STORED - 20_000 + i) * 0.1 + 0.05 }))
    let lateDone = false
    const t0 = performance.now()
    const lateAck = lc.publishAsync(late.topics.telemetry, JSON.stringify({ readings: batch }), { qos: 1 }).then(() => { lateDone = true; return performance.now() - t0 })
    let maxWait = 0
    let liveAcks = 0
    let beforeLate = 0
    let health = 0
    for (let i = 0; !lateDone || i < 5; i++) {
      const s = performance.now()
      await vc.publishAsync(live.topics.telemetry, JSON.stringify({ ts: T0 + i * Q, kwh: i }), { qos: 1 })
      maxWait = Math.max(maxWait, performance.now() - s)
      liveAcks++
      if (!lateDone) beforeLate++
      const hz = await h.gc.http.inject({ method: 'GET', url: '/healthz' })
      if (hz.statusCode === 200) health++
    }
    const lateMs = await lateAck
    await lc.endAsync()
    await vc.endAsync()
    console.log(`probe: late batch: 5000 late readings beside ${STORED} stored, stored in ${Math.round(lateMs)} ms; live meter: ${liveAcks} acks (${beforeLate} while the late batch was being stored), longest wait ${Math.round(maxWait)} ms; /healthz 200 ${health}/${liveAcks}`)
    const { rows } = await h.gc.components.db.query<{ amount: number, interval_ms: string }>(
      'SELECT amount, interval_ms FROM readings WHERE device_id = $1 AND ts > $2 ORDER BY ts LIMIT 4', ['late1', new Date(from).toISOString()])
    assert.deepEqual(rows.map((r) => [Math.round(r.amount * 100) / 100, Number(r.interval_ms)]), [[0.05, Q / 2], [0.05, Q / 2], [0.05, Q / 2], [0.05, Q / 2]], 'late readings split their intervals')
    // The late batch goes in 20 slices; a live reading waits for one slice, not all of them.
    // Waiting for the whole batch gives at most one live ack before the late one.
    assert.ok(beforeLate >= 3, `the live meter got ${beforeLate} acks while the late batch was being stored`)
    assert.equal(health, liveAcks, '/healthz answered all along')
  })
})


/** Over the broker's 1 MiB packet limit: a dead letter of its device, acknowledged (made once, sent as it is). */
const TEN_MB = (() => { const b = Buffer.alloc(10 * 1024 * 1024, 0x20); b.write('{"readings":[{"ts":0,"kwh":1},', 0); return b })()

function fuzzPayload (r: () => number): string | Buffer {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!
  const ts = () => pick<unknown>([T0, 0, -1, 1e20, -1e15, 1e308, -1e308, 2 ** 53, 4102444800001, '1970-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '2026-01-01T00:00:00Z', 'yesterday', null, true, [], {}, 'a\u0000b'])
  const num = () => pick<unknown>([1, -3, 0, 1e308, -1e308, 2 ** 53, 'NaN', null, '1', [], {}, 1.5])
  const nest = (d: number): string => '{"a":'.repeat(d) + '1' + '}'.repeat(d)
  switch (Math.floor(r() * 15)) {
    case 0: return JSON.stringify({ ts: ts(), kwh: num(), w: num() })
    case 1: return JSON.stringify({ ts: ts(), m3: num() })
    case 2: return JSON.stringify({ readings: Array.from({ length: Math.floor(r() * 20) }, () => ({ ts: ts(), kwh: num() })) })
    case 3: return JSON.stringify({ readings: [] })
    case 4: return JSON.stringify({ readings: Array.from({ length: 5001 }, (_, i) => ({ ts: T0 + i * Q, kwh: i })) })
    case 5: return nest(pick([10, 40, 500, 5000]))
    case 6: return JSON.stringify({ ts: ts(), event: pick(['door_open', 'fall', 'x', null, 1]), count: num(), confidence: num() })
    case 7: return JSON.stringify({ ts: ts(), lat: num(), lon: num(), label: pick(['fire', 'smoke', 'nope']) })
    case 8: return Buffer.from(Array.from({ length: 1 + Math.floor(r() * 64) }, () => Math.floor(r() * 256)))
    case 9: return JSON.stringify({ ts: T0 }).slice(0, 1 + Math.floor(r() * 8))
    case 10: return JSON.stringify({ note: 'x'.repeat(Math.floor(r() * 300_000)), ts: ts() })
    case 11: return JSON.stringify({ ['k\u0000']: 1, s: 'a\u0000b' })
    case 12: return JSON.stringify(pick<unknown>([null, 1, 'str', [], true, [1, [2, [3]]]]))
    case 13: return r() < 0.2 ? TEN_MB : Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc]) // invalid UTF-8
    default: return JSON.stringify({ ts: ts(), status: pick(['ok', 'low battery', '\ud800']), v: num() })
  }
}

describe('fuzzed payloads on every topic', () => {
  let h: Harness
  const devs: Dev[] = []
  let good: Dev
  beforeAll(async () => {
    h = await startGridcare()
    await seedStreet(h)
    for (const kind of ['meter', 'water_meter', 'camera', 'drone']) devs.push((await h.api('POST', '/api/devices', { id: `fz-${kind}`, kind, address: 'U201' })).body)
    good = (await h.api('POST', '/api/devices', { id: 'fz-good', kind: 'meter', address: 'U202' })).body
  })
  afterAll(async () => { await h.close() })

  test('every payload is acknowledged or a dead letter; the server stays up; a well-behaved meter keeps its acks', { timeout: 300_000 }, async () => {
    const r = rng(15)
    const clients = await Promise.all(devs.map((d) => connectDevice(h.mqttUrl, d)))
    let drops = 0
    clients.forEach((c) => c.on('close', () => { drops++ }))
    const gc = await connectDevice(h.mqttUrl, good)
    const N = Number(process.env.PROBE_FUZZ ?? (SCALE > 1 ? 5000 : 300))
    let failed = 0
    const acked: number[] = []
    for (let i = 0; i < N; i++) {
      const k = Math.floor(r() * devs.length)
      const channel = (['telemetry', 'events', 'status'] as const)[Math.floor(r() * 3)]!
      const payload = fuzzPayload(r)
      const ok = await Promise.race([clients[k]!.publishAsync(devs[k]!.topics[channel], payload, { qos: 1 }).then(() => true, () => false), sleep(20_000).then(() => false)])
      if (!ok) failed++
      if (i % 10 === 0) {
        const ts = T0 + acked.length * Q
        await gc.publishAsync(good.topics.telemetry, JSON.stringify({ ts, kwh: acked.length * 0.2 }), { qos: 1 })
        acked.push(ts)
      }
    }
    const hz = await h.gc.http.inject({ method: 'GET', url: '/healthz' })
    const dropped = drops
    await Promise.all([...clients, gc].map((c) => c.endAsync()))
    const { rows } = await h.gc.components.db.query<{ ts: Date }>("SELECT ts FROM readings WHERE device_id = 'fz-good'")
    const stored = new Set(rows.map((x) => x.ts.getTime()))
    const lost = acked.filter((t) => !stored.has(t)).length
    const codes = (await h.gc.components.db.query<{ code: string, n: number }>('SELECT code, count(*)::int AS n FROM dead_letters GROUP BY code ORDER BY code')).rows
    const unstorable = (await h.gc.components.db.query<{ reason: string }>("SELECT DISTINCT left(reason, 120) AS reason FROM dead_letters WHERE code = 'INGEST_UNSTORABLE' LIMIT 3")).rows.map((x) => x.reason)
    const dead = `${codes.reduce((s, c) => s + c.n, 0)} (${codes.map((c) => `${c.code} ${c.n}`).join(', ')})${unstorable.length ? `; the store refused: ${unstorable.join(' | ')}` : ''}`
    console.log(`probe: fuzz (seed 15): tried ${N} payloads on ${devs.length * 3} topics, failed ${failed} (not acknowledged), connections dropped ${dropped}, dead letters ${dead}; well-behaved meter: ${acked.length} acked, lost ${lost}`)
    assert.equal(failed, 0)
    assert.equal(dropped, 0)
    assert.equal(lost, 0)
    assert.equal(hz.statusCode, 200)
  })
})

describe('a PostgreSQL outage with default MQTT.js clients', () => {
  let h: Harness
  let db: Awaited<ReturnType<typeof proxiedDatabase>>
  const devs: Dev[] = []
  beforeAll(async () => {
    db = await proxiedDatabase()
    h = await startGridcare({ DATABASE_URL: db.url })
    await seedStreet(h)
    for (let i = 0; i < 5; i++) devs.push((await h.api('POST', '/api/devices', { id: `out${i}`, kind: 'meter', address: 'U101' })).body)
  })
  afterAll(async () => { await h?.close(); await db?.drop() })

  test(`${OUTAGE_S} s without the store: acks wait, /healthz says so, known devices reconnect, nothing acknowledged is lost, ingest resumes by itself`, { timeout: 300_000 }, async () => {
    assert.ok(PG_ADMIN_URL)
    // Default options, as a device maker would write them: reconnect every second, random client id.
    const clients = devs.map((d) => mqtt.connect(h.mqttUrl, { username: d.username, password: d.password }))
    await Promise.all(clients.map((c) => new Promise((resolve) => c.once('connect', resolve))))
    const connects = clients.map(() => 0)
    // The CONNACK as it arrives (MQTT.js says 'connect' only once it has resent what waits).
    clients.forEach((c, i) => c.on('packetreceive', (p) => { if (p.cmd === 'connack' && p.returnCode === 0) connects[i]!++ }))
    const acked = new Set<string>()
    const ackTimes: number[] = []
    let sent = 0
    let stopped = false
    const publishing = (async () => {
      for (let n = 0; !stopped; n++) {
        for (const [i, c] of clients.entries()) {
          const ts = T0 + n * Q
          sent++
          c.publish(devs[i]!.topics.telemetry, JSON.stringify({ ts, kwh: n * 0.1 }), { qos: 1 }, (err) => { if (!err) { acked.add(`${devs[i]!.id}@${ts}`); ackTimes.push(Date.now()) } })
        }
        await sleep(100)
      }
    })()
    await sleep(1500)
    const before = acked.size
    const rssBefore = process.memoryUsage().rss
    let cutAt = Date.now()
    db.proxy.cut()
    cutAt = Date.now()
    let sawDown = false
    let rssMax = 0
    clients[0]!.stream.destroy() // a device that loses its connection now must get back in
    while (Date.now() - cutAt < OUTAGE_S * 1000) {
      const hz = await h.gc.http.inject({ method: 'GET', url: '/healthz' })
      if (hz.statusCode === 503 && /down/.test(hz.body)) sawDown = true
      rssMax = Math.max(rssMax, process.memoryUsage().rss)
      await sleep(500)
    }
    const duringOutage = acked.size - before
    const reconnected = connects[0]! > 0
    db.proxy.restore()
    const restoredAt = Date.now()
    await sleep(3000)
    stopped = true
    await publishing
    // Wait for every in-flight publish to be acknowledged (bounded).
    for (let i = 0; i < 120 && acked.size < sent; i++) await sleep(250)
    let hz = await h.gc.http.inject({ method: 'GET', url: '/healthz' })
    for (let i = 0; i < 20 && hz.statusCode !== 200; i++) { await sleep(500); hz = await h.gc.http.inject({ method: 'GET', url: '/healthz' }) }
    await Promise.all(clients.map((c) => c.endAsync()))
    const { rows } = await h.gc.components.db.query<{ device_id: string, ts: Date }>("SELECT device_id, ts FROM readings WHERE device_id LIKE 'out%'")
    const stored = new Set(rows.map((r) => `${r.device_id}@${r.ts.getTime()}`))
    const lost = [...acked].filter((k) => !stored.has(k)).length
    // How long devices saw no ack: the longest gap between two acks, and from the store's return to the first ack.
    const times = [...ackTimes].sort((a, b) => a - b)
    const longestGap = times.slice(1).reduce((m, t, i) => Math.max(m, t - times[i]!), 0)
    const resumedAfter = (times.find((t) => t >= restoredAt) ?? NaN) - restoredAt
    console.log(`probe: outage ${OUTAGE_S} s (PostgreSQL behind a cut proxy, 5 default MQTT.js meters): tried ${sent}, acked ${acked.size} (${duringOutage} during the outage), failed ${sent - acked.size}, lost ${lost}; /healthz said down: ${sawDown}; reconnected during the outage: ${reconnected}; ` +
      `acks paused ${(longestGap / 1000).toFixed(1)} s at most, first ack ${Math.round(resumedAfter)} ms after the store came back; process RSS (gridcare and the meters) ${Math.round(rssBefore / 1e6)} MB before, max ${Math.round(rssMax / 1e6)} MB during`)
    assert.equal(lost, 0, 'nothing acknowledged is lost')
    assert.ok(sawDown, '/healthz reported the store down')
    assert.ok(reconnected, 'a known device got back in while the store was away')
    assert.equal(acked.size, sent, 'ingest resumed by itself: every reading acknowledged in the end')
    assert.equal(hz.statusCode, 200)
    assert.ok(rssMax - rssBefore < 300e6, `memory stays bounded while acks wait: RSS grew ${Math.round((rssMax - rssBefore) / 1e6)} MB`)
  })
})
