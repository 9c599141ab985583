import { test } from 'vitest'
import assert from 'node:assert/strict'
import type { Anomaly, Consumption, SubjectKind } from '../vocab/index.ts'
import { generateReadings, type Scenario } from '../simulators/index.ts'
import { step, type RegisterState } from '../ingest/meter.ts'
import {
  METER_FAULT_KIND, METER_HEALTH_KINDS, METER_OFFLINE_KIND, METER_STUCK_KIND, createMeterHealthDetector, type MeterHealthDetector,
} from '../detectors/meter-health.ts'

const MIN = 60_000
const H = 60 * MIN
const DAY = 24 * H
/** Local (UTC+8) midnight of 2026-03-01: the data month is in the past. */
const T0 = Date.UTC(2026, 2, 1) - 8 * H

interface Meter { subjectId: string, deviceId: string, samples: Consumption[] }

/** A simulated meter's readings over `days`, turned into consumption by ingest's own register step. */
function meter (i: number, days: number, scenarios: Scenario[] = [], kind: SubjectKind = i % 3 === 2 ? 'rental_unit' : 'lone_elder'): Meter {
  const subjectId = `s-${i}`, deviceId = `m-${i}`
  let reg: RegisterState | undefined
  const samples: Consumption[] = []
  for (const r of generateReadings({ subjectKind: kind, seed: 100 + i, scenarios }, T0, T0 + days * DAY + 1)) {
    const out = step(reg, deviceId, { ts: r.ts, value: r.kwh, powerW: r.w })
    reg = out.next
    if (out.step.kind !== 'in_order') continue
    const row = out.step.row, fault = row.implausible ? 'implausible' : row.reset ? 'reset' : null
    samples.push({ subjectId, subjectKind: kind, deviceId, unit: 'kwh', ts: r.ts, intervalMs: row.intervalMs!, amount: row.amount ?? 0, powerW: r.w, ...(fault ? { registerFault: fault } : {}) })
  }
  return { subjectId, deviceId, samples }
}

/** All meters in event-time order, as live meters publish. */
const live = (ms: Meter[]) => ms.flatMap((m) => m.samples).sort((a, b) => a.ts - b.ts)

/** Concentrator uploads: each day's readings per device, device after device, in a different order each day. */
function dailyBatches (ms: Meter[], days: number): Consumption[][] {
  const out: Consumption[][] = []
  for (let d = 0; d < days; d++) {
    const order = ms.map((_, i) => i).sort((a, b) => ((a * 7919 + d * 104729) % 97) - ((b * 7919 + d * 104729) % 97))
    for (const i of order) out.push(ms[i]!.samples.filter((s) => s.ts > T0 + d * DAY && s.ts <= T0 + (d + 1) * DAY))
  }
  return out
}

function feed (d: MeterHealthDetector, samples: Iterable<Consumption>, out: Anomaly[] = []): Anomaly[] {
  for (const s of samples) {
    const a = d.update(s)
    if (a !== null) out.push(a)
  }
  return out
}

/** Live meters with tick(now) every 5 minutes of data time, as the evaluation harness runs them. */
function feedLive (d: MeterHealthDetector, samples: Consumption[], until: number): Anomaly[] {
  const out: Anomaly[] = []
  let i = 0
  for (let now = samples[0]!.ts; now <= until; now += 5 * MIN) {
    while (i < samples.length && samples[i]!.ts <= now) { const a = d.update(samples[i++]!); if (a) out.push(a) }
    out.push(...d.tick(now))
  }
  return out
}

const fleet = (n: number, days: number, faulty?: { i: number, scenarios: Scenario[] }) =>
  Array.from({ length: n }, (_, i) => meter(i, days, faulty?.i === i ? faulty.scenarios : []))
const brief = (as: Anomaly[]) => as.map((a) => `${a.subjectId}:${a.kind}:${a.phase}`)

test('a month of healthy meters, live or uploaded in daily batches device after device, raises nothing', () => {
  const ms = fleet(12, 30)
  assert.deepEqual(brief(feedLive(createMeterHealthDetector(), live(ms), T0 + 30 * DAY)), [])
  // Replayed in daily batches; the app ticks with today's wall clock meanwhile: replays are never live.
  // One concentrator misses a day and sends two the next: a day late is within its usual lag.
  const batches = dailyBatches(ms, 30)
  const dayOf = (day: number) => batches.findIndex((b) => b[0]!.deviceId === 'm-3' && b[0]!.ts === T0 + day * DAY + 15 * MIN)
  batches[dayOf(11)]!.unshift(...batches.splice(dayOf(10), 1)[0]!)
  const d = createMeterHealthDetector(), out: Anomaly[] = []
  for (const batch of batches) { feed(d, batch, out); out.push(...d.tick(Date.now())) }
  assert.deepEqual(brief(out), [])
  // ... nor when the evaluation harness ticks with the data's time.
  const e = createMeterHealthDetector(), fromE: Anomaly[] = []
  let now = T0
  for (const batch of dailyBatches(ms, 30)) { feed(e, batch, fromE); now = Math.max(now, batch.at(-1)?.ts ?? now); fromE.push(...e.tick(now)) }
  assert.deepEqual(brief(fromE), [])
})

test('stuck register: caught at once while the meter still reports power, and after 6 h without', () => {
  const at = T0 + 5 * DAY + 10 * H
  for (const kind of ['lone_elder', 'rental_unit'] as const) {
    const m = meter(7, 8, [{ kind: 'meter_fault', from: at, fault: 'stuck' }], kind)
    const as = feed(createMeterHealthDetector(), m.samples)
    assert.deepEqual(brief(as), ['s-7:meter_stuck:raise'], kind)
    const raise = as[0]!
    assert.ok(raise.observedAt > at && raise.observedAt <= at + H, `raised ${(raise.observedAt - at) / MIN} min in`)
    assert.ok(Math.abs(raise.startedAt - at) <= 15 * MIN)
    assert.equal(raise.severity, 'low')
    assert.equal(raise.evidence.deviceFault, true)
    assert.equal(raise.evidence.deviceId, 'm-7')
    assert.match(String(raise.evidence.reason), /stuck.*W in use/)
    // Without power readings only time tells.
    const b = createMeterHealthDetector(), noPower = m.samples.map(({ powerW: _, ...s }) => s)
    assert.deepEqual(feed(b, noPower.filter((s) => s.ts <= at + H)), [])
    assert.ok(b.isSuspect('m-7'), 'a never-zero meter reading zero is suspect before the raise')
    const blind = feed(b, noPower.filter((s) => s.ts > at + H))
    assert.deepEqual(brief(blind), ['s-7:meter_stuck:raise'])
    assert.ok(blind[0]!.observedAt - at >= 6 * H && blind[0]!.observedAt - at <= 6.5 * H)
  }
})

test('stuck: clears when the register moves again; a water meter that is often zero is never stuck', () => {
  const m = meter(3, 8)
  const d = createMeterHealthDetector()
  const from = T0 + 5 * DAY, to = from + 9 * H
  const frozen = m.samples.map((s) => (s.ts > from && s.ts <= to ? { ...s, amount: 0 } : s))
  const as = feed(d, frozen)
  assert.deepEqual(brief(as), ['s-3:meter_stuck:raise', 's-3:meter_stuck:clear'])
  assert.equal(as[1]!.observedAt, to + 15 * MIN)
  assert.equal(as[1]!.evidence.zeroHours, 9)
  // Water: zero most of the night, so a long zero run is somebody not using water, not a stuck meter.
  const water = Array.from({ length: 8 * 96 }, (_, k): Consumption => {
    const hour = (k / 4 + 8) % 24
    return { subjectId: 's-w', subjectKind: 'lone_elder', deviceId: 'w-1', unit: 'm3', ts: T0 + (k + 1) * 15 * MIN, intervalMs: 15 * MIN, amount: hour > 7 && hour < 22 && k % 3 === 0 && k < 6 * 96 ? 0.01 : 0 }
  })
  assert.deepEqual(feed(createMeterHealthDetector(), water), [])
})

test('reset: a lone reset is a meter swap, raised as information and cleared a day later; another within 30 days is a fault', () => {
  const at = T0 + 4 * DAY + 3 * H
  const m = meter(5, 12, [{ kind: 'meter_fault', from: at, fault: 'reset' }])
  const as = feed(createMeterHealthDetector(), m.samples)
  assert.deepEqual(brief(as), ['s-5:meter_fault:raise', 's-5:meter_fault:clear'])
  assert.ok(as[0]!.observedAt >= at && as[0]!.observedAt <= at + 15 * MIN)
  assert.equal(as[0]!.evidence.information, true)
  assert.match(String(as[0]!.evidence.reason), /new meter was fitted/)
  assert.ok(as[1]!.observedAt - as[0]!.observedAt > 24 * H && as[1]!.observedAt - as[0]!.observedAt <= 24.5 * H)

  const twice = meter(5, 12, [{ kind: 'meter_fault', from: at, fault: 'reset' }, { kind: 'meter_fault', from: at + 2 * DAY, fault: 'reset' }])
  const d = createMeterHealthDetector()
  const fault = feed(d, twice.samples)
  // The swap's episode is over after a day; the second reset opens a fault that holds for a week.
  assert.deepEqual(brief(fault), ['s-5:meter_fault:raise', 's-5:meter_fault:clear', 's-5:meter_fault:raise'])
  assert.equal(fault[2]!.evidence.information, false)
  assert.equal(fault[2]!.evidence.repeated, true)
  assert.ok(d.isSuspect('m-5'))
  // One implausible jump on a healthy meter: a fault, held for a week after it.
  const jumpAt = T0 + 3 * DAY + 5 * H
  const jump = feed(createMeterHealthDetector(), meter(6, 12).samples.map((s) => (s.ts === jumpAt ? { ...s, amount: 0, registerFault: 'implausible' as const } : s)))
  assert.deepEqual(brief(jump), ['s-6:meter_fault:raise', 's-6:meter_fault:clear'])
  assert.match(String(jump[0]!.evidence.reason), /more than a home can draw/)
  assert.equal(jump[1]!.observedAt, jumpAt + 7 * DAY + 15 * MIN)
})

test('offline: the simulator\'s dead meter is caught by the data clock, live or in daily batches', () => {
  const at = T0 + 6 * DAY + 14 * H
  const ms = fleet(8, 14, { i: 4, scenarios: [{ kind: 'meter_fault', from: at, fault: 'offline' }] })
  const fromLive = feed(createMeterHealthDetector(), live(ms))
  assert.deepEqual(brief(fromLive), ['s-4:meter_offline:raise'])
  const late = fromLive[0]!.observedAt - at
  assert.ok(late >= 26 * H - 15 * MIN && late <= 27 * H, `raised ${late / H} h after`)
  assert.equal(fromLive[0]!.evidence.judgedBy, 'data clock')
  assert.equal(fromLive[0]!.startedAt, at - 15 * MIN)

  const d = createMeterHealthDetector()
  const fromBatches = dailyBatches(ms, 14).flatMap((b) => feed(d, b))
  assert.deepEqual(brief(fromBatches), ['s-4:meter_offline:raise'])
  assert.ok(fromBatches[0]!.observedAt - at <= 4 * DAY, 'within three days of lag')
})

test('offline by the wall clock: a live meter falls silent, tick raises within the hour; its data again clears', () => {
  const now0 = Date.UTC(2026, 10, 23, 10), Q = 15 * MIN
  const reading = (ts: number, intervalMs = Q): Consumption => ({ subjectId: 's-1', subjectKind: 'lone_elder', deviceId: 'm-1', unit: 'kwh', ts, intervalMs, amount: 0.02 })
  const d = createMeterHealthDetector()
  const out: Anomaly[] = []
  let now = now0
  for (; now < now0 + 6 * H; now += MIN) {
    if (now < now0 + 3 * H && (now - now0) % Q === 0) feed(d, [reading(now - 30_000)], out) // a little behind the wall clock
    out.push(...d.tick(now))
    if (out.length > 0) break
  }
  assert.deepEqual(brief(out), ['s-1:meter_offline:raise'])
  const silent = now - (now0 + 3 * H - Q - 30_000)
  assert.ok(silent > H && silent <= H + MIN, `raised after ${silent / MIN} min of silence`)
  assert.equal(out[0]!.evidence.judgedBy, 'wall clock')
  assert.ok(d.isSuspect('m-1'))
  // The meter sends its backlog in one reading covering the gap: the episode is over.
  const back = d.update(reading(now0 + 8 * H, 5 * H + Q))
  assert.equal(back?.phase, 'clear')
  assert.equal(back.evidence.gapHours, 5.3)
  assert.ok(!d.isSuspect('m-1'))
  assert.deepEqual(d.tick(now0 + 8 * H + MIN), [])
  // After a restart the app ticks again hours later: meters get their usual time to report first.
  const e = createMeterHealthDetector()
  e.restore('s-1', d.snapshot('s-1'))
  assert.deepEqual(e.tick(now0 + 11 * H), [])
  assert.deepEqual(e.tick(now0 + 11 * H + 30 * MIN), [])
  assert.deepEqual(brief(e.tick(now0 + 12 * H + MIN)), ['s-1:meter_offline:raise'])
})

test('one episode per subject and kind when a subject has several meters', () => {
  const d = createMeterHealthDetector()
  const at = T0 + 5 * DAY
  const two = [meter(1, 7), meter(2, 7)].map((m) => m.samples.map((s) => ({ ...s, subjectId: 'flat-1', ...(s.ts > at ? { registerFault: 'implausible' as const, amount: 0 } : {}) })))
  const as = feed(d, [...two[0]!, ...two[1]!].sort((a, b) => a.ts - b.ts))
  assert.deepEqual(brief(as), ['flat-1:meter_fault:raise'])
  assert.deepEqual([...d.subjects()], ['flat-1'])
})

test('snapshot/restore: the restored detector goes on identically; bad snapshots are rejected', () => {
  const at = T0 + 6 * DAY
  const ms = [...fleet(6, 10, { i: 2, scenarios: [{ kind: 'meter_fault', from: at + 3 * H, fault: 'offline' }] }),
    meter(9, 10, [{ kind: 'meter_fault', from: at + 20 * H, fault: 'stuck' }])]
  const all = live(ms), cut = all.findIndex((s) => s.ts > at)
  const a = createMeterHealthDetector()
  feed(a, all.slice(0, cut))
  const b = createMeterHealthDetector()
  for (const id of [...a.subjects()].reverse()) {
    const snap = JSON.parse(JSON.stringify(a.snapshot(id)))
    assert.ok(JSON.stringify(snap).length < 1024, `${id}: ${JSON.stringify(snap).length} chars`)
    b.restore(id, snap)
  }
  const rest = all.slice(cut)
  const fromA = feed(a, rest), fromB = feed(b, rest)
  
  assert.deepEqual(brief(fromA), ['s-9:meter_stuck:raise', 's-2:meter_offline:raise'])
  assert.deepEqual(fromB, fromA)
  assert.equal(a.snapshot('nobody'), undefined)
  const good = a.snapshot('s-1') as { devices: Array<Record<string, unknown>> }
  assert.throws(() => b.restore('x', { hello: 'world' }), TypeError)
  assert.throws(() => b.restore('x', { devices: [{ ...good.devices[0], cadence: -5 }] }), /devices\.0\.cadence/)
  assert.throws(() => b.restore('x', { devices: [{ ...good.devices[0], faultLevel: 7 }] }), /faultLevel/)
})

test('ignores what is not a reading; kinds and options are checked', () => {
  const d = createMeterHealthDetector()
  const s: Consumption = { subjectId: 's', subjectKind: 'lone_elder', deviceId: 'm', unit: 'kwh', ts: T0, intervalMs: 15 * MIN, amount: 0.1 }
  for (const bad of [{ amount: Number.NaN }, { amount: -1 }, { intervalMs: 0 }, { ts: Number.NaN }, { unit: 'gallons' as 'kwh' }]) assert.equal(d.update({ ...s, ...bad }), null)
  assert.deepEqual([...d.subjects()], [])
  assert.deepEqual(METER_HEALTH_KINDS, [METER_OFFLINE_KIND, METER_STUCK_KIND, METER_FAULT_KIND])
  assert.throws(() => createMeterHealthDetector({ lagFactor: Number.NaN }), RangeError)
})

test('devices read through cursors: a subject\'s several meters, a meter moved to another subject, a restore over a subject and over a meter held by another, each said back', () => {
  const d = createMeterHealthDetector()
  const q = 15 * MIN
  const s = (subjectId: string, deviceId: string, unit: 'kwh' | 'm3', ts: number, amount = 0.1): Consumption =>
    ({ subjectId, subjectKind: 'lone_elder', deviceId, street: 'S1', unit, ts, intervalMs: q, amount })
  for (let t = 1; t <= 8; t++) {
    d.update(s('e1', 'm1', 'kwh', T0 + t * q)); d.update(s('e1', 'w1', 'm3', T0 + t * q, 0)); d.update(s('e2', 'm2', 'kwh', T0 + t * q))
  }
  const ids = (subject: string) => ((d.snapshot(subject) as { devices: Array<{ id: string }> } | undefined)?.devices ?? []).map((x) => x.id)
  assert.deepEqual([ids('e1'), ids('e2')], [['m1', 'w1'], ['m2']])
  const w1 = (d.snapshot('e1') as { devices: Array<Record<string, unknown>> }).devices[1]!
  assert.equal(w1.zeroFrom, T0, 'a zero run\'s start kept (the rare record) and said back')
  // m1 now meters e2: it leaves e1 (w1 stays) and joins e2 as a new meter.
  d.update(s('e2', 'm1', 'kwh', T0 + 9 * q))
  assert.deepEqual([ids('e1'), ids('e2')], [['w1'], ['m2', 'm1']])
  // A restore of e1 naming m2 takes m2 from e2, and replaces e1's own.
  const snap = JSON.parse(JSON.stringify(d.snapshot('e2'))) as { devices: Array<Record<string, unknown>> }
  d.restore('e1', { devices: [{ ...snap.devices[0]!, powered: 65_535, stuck: T0 + 3 * q }] })
  assert.deepEqual([ids('e1'), ids('e2')], [['m2'], ['m1']])
  const back = (d.snapshot('e1') as { devices: Array<Record<string, unknown>> }).devices[0]!
  assert.deepEqual([back.powered, back.stuck, back.offline, back.zeroFrom], [65_535, T0 + 3 * q, -1, -1])
  assert.ok(d.isSuspect('m2'), 'stuck: suspect'); assert.ok(!d.isSuspect('m1')); assert.ok(!d.isSuspect('w1'), 'forgotten')
  assert.deepEqual([...d.subjects()].sort(), ['e1', 'e2'])
  assert.throws(() => d.restore('e3', { devices: [{ ...snap.devices[0]!, powered: 65_536 }] }), /powered/)
})

test('isSuspect sees a device\'s first zero reading at once, after being asked about it before (its rare record made since)', () => {
  const d = createMeterHealthDetector()
  const q = 15 * MIN
  const s = (ts: number, amount: number): Consumption => ({ subjectId: 'e1', subjectKind: 'lone_elder', deviceId: 'm1', street: 'S1', unit: 'kwh', ts, intervalMs: q, amount })
  for (let t = 1; t <= 4 * 24 * 4; t++) { d.update(s(T0 + t * q, 0.1)); assert.equal(d.isSuspect('m1'), false) }
  d.update(s(T0 + (4 * 24 * 4 + 1) * q, 0))
  assert.equal(d.isSuspect('m1'), true, 'exactly zero on a meter that never reads zero')
  d.update(s(T0 + (4 * 24 * 4 + 2) * q, 0.1))
  assert.equal(d.isSuspect('m1'), false, 'counting again')
})
