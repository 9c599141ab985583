import { test } from 'vitest'
import assert from 'node:assert/strict'
import type { Anomaly, Consumption } from '../vocab/index.ts'
import { generateReadings, traitsFor, type Scenario } from '../simulators/index.ts'
import { elderPlan } from '../simulators/plans.ts'
import { step, type RegisterState } from '../ingest/meter.ts'
import { NIGHT_LOAD_KIND, createNightLoadDetector } from '../detectors/night-load.ts'
import type { Detector } from '../detectors/types.ts'
import { createDetectors, createDetectorSet, createInactivityDetector, type DetectorSet } from '../detectors/index.ts'

const MIN = 60_000
const H = 60 * MIN
const DAY = 24 * H
/** Local (UTC+8) midnight of 2026-03-01: the data month is in the past. */
const T0 = Date.UTC(2026, 2, 1) - 8 * H
const at = (day: number, hour: number) => T0 + day * DAY + hour * H

/** A simulated elder's 15-minute consumption over `days`, through ingest's own register step. */
function elder (seed: number, days = 30, scenarios: Scenario[] = []): Consumption[] {
  let reg: RegisterState | undefined
  const out: Consumption[] = []
  for (const r of generateReadings({ subjectKind: 'lone_elder', seed, scenarios }, T0, T0 + days * DAY + 1)) {
    const o = step(reg, `m-${seed}`, { ts: r.ts, value: r.kwh, powerW: r.w })
    reg = o.next
    if (o.step.kind !== 'in_order') continue
    out.push({ subjectId: `elder-${seed}`, subjectKind: 'lone_elder', deviceId: `m-${seed}`, unit: 'kwh', ts: r.ts, intervalMs: o.step.row.intervalMs!, amount: o.step.row.amount ?? 0 })
  }
  return out
}

/** The same samples with an appliance of `w` watts running over [from, until) on top. */
function withLoad (samples: Consumption[], from: number, until: number, w: number): Consumption[] {
  return samples.map((s) => {
    const a = Math.max(from, s.ts - s.intervalMs), b = Math.min(until, s.ts)
    return b > a ? { ...s, amount: s.amount + w * (b - a) / H / 1000 } : s
  })
}

function feed (d: Detector, samples: Iterable<Consumption>, out: Anomaly[] = []): Anomaly[] {
  for (const s of samples) {
    const a = d.update(s)
    if (a !== null) out.push(a)
  }
  return out
}

const phases = (as: Anomaly[]) => as.map((a) => `${a.phase}/${a.severity}`)

let month: Consumption[][] | undefined
/** 40 seeded elders, 30 ordinary days each: generated once, shared by the tests. */
const ordinaryMonth = () => (month ??= Array.from({ length: 40 }, (_, i) => elder(i + 1)))
const ordinary = (seed: number) => ordinaryMonth()[seed - 1]!

/** Day 20's night: a heater switched on at 23:30 and off at 05:00. */
const heater = (seed: number, w = 1500) => withLoad(ordinary(seed), at(20, 23.5), at(20, 29), w)

test('a 1.5 kW heater left on from 23:30 to 05:00 raises within two hours, escalates, and clears when it is switched off', () => {
  const delays: number[] = []
  for (let seed = 1; seed <= 40; seed++) {
    const d = createNightLoadDetector()
    const got: Anomaly[] = []
    let before = 0
    for (const s of heater(seed)) {
      const a = d.update(s)
      if (a !== null) got.push(a)
      if (got.length === 0) before = Math.max(before, d.score!(s.subjectId))
      else if (got.length === 1) assert.ok(d.score!(s.subjectId) >= 1)
    }
    assert.ok(before < 1, `seed ${seed}: score ${before} before the raise`)
    assert.deepEqual(phases(got), ['raise/medium', 'update/high', 'clear/high'], `seed ${seed}`)
    const [raise, high, clear] = got as [Anomaly, Anomaly, Anomaly]
    assert.ok(raise.observedAt > at(20, 23.5) && raise.observedAt <= at(20, 25.5), `seed ${seed}: raised ${(raise.observedAt - at(20, 23.5)) / H} h after the heater went on`)
    assert.ok(raise.startedAt >= at(20, 23) && raise.startedAt <= at(20, 24), `seed ${seed}: began ${new Date(raise.startedAt).toISOString()}`)
    assert.equal(raise.kind, NIGHT_LOAD_KIND)
    assert.ok((raise.evidence.loadW as number) > 1200 && (raise.evidence.loadW as number) < 1800, `load ${raise.evidence.loadW} W`)
    assert.ok(high.observedAt - raise.observedAt >= 2 * H && high.observedAt - raise.observedAt <= 2.5 * H)
    assert.ok(clear.observedAt > at(20, 29) && clear.observedAt <= at(20, 30), `seed ${seed}: cleared ${new Date(clear.observedAt).toISOString()}`)
    delays.push((raise.observedAt - at(20, 23.5)) / H)
  }
  delays.sort((a, b) => a - b)
  console.log(`raised in 40/40 elders, ${delays[0]}-${delays[39]} h after the heater went on (median ${delays[20]} h)`)
})

test('hourly readings of the same night raise and clear too', () => {
  const quarter = heater(4)
  const hourly: Consumption[] = []
  for (let i = 3; i < quarter.length; i += 4) {
    const four = quarter.slice(i - 3, i + 1)
    hourly.push({ ...quarter[i]!, intervalMs: four.reduce((n, s) => n + s.intervalMs, 0), amount: four.reduce((n, s) => n + s.amount, 0) })
  }
  const got = feed(createNightLoadDetector(), hourly)
  assert.deepEqual(phases(got), ['raise/medium', 'update/high', 'clear/high'])
  assert.ok(got[0]!.observedAt <= at(20, 25.5))
})

test('40 elders over 30 ordinary days (night lights, evening TV, baths, timed water heaters) raise nothing', () => {
  let raises = 0, elderDays = 0, top = 0
  for (const samples of ordinaryMonth()) {
    const d = createNightLoadDetector()
    for (const s of samples) {
      const a = d.update(s)
      if (a?.phase === 'raise') raises++
      top = Math.max(top, d.score!(s.subjectId))
    }
    elderDays += 30
  }
  console.log(`false raises per 100 elder-days: ${(100 * raises / elderDays).toFixed(2)} (${raises} in ${elderDays}); highest score ${top.toFixed(2)}`)
  assert.equal(raises, 0)
  assert.ok(top < 0.8, `highest score ${top}`)
})

test('a kettle at 02:00 or going to bed two hours late with the lights and TV on does not raise', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const p = { subjectKind: 'lone_elder' as const, seed }
    const plan = elderPlan(traitsFor(p), Math.floor((at(20, 12) + 8 * H) / DAY))
    const person = plan.people[0]!
    // What this person draws awake in the evening, in the simulator's own terms: lights, evening light, TV.
    const tv = plan.events.find((e) => e.w >= 90 && e.w <= 150 && e.until > person.sleep - 31 * MIN && e.until <= person.sleep)?.w ?? 150
    let s = withLoad(ordinary(seed), person.sleep, person.sleep + 2 * H, person.w + person.eveningW + tv)
    s = withLoad(s, person.sleep + 0.5 * H, person.sleep + 0.6 * H, 1200) // a late snack in the microwave
    s = withLoad(s, at(23, 2), at(23, 2) + 4 * MIN, 2000) // a kettle at 2 am
    s = withLoad(s, at(25, 1), at(25, 1.5), 2000) // a half-hour hot-water bottle's worth of boiling
    assert.deepEqual(feed(createNightLoadDetector(), s), [], `seed ${seed}`)
  }
})

test('someone who runs a heater every night is not alarming: it is their night', () => {
  for (const seed of [2, 9]) {
    let s = ordinary(seed)
    for (let day = 0; day < 30; day++) s = withLoad(s, at(day, 23), at(day, 30), 1000)
    assert.deepEqual(feed(createNightLoadDetector(), s), [], `seed ${seed}`)
  }
})

test('two weeks away without telling anyone do not turn the empty days into night; a heater after coming back still raises', () => {
  const trip: Scenario[] = [{ kind: 'away', from: at(8, 10), until: at(24, 15) }]
  let raises = 0
  for (let seed = 1; seed <= 12; seed++) {
    const samples = elder(seed, 32, trip)
    raises += feed(createNightLoadDetector(), samples).filter((a) => a.phase === 'raise').length
    const got = feed(createNightLoadDetector(), withLoad(samples, at(28, 23.5), at(28, 29), 1500))
    assert.deepEqual(phases(got), ['raise/medium', 'update/high', 'clear/high'], `seed ${seed}`)
  }
  assert.equal(raises, 0)
})

test('a false alarm raises the threshold and mutes the open episode; away does not quiet a heater', () => {
  // A 700 W heater is over the line as configured...
  assert.equal(feed(createNightLoadDetector(), heater(7, 700)).filter((a) => a.phase === 'raise').length, 1)
  // ... and under it after a false alarm; the raised threshold is kept in the snapshot.
  const told = createNightLoadDetector()
  const samples = heater(7, 700)
  feed(told, samples.filter((s) => s.ts <= at(15, 0)))
  told.feedback({ subjectId: 'elder-7', kind: NIGHT_LOAD_KIND, falseAlarm: true })
  told.feedback({ subjectId: 'elder-7', kind: 'inactivity', falseAlarm: true }) // not ours
  assert.equal((told.snapshot('elder-7') as { scale: number }).scale, 1.25)
  assert.deepEqual(feed(told, samples.filter((s) => s.ts > at(15, 0))), [])

  // A false alarm during an episode: no escalation, still the clear.
  const d = createNightLoadDetector()
  const big = heater(7)
  const first = feed(d, big.filter((s) => s.ts <= at(21, 1)))
  assert.deepEqual(phases(first), ['raise/medium'])
  d.feedback({ subjectId: 'elder-7', kind: NIGHT_LOAD_KIND, falseAlarm: true })
  assert.deepEqual(phases(feed(d, big.filter((s) => s.ts > at(21, 1)))), ['clear/medium'])

  const away = createNightLoadDetector()
  feed(away, big.filter((s) => s.ts <= at(20, 12)))
  away.feedback({ subjectId: 'elder-7', awayFrom: at(20, 12), awayUntil: at(22, 12) })
  assert.deepEqual(phases(feed(away, big.filter((s) => s.ts > at(20, 12)))), ['raise/medium', 'update/high', 'clear/high'])
})

test('implausible register jumps are gaps: they neither end nor feed the episode', () => {
  const samples = heater(3).map((s) => s.ts > at(21, 2) && s.ts <= at(21, 3.5) ? { ...s, amount: 0, registerFault: 'implausible' as const } : s)
  assert.deepEqual(phases(feed(createNightLoadDetector(), samples)), ['raise/medium', 'update/high', 'clear/high'])
})

test('snapshot: small, JSON round trip restores an identical detector mid-episode; a bad one is rejected', () => {
  const samples = heater(5)
  for (const cut of [at(20, 23.75), at(21, 0.5), at(21, 3)]) {
    const a = createNightLoadDetector(), b = createNightLoadDetector()
    const before = feed(a, samples.filter((s) => s.ts <= cut))
    const json = JSON.stringify(a.snapshot('elder-5'))
    assert.ok(json.length <= 1024, `snapshot is ${json.length} bytes`)
    b.restore('elder-5', JSON.parse(json))
    assert.deepEqual(b.snapshot('elder-5'), a.snapshot('elder-5'))
    const rest = samples.filter((s) => s.ts > cut)
    for (const s of rest) {
      assert.deepEqual(b.update(s), a.update(s))
      assert.equal(b.score!('elder-5'), a.score!('elder-5'))
    }
    assert.ok(cut < at(21, 0.5) ? before.length === 0 : before[0]?.phase === 'raise')
  }
  const d = createNightLoadDetector()
  feed(d, samples.slice(0, 200))
  const good = d.snapshot('elder-5') as Record<string, unknown>
  assert.throws(() => d.restore('x', { ...good, usual: [1, 2, 3] }), (e: Error) => e instanceof TypeError && /usual/.test(e.message))
  assert.throws(() => d.restore('x', { ...good, scale: 0.5 }), (e: Error) => e instanceof TypeError && /scale/.test(e.message))
  assert.throws(() => d.restore('x', { ...good, ep: { startedAt: 1 } }), (e: Error) => e instanceof TypeError && /ep/.test(e.message))
  assert.throws(() => d.restore('x', 'nonsense'), TypeError)
  assert.deepEqual([...d.subjects()], ['elder-5'])
  // The tables are 16-bit: a usual energy is kept at most 32,767 Wh (an older snapshot's larger one restores as that), a mask holds
  // 15 days and a 1 above them (their count), and no quiet bit is past the days learned.
  d.restore('y', { ...good, usual: (good.usual as number[]).map((u, i) => i === 3 ? 50_000 : u) })
  assert.equal((d.snapshot('y') as { usual: number[] }).usual[3], 32_767)
  assert.throws(() => d.restore('x', { ...good, quiet: new Array(24).fill(2 ** 15) }), (e: Error) => e instanceof TypeError && /quiet/.test(e.message))
  assert.throws(() => d.restore('x', { ...good, days: new Array(24).fill(16) }), (e: Error) => e instanceof TypeError && /days/.test(e.message))
  assert.throws(() => d.restore('x', { ...good, quiet: new Array(24).fill(4), days: new Array(24).fill(2) }), (e: Error) => e instanceof TypeError && /quiet bits past the days/.test(e.message))
  const full = { ...good, quiet: Array.from({ length: 24 }, (_, k) => k % 2 === 0 ? 2 ** 15 - 1 : k), days: Array.from({ length: 24 }, (_, k) => k % 2 === 0 ? 15 : 5), dayLived: 1 }
  d.restore('z', full)
  const back = d.snapshot('z') as { quiet: number[], days: number[], dayLived: number }
  assert.deepEqual([back.quiet, back.days, back.dayLived], [full.quiet, full.days, 1], 'quiet bits, days and the lived flag said back as given')
  assert.throws(() => createNightLoadDetector({ windowDays: 16 }), RangeError)
  assert.doesNotThrow(() => createNightLoadDetector({ windowDays: 15, warmupDays: 7 }))
})

test('rental units, water meters and other subjects are none of its concern', () => {
  const d = createNightLoadDetector()
  for (const s of heater(2)) {
    assert.equal(d.update({ ...s, subjectId: 'flat-1', subjectKind: 'rental_unit' }), null)
    assert.equal(d.update({ ...s, subjectId: 'water-1', unit: 'm3', amount: s.amount / 100 }), null)
  }
  assert.deepEqual([...d.subjects()], [])
  assert.equal(d.score!('flat-1'), 0)
})

/** A working household: out 08:00-18:00 and asleep 23:00-07:00, both at standby; 30-minute readings. */
function workingHome (days: number, extra: (t: number) => number = () => 0): Consumption[] {
  const out: Consumption[] = []
  for (let t = T0 + 30 * MIN; t <= T0 + days * DAY; t += 30 * MIN) {
    const hour = ((t - 30 * MIN - T0) % DAY) / H
    const w = 60 + (hour >= 7 && hour < 8 ? 900 : hour >= 18 && hour < 23 ? 400 : 0) + extra(t)
    out.push({ subjectId: 'flat-1', subjectKind: 'lone_elder', deviceId: 'm-flat-1', unit: 'kwh', ts: t, intervalMs: 30 * MIN, amount: w / 2000 })
  }
  return out
}

test('a working household\'s empty day is at standby too, but a load in it is someone home early, not a heater left on in their sleep', () => {
  const on = (from: number, until: number, w: number) => (t: number) => t > from && t <= until ? w : 0
  // Home early on day 20, a 1.5 kW heater and the oven from 13:00 to 17:00: the clock says day, whatever the meter's habits.
  const afternoon = workingHome(28, on(at(20, 13), at(20, 17), 1500))
  assert.deepEqual(feed(createNightLoadDetector(), afternoon), [])
  // Without the clock's night (any hour may be the usual night), the afternoon raised.
  assert.equal(feed(createNightLoadDetector({ nightFrom: 0, nightUntil: 24 }), afternoon).filter((a) => a.phase === 'raise').length, 1)
  // The same heater left on from 23:30 in the same home still raises.
  const night = feed(createNightLoadDetector(), workingHome(28, on(at(20, 23.5), at(20, 29), 1500)))
  assert.deepEqual(phases(night), ['raise/medium', 'update/high', 'clear/high'])
  assert.throws(() => createNightLoadDetector({ nightFrom: 22.5 }), RangeError)
})

/** The whole detector set, fed like the live system; what each named detector said. */
function feedSet (set: DetectorSet, samples: Iterable<Consumption>, out: Anomaly[] = []): Anomaly[] {
  for (const s of samples) out.push(...set.update(s))
  return out
}
const named = (set: DetectorSet, name: string) => set.detectors.find((d) => d.name === name)!
const said = (as: Anomaly[], kind: string) => as.filter((a) => a.kind === kind)

test('in the detector set, night load and inactivity judge one record of the elder\'s hours: the same hour, kWh exact, each saying what it says alone', () => {
  const samples = heater(7)
  const set = createDetectorSet(createDetectors())
  const night = createNightLoadDetector(), inactivity = createInactivityDetector()
  const cut = at(21, 0.6)
  const got = feedSet(set, samples.filter((s) => s.ts <= cut))
  const nightAlone = feed(night, samples.filter((s) => s.ts <= cut)), inactAlone = feed(inactivity, samples.filter((s) => s.ts <= cut))
  assert.deepEqual(said(got, NIGHT_LOAD_KIND), nightAlone)
  assert.equal(nightAlone[0]?.phase, 'raise')
  assert.deepEqual(said(got, 'inactivity'), inactAlone)
  // One record: night load's hour is inactivity's, to the last bit (it used to add Wh rounded to 0.1 at every reading).
  const n = named(set, NIGHT_LOAD_KIND).snapshot('elder-7') as Record<string, number>
  const i = named(set, 'inactivity').snapshot('elder-7') as Record<string, number>
  assert.deepEqual([n.hour, n.kwh, n.cov, n.last], [i.hour, i.acc, i.cov, i.last])
  assert.ok(n.cov! > 0 && n.cov! < H && n.kwh! > 0)
  assert.deepEqual(named(set, NIGHT_LOAD_KIND).snapshot('elder-7'), night.snapshot('elder-7'))
  // A sample taken by either is in the other's hour: it is one record, spread once.
  const next = samples.find((s) => s.ts > cut)!
  named(set, NIGHT_LOAD_KIND).update(next)
  assert.equal((named(set, 'inactivity').snapshot('elder-7') as Record<string, number>).last, next.ts)
  assert.equal(named(set, 'inactivity').update(next), null, 'the sample is not taken twice')
})

test('a detector alone fed the same sample object twice takes it once', () => {
  const samples = heater(9).filter((s) => s.ts <= at(21, 3))
  for (const make of [createNightLoadDetector, createInactivityDetector]) {
    const once = make(), twice = make()
    const a = feed(once, samples), b: Anomaly[] = []
    for (const s of samples) for (let k = 0; k < 2; k++) { const x = twice.update(s); if (x !== null) b.push(x) }
    assert.deepEqual(b, a)
    assert.deepEqual(twice.snapshot('elder-9'), once.snapshot('elder-9'))
  }
})

test('the set\'s snapshots restore in any order and continue as the original; an older night-load snapshot (its own hour, Wh to 0.1) still restores', () => {
  const samples = heater(11), cut = at(20, 23.75)
  const rest = samples.filter((s) => s.ts > cut)
  for (const reverse of [false, true]) {
    const a = createDetectorSet(createDetectors()), b = createDetectorSet(createDetectors())
    feedSet(a, samples.filter((s) => s.ts <= cut))
    const snaps = a.detectors.map((d) => [d.name, d.snapshot('elder-11')] as const).filter(([, s]) => s !== undefined)
    if (reverse) snaps.reverse()
    for (const [name, snap] of snaps) named(b, name).restore('elder-11', JSON.parse(JSON.stringify(snap)))
    for (const d of a.detectors) assert.deepEqual(named(b, d.name).snapshot('elder-11'), d.snapshot('elder-11'), d.name)
    const x = feedSet(a, rest), y = feedSet(b, rest)
    assert.deepEqual(y, x)
    assert.deepEqual(said(x, NIGHT_LOAD_KIND).map((v) => v.phase), ['raise', 'update', 'clear'])
  }
  // Before the record was shared, night load kept its own hour with Wh rounded to 0.1 at every add.
  const alone = createNightLoadDetector()
  feed(alone, samples.filter((s) => s.ts <= cut))
  const { kwh, ...snap } = alone.snapshot('elder-11') as Record<string, unknown>
  const old = { hour: snap.hour, acc: Math.round((kwh as number) * 10_000) / 10, ...snap }
  const set = createDetectorSet(createDetectors()), again = createNightLoadDetector()
  named(set, NIGHT_LOAD_KIND).restore('elder-11', old)
  again.restore('elder-11', old)
  const got = said(feedSet(set, rest), NIGHT_LOAD_KIND)
  assert.deepEqual(got, feed(again, rest))
  assert.deepEqual(got.map((v) => v.phase), ['raise', 'update', 'clear'])
})
