import { describe, test } from 'vitest'
import assert from 'node:assert/strict'
import {
  EVENT_TIME_MAX, EVENT_TIME_MIN, fastMeterReading, fastMeterReadings, MeterBatchPayload, MeterReadingPayload, parseDeviceTopic, TOPIC_ROOT,
} from '../vocab/index.ts'
import { mulberry32 } from '../simulators/random.ts'

// The ingest's fast paths must give zod's answers: what they accept, zod accepts with the same
// data (so the same rows, the same dead letters for a wrong unit); what zod refuses, they leave to
// zod (so the same reasons). Checked over many payloads built from the values that sit on an edge.

const TS = [1_700_000_000_000, EVENT_TIME_MIN, EVENT_TIME_MAX, EVENT_TIME_MIN - 1, EVENT_TIME_MAX + 1, 1_700_000_000_000.5, -1, 0,
  '2026-03-01T00:00:00Z', '2026-03-01T00:00:00+08:00', '2026-03-01T00:00:00', 'yesterday', '', null, true, [], {}, Number.MAX_SAFE_INTEGER + 2]
const REG = [0, -0, 1.5, 123456.789, -0.001, -3, 1e308, '5', null, false, [], {}, undefined]
const W = [undefined, 0, 2500, -1, 0.5, '3', null, 1e300]
const EXTRA = [undefined, 'x', 1, null, { a: 1 }]

function payload (rand: () => number): unknown {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!
  const r = rand()
  if (r < 0.03) return pick([null, 5, 'x', [], [{ ts: 1_700_000_000_000, kwh: 1 }], true])
  const o: Record<string, unknown> = {}
  // Keys in varied orders, some left out, the odd one added.
  const keys = ['ts', 'kwh', 'm3', 'w', 'extra'].sort(() => rand() - 0.5)
  for (const k of keys) {
    const v = k === 'ts' ? (rand() < 0.9 ? pick(TS) : undefined)
      : k === 'kwh' ? (rand() < 0.7 ? pick(REG) : undefined)
        : k === 'm3' ? (rand() < 0.3 ? pick(REG) : undefined)
          : k === 'w' ? pick(W) : pick(EXTRA)
    if (v !== undefined) o[k] = v
  }
  // As it comes off the wire.
  return JSON.parse(JSON.stringify(o))
}

/** Same data, key order and -0 included (a wrong unit's dead letter is the reading as zod gave it). */
function same (a: unknown, b: unknown) {
  assert.equal(JSON.stringify(a), JSON.stringify(b))
  assert.deepEqual(a, b)
  for (const k of Object.keys(a as object)) assert.ok(Object.is((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]), k)
}

describe('fast reading validation', () => {
  test('what the fast path accepts, zod accepts with the same data; what zod refuses, the fast path leaves to zod', () => {
    const rand = mulberry32(12)
    let fast = 0, accepted = 0
    for (let i = 0; i < 50_000; i++) {
      const v = payload(rand)
      const z = MeterReadingPayload.safeParse(v)
      const f = fastMeterReading(v)
      if (z.success) accepted++
      if (f === undefined) continue
      fast++
      assert.ok(z.success, `fast path accepted what zod refuses: ${JSON.stringify(v)}`)
      same(f, z.data)
    }
    assert.ok(fast > 500 && accepted > fast, `both paths exercised (fast ${fast}, zod ${accepted})`)
  })

  test('the usual readings take the fast path', () => {
    for (const v of [{ ts: 1_700_000_000_000, kwh: 12.5 }, { ts: 1_700_000_000_000, kwh: 0, w: 300 }, { w: 1, m3: 2.25, ts: EVENT_TIME_MIN }, { ts: 1_700_000_000_000, kwh: 1, note: 'x' }]) {
      const f = fastMeterReading(v)
      assert.ok(f, JSON.stringify(v))
      same(f, MeterReadingPayload.parse(v))
    }
    // ISO times and everything refused are zod's.
    for (const v of [{ ts: '2026-03-01T00:00:00Z', kwh: 1 }, { ts: 1_700_000_000_000, kwh: 1, m3: 1 }, { ts: 1_700_000_000_000 }, { ts: 1_700_000_000_000, kwh: -1 }]) {
      assert.equal(fastMeterReading(v), undefined, JSON.stringify(v))
    }
  })

  test('batches: all readings fast, or the batch is zod\'s; the same data either way', () => {
    const rand = mulberry32(7)
    let fast = 0
    for (let i = 0; i < 5_000; i++) {
      const n = 1 + Math.floor(rand() * 6)
      const good = rand() < 0.5
      const readings = Array.from({ length: n }, () => good ? { ts: 1_700_000_000_000 + Math.floor(rand() * 1e9), kwh: rand() * 100 } : payload(rand))
      const z = MeterBatchPayload.safeParse({ readings })
      const f = fastMeterReadings(readings)
      if (f === undefined) continue
      fast++
      assert.ok(z.success, `fast path accepted a batch zod refuses: ${JSON.stringify(readings)}`)
      assert.equal(f.length, z.data.readings.length)
      f.forEach((r, j) => same(r, z.data.readings[j]))
    }
    assert.ok(fast > 2_000, `fast batches ${fast}`)
    assert.equal(fastMeterReadings([]), undefined, 'an empty batch is zod\'s (and refused)')
  })
})

describe('device topics', () => {
  /** The parse as it was, by split: the one-pass parse must answer the same. */
  function bySplit (topic: string) {
    const parts = topic.split('/')
    if (parts.length !== 5 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT) return null
    const channel = parts[4]
    if (channel !== 'telemetry' && channel !== 'events' && channel !== 'status') return null
    return { street: parts[2]!, deviceId: parts[3]!, channel }
  }

  test('the one-pass parse answers as the split did', () => {
    const rand = mulberry32(3)
    const bits = ['gc', 'v1', 'gc/v1', 'S1', 'm1', '', 'telemetry', 'events', 'status', 'commands', 'x/y', '/', 'gc/v1x', '+', '#']
    const topics = ['gc/v1/S1/m1/telemetry', 'gc/v1//m1/events', 'gc/v1/S1//status', 'gc/v1/S1/m1/telemetry/', 'gc/v1/S1/m1', 'gc/v2/S1/m1/telemetry', 'gc/v1/S1/m1/x/telemetry', '/gc/v1/S1/m1/telemetry', '']
    for (let i = 0; i < 20_000; i++) topics.push((rand() < 0.5 ? 'gc/v1/' : '') + Array.from({ length: 1 + Math.floor(rand() * 4) }, () => bits[Math.floor(rand() * bits.length)]).join('/'))
    let parsed = 0
    for (const t of topics) {
      const want = bySplit(t)
      if (want) parsed++
      assert.deepEqual(parseDeviceTopic(t), want, t)
    }
    assert.ok(parsed > 100, `topics that parse: ${parsed}`)
  })
})
