import { test } from 'vitest'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import type { Anomaly, Consumption, SubjectEvent } from '../vocab/index.ts'
import { createDetectors, createDetectorSet, createInactivityDetector, createRentalDetector, createWaterDetector, type Detector } from '../detectors/index.ts'
import { generateReadings, generateWaterReadings } from '../simulators/index.ts'
import { BUCKETS, COUNT_BYTES, MAX_COUNT, MAX_MEMORY, countOf, deepShare, learnHazard, setCount, stopDeep } from '../detectors/inactivity-expect.ts'
import { State, baseOf, freshState, history, leastOf, quantile, rareRecords, remember, rememberedAs, steadyOf } from '../detectors/inactivity-state.ts'
import { Slab, get10, get6, set10, set6 } from '../detectors/slab.ts'
import { quantileSorted } from 'simple-statistics'

// ---------------------------------------------------------------- a synthetic elder

const H = 3_600_000
const Q = 15 * 60_000
const DAY = 24 * H
/** Local midnight of 2026-03-01 at UTC+8: the data month is in the past. */
const T0 = Date.UTC(2026, 2, 1) - 8 * H
const at = (day: number, hour: number) => T0 + day * DAY + hour * H

function prng (seed: number) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), a | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Elder {
  seed?: number
  days: number
  subjectId?: string
  /** From [day, hour] (until [day, hour], or for good): nobody home, standby only, plus a lamp of lightW. */
  quiet?: { from: [number, number], to?: [number, number], lightW?: number }
  outings?: Array<{ day: number, hour: number, hours: number }>
  /** An unusual night: bed at `bed` on `day`, up at `wake` the next morning. */
  night?: { day: number, bed: number, wake: number }
  /** A water heater that reheats (2 kW, 3 min) every 4 hours, people or not. */
  reheat?: boolean
}

/**
 * 15-minute consumption of an elder living alone: a fridge cycling day and night, and by day a
 * kettle on waking, lunch and dinner cooking, TV most afternoons and evenings, a few small loads,
 * some days a wash or an electric-heater bath. About 2-4 kWh a day.
 */
function elder (o: Elder): Consumption[] {
  const r = prng(o.seed ?? 1)
  const out: Consumption[] = []
  for (let d = 0; d < o.days; d++) {
    const wake = o.night?.day === d - 1 ? o.night.wake : 6.5 + r()
    const bed = o.night?.day === d ? o.night.bed : 21.5 + r()
    const slot = new Array<number>(96).fill(0)
    const home = (h: number) => !o.outings?.some((x) => x.day === d && h >= x.hour && h < x.hour + x.hours)
    const add = (h: number, kwh: number) => {
      if (h >= wake && h < bed && home(h)) slot[Math.floor(h * 4)]! += kwh
    }
    add(wake + 0.1, 0.12 + 0.06 * r())
    add(wake + 0.5, 0.05 + 0.05 * r())
    const lunch = 10.75 + 0.75 * r(), dinner = 17 + 0.75 * r()
    for (let k = 0; k < 3; k++) add(lunch + k / 4, (0.3 + 0.2 * r()) / 3)
    for (let k = 0; k < 3; k++) add(dinner + k / 4, (0.4 + 0.2 * r()) / 3)
    for (const x of o.outings?.filter((x) => x.day === d) ?? []) {
      const back = x.hour + x.hours
      add(back + 0.1, 0.1 + 0.05 * r()) // tea on coming home
      if (!home(lunch) && back < 14) { add(back + 0.25, 0.15); add(back + 0.5, 0.15) }
    }
    const tvAfternoon = r() < 0.6, tvEvening = r() < 0.85
    if (r() < 0.25) for (let k = 0; k < 4; k++) add(9 + k / 4, 0.1)
    if (r() < 0.4) { add(20, 0.5); add(20.25, 0.5) }
    for (let i = 0; i < 96; i++) {
      const h = i / 4
      add(h, (20 + 20 * r()) / 4000)
      if (tvAfternoon && h >= 14 && h < 16) add(h, 0.025)
      if (tvEvening && h >= 19) add(h, 0.025)
      if (h >= 18) add(h, 0.01)
      if (r() < 0.02) add(h, 0.04)
    }
    for (let i = 0; i < 96; i++) {
      const ts = T0 + d * DAY + (i + 1) * Q
      let kwh = slot[i]!
      const q = o.quiet
      if (q && ts > at(...q.from) && (q.to === undefined || ts <= at(...q.to))) kwh = (q.lightW ?? 0) / 4000
      kwh += (15 + 100 * (0.25 + 0.2 * r())) / 4000 // fridge and standby
      if (o.reheat && i % 16 === 5) kwh += 0.1
      out.push({ subjectId: o.subjectId ?? 'elder-1', subjectKind: 'lone_elder', deviceId: 'm-1', unit: 'kwh', ts, intervalMs: Q, amount: Math.round(kwh * 1e5) / 1e5 })
    }
  }
  return out
}

/** Samples, and camera events among them (those with `event`), in order. */
function feed (d: Detector, samples: Iterable<Consumption | SubjectEvent>): Anomaly[] {
  const out: Anomaly[] = []
  for (const s of samples) {
    const a = 'event' in s ? d.event?.(s) ?? null : d.update(s)
    if (a !== null) out.push(a)
  }
  return out
}

const raises = (as: Anomaly[]) => as.filter((a) => a.phase === 'raise')

// ---------------------------------------------------------------- contract: every detector

/**
 * What each detector is given to show it works: a month that must make it speak, and samples
 * that are none of its concern. Every detector createDetectors() lists must have one.
 */
const quietMonth = elder({ seed: 3, days: 28, quiet: { from: [24, 9] } })

function rentalMonth (): Consumption[] {
  const rd = generateReadings({ subjectKind: 'rental_unit', seed: 12, scenarios: [{ kind: 'crowded', from: at(22, 12), occupants: 6 }] }, T0, T0 + 28 * DAY)
  return rd.slice(1).map((r, i) => ({ subjectId: 'flat-1', subjectKind: 'rental_unit', deviceId: 'm-f1', unit: 'kwh', ts: r.ts, intervalMs: r.ts - rd[i]!.ts, amount: Math.round((r.kwh - rd[i]!.kwh) * 1e5) / 1e5 }))
}

function waterMonth (): Consumption[] {
  const rd = generateWaterReadings({ subjectKind: 'lone_elder', seed: 3, scenarios: [{ kind: 'incapacitated', at: at(24, 9) }] }, T0, T0 + 28 * DAY)
  return rd.slice(1).map((r, i) => ({ subjectId: 'elder-1', subjectKind: 'lone_elder', deviceId: 'w-1', unit: 'm3', ts: r.ts, intervalMs: r.ts - rd[i]!.ts, amount: Math.round((r.m3 - rd[i]!.m3) * 1e6) / 1e6 }))
}
const cameraMonth = (): Array<Consumption | SubjectEvent> => {
  const month: Array<Consumption | SubjectEvent> = [...quietMonth]
  const ev = (day: number, hour: number, event: SubjectEvent['event'], confidence?: number): SubjectEvent =>
    ({ subjectId: 'elder-1', subjectKind: 'lone_elder', deviceId: 'cam-1', ts: at(day, hour), event, ...(confidence !== undefined ? { confidence } : {}) })
  // Door openings every day; a fall on day 10 (seen twice), a doubtful one on day 20, a real one on day 26.
  for (let d = 0; d < 28; d++) month.push(ev(d, 9.2, 'door_open'))
  month.push(ev(10, 14, 'fall', 0.9), ev(10, 14.2, 'fall', 0.95), ev(20, 3, 'fall', 0.3), ev(26, 8, 'fall'), ev(26, 8.1, 'smoke', 0.8))
  return month.sort((a, b) => a.ts - b.ts)
}
const FIXTURES: Record<string, { month: Array<Consumption | SubjectEvent>, foreign: Consumption[] }> = {
  // A door camera: a fall seen, a doubtful one ignored, smoke.
  camera: { month: cameraMonth(), foreign: [] },
  inactivity: {
    month: quietMonth,
    foreign: [{ ...quietMonth[0]!, subjectId: 'flat-9', subjectKind: 'rental_unit' }, { ...quietMonth[0]!, subjectId: 'water-9', unit: 'm3' }],
  },
  // Water: the same elder's taps go quiet on day 24 (simulator), m3 per 15 minutes.
  water: { month: waterMonth(), foreign: [quietMonth[0]!] },
  // A 1.5 kW heater left on from 23:30 on day 24 to 05:00.
  night_load: {
    month: elder({ seed: 3, days: 28 }).map((c) => c.ts > at(24, 23.5) && c.ts <= at(24, 29) ? { ...c, amount: c.amount + 1.5 * c.intervalMs / H } : c),
    foreign: [{ ...quietMonth[0]!, subjectId: 'flat-9', subjectKind: 'rental_unit' }, { ...quietMonth[0]!, subjectId: 'water-9', unit: 'm3' }],
  },
  // A flat of two turns into a dormitory of six on day 22.
  rental: { month: rentalMonth(), foreign: [quietMonth[0]!] },
  // The register stops on day 24 while the meter still reports power.
  meter_health: {
    month: elder({ seed: 3, days: 28 }).map((c) => c.ts > at(24, 9) ? { ...c, amount: 0, powerW: 250 } : c),
    foreign: [],
  },
}

test('every detector has a contract fixture', () => {
  for (const d of createDetectors()) assert.ok(FIXTURES[d.name], `no contract fixture for detector "${d.name}"`)
})

for (const name of createDetectors().map((d) => d.name)) {
  const make = () => createDetectors().find((d) => d.name === name)!
  const fx = FIXTURES[name]
  if (!fx) continue
  const month = fx.month
  const subject = month[0]!.subjectId

  test(`${name}: ignores samples that are not its concern, and bad ones`, () => {
    const d = make()
    const base = month.find((m): m is Consumption => !('event' in m))!
    for (const f of fx.foreign) assert.equal(d.update(f), null)
    for (const bad of [{ amount: Number.NaN }, { amount: -1 }, { intervalMs: 0 }, { intervalMs: -Q }, { ts: Number.NaN }]) {
      assert.equal(d.update({ ...base, subjectId: 'bad-1', ...bad }), null)
    }
    const known = [...d.subjects()]
    for (const f of fx.foreign) assert.ok(!known.includes(f.subjectId), `keeps state for ${f.subjectId}`)
    assert.ok(!known.includes('bad-1'), 'keeps state for a subject that only sent bad samples')
  })

  test(`${name}: deterministic, same input gives same output`, () => {
    const a = feed(make(), month), b = feed(make(), month)
    assert.ok(a.length > 0, 'the fixture month must make it speak')
    assert.deepEqual(a, b)
  })

  test(`${name}: snapshot/restore round-trip continues identically; state is small`, () => {
    const cut = Math.floor(month.length * 0.8)
    const a = make()
    feed(a, month.slice(0, cut))
    a.tick?.(month[cut - 1]!.ts)
    const snap = JSON.parse(JSON.stringify(a.snapshot(subject)))
    // Inactivity's is the largest (about 1.65 KB with the graded evidence's 48 counts).
    assert.ok(JSON.stringify(snap).length < 1800, `snapshot is ${JSON.stringify(snap).length} chars`)
    const b = make()
    b.restore(subject, snap)
    assert.deepEqual([...b.subjects()], [subject])
    const rest = month.slice(cut)
    const fromA = feed(a, rest), fromB = feed(b, rest)
    assert.ok(fromA.length > 0)
    assert.deepEqual(fromB, fromA)
    assert.equal(make().snapshot('nobody'), undefined)
    assert.throws(() => make().restore('x', { hello: 'world' }), TypeError)
  })
}

// ---------------------------------------------------------------- inactivity

test('30 ordinary days raise nothing', () => {
  for (const seed of [1, 2, 3, 4, 5]) assert.deepEqual(feed(createInactivityDetector(), elder({ seed, days: 30 })), [], `seed ${seed}`)
})

test('going quiet at 09:00 after 21 days: one raise within hours, escalating, in the data\'s own time', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const as = feed(createInactivityDetector(), elder({ seed, days: 24, quiet: { from: [21, 9] } }))
    const quietAt = at(21, 9)
    assert.equal(raises(as).length, 1, `seed ${seed}`)
    const raise = as[0]!
    assert.equal(raise.phase, 'raise')
    assert.equal(raise.kind, 'inactivity')
    assert.equal(raise.severity, 'medium')
    assert.ok(Math.abs(raise.startedAt - quietAt) <= 2 * H, `startedAt ${(raise.startedAt - quietAt) / H} h from 09:00`)
    assert.ok(raise.observedAt > quietAt && raise.observedAt <= quietAt + 8 * H, `observed ${(raise.observedAt - quietAt) / H} h after`)
    assert.ok(typeof raise.evidence.usualKwh === 'number' && typeof raise.evidence.actualKwh === 'number')
    assert.deepEqual(as.slice(1).map((a) => `${a.phase}:${a.severity}`), ['update:high', 'update:critical'])
    assert.ok(as.every((a) => a.startedAt === raise.startedAt))
  }
})

test('a simulated elder whose fridge keeps the quiet hours above her quietest nights: going quiet at 09:00 on day 24 raises the same day', () => {
  // The simulator's incapacitation leaves the fridge cycling, so most of the stopped hours are a little above the
  // home's deepest nights: counter-evidence of 1 an hour held the graded evidence at zero and nothing was raised for
  // six days (test/e2e.test.ts replays the same home through MQTT).
  const quietAt = at(24, 9)
  const rd = generateReadings({ subjectKind: 'lone_elder', seed: 33, scenarios: [{ kind: 'incapacitated', at: quietAt }] }, T0, T0 + 30 * DAY)
  const samples: Consumption[] = rd.slice(1).map((x, i) => ({ subjectId: 'elder-33', subjectKind: 'lone_elder', deviceId: 'm-33', unit: 'kwh', ts: x.ts, intervalMs: x.ts - rd[i]!.ts, amount: Math.round((x.kwh - rd[i]!.kwh) * 1e5) / 1e5 }))
  const up = raises(feed(createInactivityDetector({ utcOffsetHours: 8 }), samples))
  assert.equal(up.length, 1)
  assert.ok(up[0]!.observedAt > quietAt && up[0]!.observedAt - quietAt <= 12 * H, `raised ${(up[0]!.observedAt - quietAt) / H} h after`)
})

test('a silence three times past this person\'s runs bar is raised even when the evidence never says so', () => {
  // A model that cannot make up its mind (here: evidence required far beyond reach) must not leave days of silence unreported.
  const month = elder({ seed: 4, days: 27, quiet: { from: [21, 9] } })
  const deaf = { runsMinEvidence: 1e6, expectEvidence: 1e6, missedRoutine: false }
  assert.deepEqual(raises(feed(createInactivityDetector({ ...deaf, backstopRuns: 0 }), month)), [], 'without the backstop nothing is raised')
  const up = raises(feed(createInactivityDetector(deaf), month))
  assert.equal(up.length, 1)
  const ev = up[0]!.evidence as { quietHours: number, raiseAtQuietHours: number }
  assert.ok(ev.quietHours >= 3 * ev.raiseAtQuietHours && ev.quietHours < 3 * ev.raiseAtQuietHours + 1.5, JSON.stringify(ev))
})

test('told false, a silence that goes on is raised again, from the moment of the answer', () => {
  // The family said she was fine; the meter has not moved since: whoever answered saw her then, not now.
  const month = elder({ seed: 4, days: 26, quiet: { from: [21, 9] } })
  const run = (rearmRuns?: number, every = false) => {
    const d = createInactivityDetector(rearmRuns === undefined ? {} : { rearmRuns })
    const out: Anomaly[] = []
    let answeredAt = -1
    for (const c of month) {
      const a = d.update(c)
      if (a === null) continue
      out.push(a)
      if (a.phase === 'raise' && (answeredAt < 0 || every)) { if (answeredAt < 0) answeredAt = c.ts; d.feedback({ subjectId: 'elder-1', falseAlarm: true, kind: 'inactivity' }) }
    }
    return { ups: raises(out), answeredAt }
  }
  const { ups, answeredAt } = run()
  assert.equal(ups.length, 2, JSON.stringify(ups.map((a) => [a.phase, new Date(a.startedAt).toISOString()])))
  assert.equal(ups[1]!.startedAt, answeredAt, 'the new episode starts at the answer')
  // Raised once the quiet since the answer is worth this person's runs bar (an hour adds at most one quiet hour).
  const gapH = (ups[1]!.observedAt - answeredAt) / H, bar = ups[1]!.evidence.raiseAtQuietHours as number
  assert.ok(gapH >= bar && gapH <= 2 * bar, `raised again ${gapH} h after the answer, runs bar ${bar} quiet hours`)
  assert.equal(ups[1]!.evidence.quietSinceFalseAlarm, new Date(answeredAt).toISOString())
  assert.equal(run(0).ups.length, 1, 'without the re-arm the answer mutes the silence for good')
  assert.equal(run(undefined, true).ups.length, 2, 'told false again, the same silence is not raised a third time')
})

test('a lamp left on delays the raise but does not hide it', () => {
  const as = feed(createInactivityDetector(), elder({ seed: 2, days: 24, quiet: { from: [21, 9], lightW: 60 } }))
  assert.equal(raises(as).length, 1)
  assert.ok(as[0]!.observedAt - at(21, 9) <= 24 * H)
})

test('once its hazards are learned, a quiet run raises on this home\'s expected activity: a night adds almost nothing, missed meals and evenings do', () => {
  for (const seed of [1, 2, 3]) {
    const d = createInactivityDetector()
    const out: Anomaly[] = []
    let night = 0, beforeMeals = 0
    for (const c of elder({ seed, days: 45, quiet: { from: [42, 9] } })) {
      const a = d.update(c)
      if (a !== null) out.push(a)
      // Hours the person sleeps through: activity never comes back then, so silence there is no evidence.
      if (c.ts > at(40, 23) && c.ts <= at(41, 5)) night = Math.max(night, d.score!('elder-1'))
      if (c.ts === at(42, 10.5)) beforeMeals = d.score!('elder-1')
    }
    assert.ok(night < 0.2, `seed ${seed}: a night reached ${night} of the bar`)
    assert.ok(beforeMeals > 0 && beforeMeals < 0.5, `seed ${seed}: 09:00 .. 10:30, ${beforeMeals} of the bar`)
    const raise = raises(out).find((a) => a.observedAt > at(42, 9))
    assert.ok(raise, `seed ${seed}: raised`)
    // Graded evidence: hours at standby when this person is nearly always above it (lunch, the
    // afternoon, dinner) weigh heavily, so the silence raises the same evening (hour by hour,
    // quiet or not, it waited for the next morning: 22-23 h).
    assert.ok(raise.observedAt <= at(42, 9) + 13 * H, `seed ${seed}: raised ${(raise.observedAt - at(42, 9)) / H} h after 09:00`)
    assert.equal(raise.evidence.raiseAtEvidence, 7)
    assert.ok((raise.evidence.expectedEvidence as number) >= 7, `evidence ${raise.evidence.expectedEvidence}`)
    // As the silence goes on through hours this person is nearly always up in, the evidence grows
    // and so does the confidence: an update says `high` (dispatch sends a worker) by the next morning.
    const high = out.find((a) => a.phase === 'update' && a.confidence === 'high')
    assert.ok(high && high.observedAt <= at(43, 9), `seed ${seed}: ${out.map((a) => `${a.phase}:${a.severity}:${a.confidence}`).join(' ')}`)
    assert.ok((high.evidence.expectedEvidence as number) >= 1.5 * 7)
  }
})

test('once its hazards are learned, a lamp left on is no sign of life: the evidence of a silence with a lamp on grows as without', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const as = feed(createInactivityDetector(), elder({ seed, days: 45, quiet: { from: [42, 9], lightW: 60 } }))
    const raise = raises(as).find((a) => a.observedAt > at(42, 9))
    // A lamp held on through the silence counted as a sign of life each hour it sat above standby: 15-16 h.
    assert.ok(raise && raise.observedAt - at(42, 9) <= 13 * H, `seed ${seed}: ${raise ? (raise.observedAt - at(42, 9)) / H : 'no'} h`)
    assert.equal(raise.detector, 'flat_residue')
  }
})

test('a water heater reheating every 4 hours is not taken for activity', () => {
  assert.deepEqual(feed(createInactivityDetector(), elder({ seed: 6, days: 30, reheat: true })), [])
  const as = feed(createInactivityDetector(), elder({ seed: 6, days: 24, reheat: true, quiet: { from: [21, 9] } }))
  assert.equal(raises(as).length, 1)
  assert.ok(as[0]!.observedAt - at(21, 9) <= 10 * H)
})

test('half-day outings and a long night raise nothing', () => {
  for (const seed of [1, 2, 3]) {
    for (const [hour, hours] of [[9, 4], [14, 4], [8, 5], [13.5, 5], [10, 2]] as const) {
      const as = feed(createInactivityDetector(), elder({ seed, days: 24, outings: [{ day: 22, hour, hours }] }))
      assert.deepEqual(raises(as), [], `seed ${seed} outing ${hour}+${hours}`)
    }
    const night = feed(createInactivityDetector(), elder({ seed, days: 24, night: { day: 21, bed: 20.5, wake: 8.5 } }))
    assert.deepEqual(raises(night), [], `seed ${seed} night`)
  }
})

test('activity coming back clears the episode', () => {
  // Back (or up again) before the next morning's kettle: that clears it.
  const as = feed(createInactivityDetector(), elder({ seed: 1, days: 24, quiet: { from: [21, 9], to: [22, 6] } }))
  assert.deepEqual(as.map((a) => a.phase), ['raise', 'update', 'update', 'clear'])
  const clear = as.at(-1)!
  assert.equal(clear.evidence.reason, 'activity')
  assert.ok(clear.observedAt > at(22, 6.5) && clear.observedAt <= at(22, 8), `cleared at ${(clear.observedAt - at(22, 0)) / H} h`)
})

test('feedback awayUntil: no raise while away, and an open episode is cleared', () => {
  const away = elder({ seed: 4, days: 25, quiet: { from: [21, 9], to: [23, 17] } })
  const d = createInactivityDetector()
  d.feedback({ subjectId: 'elder-1', awayUntil: at(23, 18) })
  assert.deepEqual(feed(d, away), [])

  const e = createInactivityDetector()
  const before = away.filter((s) => s.ts <= at(21, 20))
  assert.equal(raises(feed(e, before)).length, 1)
  e.feedback({ subjectId: 'elder-1', awayUntil: at(23, 18) })
  const after = feed(e, away.filter((s) => s.ts > at(21, 20)))
  assert.equal(after.length, 1)
  assert.equal(after[0]!.phase, 'clear')
  assert.equal(after[0]!.evidence.reason, 'away')
  assert.equal(after[0]!.observedAt, at(21, 20) + Q)
})

test('an absence declared ahead quiets its own window only, for electricity and water alike', () => {
  const trip = { subjectId: 'elder-1', awayFrom: at(25, 8), awayUntil: at(27, 20) }
  // Declared on day 10 for days 25-27: a fall on day 22 still raises; the trip itself does not.
  const fall = elder({ seed: 4, days: 24, quiet: { from: [21, 9] } })
  const d = createInactivityDetector()
  feed(d, fall.filter((s) => s.ts <= at(10, 0)))
  d.feedback(trip)
  assert.equal(raises(feed(d, fall.filter((s) => s.ts > at(10, 0)))).length, 1)
  const away = elder({ seed: 4, days: 29, quiet: { from: [25, 8], to: [27, 20] } })
  const e = createInactivityDetector()
  e.feedback(trip)
  assert.deepEqual(raises(feed(e, away)), [])

  const water = waterMonth() // taps quiet from day 24 09:00
  const w1 = createDetectors().find((x) => x.name === 'water')!
  w1.feedback({ subjectId: 'elder-1', awayFrom: at(26, 0), awayUntil: at(27, 0) })
  assert.ok(raises(feed(w1, water)).some((a) => a.observedAt > at(24, 9) && a.observedAt < at(26, 0)), 'water raises before the trip')
  const w2 = createDetectors().find((x) => x.name === 'water')!
  w2.feedback({ subjectId: 'elder-1', awayFrom: at(24, 8), awayUntil: at(28, 0) })
  assert.deepEqual(raises(feed(w2, water)), [], 'and not during it')
})

test('feedback falseAlarm mutes the open episode and makes the subject less sensitive', () => {
  const quiet = elder({ seed: 1, days: 24, quiet: { from: [21, 9], to: [22, 6] } })
  const d = createInactivityDetector()
  const first = feed(d, quiet.filter((s) => s.ts <= at(21, 16)))
  assert.deepEqual(first.map((a) => a.phase), ['raise'])
  d.feedback({ subjectId: 'elder-1', falseAlarm: true, kind: 'inactivity' })
  assert.deepEqual(feed(d, quiet.filter((s) => s.ts > at(21, 16))).map((a) => a.phase), ['clear'])
  d.feedback({ subjectId: 'elder-1', falseAlarm: true, kind: 'fire' }) // another kind: ignored
  assert.equal((d.snapshot('elder-1') as { sens: number }).sens, 0.75)

  const plain = createInactivityDetector(), told = createInactivityDetector()
  told.feedback({ subjectId: 'elder-1', falseAlarm: true })
  const month = elder({ seed: 5, days: 24, quiet: { from: [21, 9] } })
  const [p, t] = [raises(feed(plain, month))[0]!, raises(feed(told, month))[0]!]
  assert.ok(t.observedAt > p.observedAt, 'a false alarm delays the next raise')
})

test('meter gaps: a sample covering hours is spread, and missing hours are not zeros', () => {
  const month = elder({ seed: 2, days: 24 })
  const from = at(22, 9), to = at(22, 15)
  const inside = month.filter((s) => s.ts > from && s.ts <= to)
  const spread = month.filter((s) => s.ts <= from || s.ts > to)
  spread.splice(spread.findIndex((s) => s.ts > to), 0, { ...inside.at(-1)!, intervalMs: to - from, amount: inside.reduce((x, s) => x + s.amount, 0) })
  assert.deepEqual(feed(createInactivityDetector(), spread), [])
  const holed = month.filter((s) => s.ts <= from || s.ts > to)
  assert.deepEqual(feed(createInactivityDetector(), holed), [])

  // Offline from 09:00 to 17:00, then one reading: nothing but standby used meanwhile.
  const quiet = elder({ seed: 2, days: 24, quiet: { from: [21, 9] } })
  const covered = quiet.filter((s) => s.ts > at(21, 9) && s.ts <= at(21, 17))
  const late = quiet.filter((s) => s.ts <= at(21, 9) || s.ts > at(21, 17))
  late.splice(late.findIndex((s) => s.ts > at(21, 17)), 0, { ...covered.at(-1)!, intervalMs: 8 * H, amount: covered.reduce((x, s) => x + s.amount, 0) })
  const first = feed(createInactivityDetector(), late)[0]
  assert.equal(first?.phase, 'raise')
  assert.equal(first.observedAt, at(21, 17))
})

test('replay: the same month gives the same anomalies, whatever else is interleaved', () => {
  const month = elder({ seed: 3, days: 26, quiet: { from: [22, 9] } })
  const other = elder({ seed: 9, days: 26, subjectId: 'elder-2' })
  const alone = feed(createInactivityDetector(), month)
  const mixed = feed(createInactivityDetector(), month.flatMap((s, i) => [s, other[i]!])).filter((a) => a.subjectId === 'elder-1')
  assert.ok(alone.length > 0)
  assert.deepEqual(mixed, alone)
  assert.ok(alone.every((a) => a.observedAt >= at(22, 9) && a.observedAt < at(26, 0)))
})

test('detector set fans samples and feedback out to every detector', () => {
  const set = createDetectorSet(createDetectors({ utcOffsetHours: 8 }))
  assert.ok(set.detectors.length >= 1)
  set.feedback({ subjectId: 'elder-1', awayUntil: at(30, 0) })
  const all = elder({ seed: 1, days: 24, quiet: { from: [21, 9] } }).flatMap((s) => set.update(s))
  assert.deepEqual(all, [])
  const again = createDetectorSet(createDetectors())
  assert.equal(elder({ seed: 1, days: 24, quiet: { from: [21, 9] } }).flatMap((s) => again.update(s)).filter((a) => a.phase === 'raise').length, 1)
})

// ---------------------------------------------------------------- real data: HUE house 1

const HUE = '/work/shared/data/households/hue/Residential_1.csv'

test.skipIf(!existsSync(HUE))('backtest on HUE house 1 (hourly, real): the zero stretches raise', () => {
  const d = createInactivityDetector({ utcOffsetHours: 0 })
  const out: Anomaly[] = []
  for (const line of readFileSync(HUE, 'utf8').trim().split('\n').slice(1)) {
    const [date, hour, kwh] = line.split(',')
    const [m, day, y] = date!.split('/').map(Number)
    const ts = Date.UTC(y!, m! - 1, day!, Number(hour)) + H
    const a = d.update({ subjectId: 'hue-1', subjectKind: 'lone_elder', deviceId: 'hue-1', unit: 'kwh', ts, intervalMs: H, amount: Number(kwh) })
    if (a !== null) out.push(a)
  }
  // The 7-hour evening stretch (2014-02-07 17:00 .. 24:00) no longer raises: once this home's
  // hazards are learned, seven quiet evening hours in a family home that is often out in the
  // evening are not yet evidence enough (the runs bar raised at 5.5 quiet hours, with 3-4 false
  // alerts per 100 home-days on the real homes to match).
  const stretches = [['2013-11-07T18:00Z', '2013-11-08T11:00Z'], ['2015-08-29T14:00Z', '2015-08-30T20:00Z']]
  for (const [from, to] of stretches) {
    const hit = raises(out).find((a) => a.observedAt >= Date.parse(from!) && a.observedAt <= Date.parse(to!))
    assert.ok(hit, `no raise during ${from} .. ${to}`)
    console.log(`zero stretch from ${from}: raised ${(hit.observedAt - Date.parse(from!)) / H} h in`)
  }
  const total = raises(out).length
  console.log(`HUE house 1, 2012-06 .. 2015-10 (a family home): ${total} raises`)
  assert.ok(total < 150, `${total} raises`) // 97 with the learned run limits, missed routine (weekends apart) and lit nights (55 before them): see issue 4's note
})

test('a door that stayed shut since the silence began: no outing to wait out, so it raises sooner', () => {
  const month = elder({ seed: 2, days: 30, quiet: { from: [27, 10] } })
  const door = (day: number, hour: number): SubjectEvent => ({ subjectId: 'elder-1', subjectKind: 'lone_elder', deviceId: 'cam-1', ts: at(day, hour), event: 'door_open' })
  const withDoor = (opened: number[]) => [...month, ...Array.from({ length: 27 }, (_, d) => door(d, 9.2)), ...opened.map((h) => door(27, h))].sort((a, b) => a.ts - b.ts)
  const first = (xs: Anomaly[]) => raises(xs).find((a) => a.observedAt > at(27, 10))?.observedAt ?? Infinity
  const make = () => createInactivityDetector()
  const none = first(feed(make(), month))
  const shut = first(feed(make(), withDoor([8])))
  const out = first(feed(make(), withDoor([10.1])))
  assert.ok(Number.isFinite(none))
  assert.ok(shut < none, `door shut: ${(shut - at(27, 10)) / H} h, no sensor: ${(none - at(27, 10)) / H} h`)
  assert.equal(out, none, 'the door opened as the silence began: an outing, judged as without a sensor')
})

test('once its hazards are learned, a door shut since the silence began halves the expected-activity bar', () => {
  const month = elder({ seed: 2, days: 45, quiet: { from: [42, 10] } })
  const door = (day: number, hour: number): SubjectEvent => ({ subjectId: 'elder-1', subjectKind: 'lone_elder', deviceId: 'cam-1', ts: at(day, hour), event: 'door_open' })
  const withDoor = (opened: number[]) => [...month, ...Array.from({ length: 42 }, (_, d) => door(d, 9.2)), ...opened.map((h) => door(42, h))].sort((a, b) => a.ts - b.ts)
  const first = (xs: Anomaly[]) => raises(xs).find((a) => a.observedAt > at(42, 10))
  const none = first(feed(createInactivityDetector(), month)), shut = first(feed(createInactivityDetector(), withDoor([5])))
  const out = first(feed(createInactivityDetector(), withDoor([10.1])))
  assert.ok(none && shut && out)
  assert.equal(none.evidence.raiseAtEvidence, 7)
  assert.equal(shut.evidence.raiseAtEvidence, 3.5)
  assert.ok(shut.observedAt < none.observedAt, `door shut: ${(shut.observedAt - at(42, 10)) / H} h, no sensor: ${(none.observedAt - at(42, 10)) / H} h`)
  assert.equal(shut.confidence, 'high')
  assert.equal(out.observedAt, none.observedAt, 'the door opened as the silence began: an outing, judged as without a sensor')
})

test('an elder with a door sensor who falls at home is raised within a few hours: the meter at its standby floor with the door shut', () => {
  const door = (day: number, hour: number): SubjectEvent => ({ subjectId: 'elder-1', subjectKind: 'lone_elder', deviceId: 'cam-1', ts: at(day, hour), event: 'door_open' })
  // The post fetched every morning: the door opens, the person stays in. Early (day 27, the runs bar) and late (day 42, the expected activity).
  for (const [day, hour] of [[27, 13.4], [42, 14.6]] as const) {
    const days = elder({ seed: 2, days: day + 2, quiet: { from: [day, hour] } })
    const withDoor = [...days, ...Array.from({ length: day + 1 }, (_, d) => door(d, 9.2))].sort((a, b) => a.ts - b.ts)
    const first = (xs: Anomaly[]) => raises(xs).find((a) => a.observedAt > at(day, hour))
    const shut = first(feed(createInactivityDetector(), withDoor)), none = first(feed(createInactivityDetector(), days))
    assert.ok(shut && none)
    const h = (a: Anomaly) => (a.observedAt - at(day, hour)) / H
    assert.ok(h(shut) <= 3, `day ${day}: door shut, raised ${h(shut)} h after the fall`)
    assert.ok(h(none) >= h(shut) + 2, `day ${day}: without a sensor ${h(none)} h, with ${h(shut)} h`)
    assert.equal(shut.evidence.doorShutSinceQuiet, true)
    assert.equal(shut.confidence, 'high')
    // The same afternoon with the door opened as the silence began is an outing, judged as without a sensor.
    const out = first(feed(createInactivityDetector(), [...withDoor, door(day, hour + 0.05)].sort((a, b) => a.ts - b.ts)))
    assert.equal(out?.observedAt, none.observedAt)
  }
})

test('a door shut through an early night and a lie-in is held, past midnight, to this person\'s own lie-ins', () => {
  const door = (day: number, hour: number): SubjectEvent => ({ subjectId: 'elder-1', subjectKind: 'lone_elder', deviceId: 'cam-1', ts: at(day, hour), event: 'door_open' })
  const days = elder({ seed: 2, days: 42, night: { day: 40, bed: 20.9, wake: 9.4 } })
  const withDoor = [...days, ...Array.from({ length: 42 }, (_, d) => door(d, 9.2))].sort((a, b) => a.ts - b.ts)
  const night = raises(feed(createInactivityDetector(), withDoor)).filter((a) => a.observedAt > at(40, 18) && a.observedAt < at(41, 9))
  // By the door's standby hours (a late morning may still be missed: that rule has its own bar).
  const byDoor = night.filter((a) => (a.evidence.standbyHours as number) >= (a.evidence.raiseAtStandbyHours as number))
  assert.deepEqual(byDoor.map((a) => [(a.observedAt - at(40, 0)) / H, a.evidence.standbyHours, a.evidence.raiseAtStandbyHours]), [])
})

test('a lamp switched on in the night with the door shut, nothing else changing for three hours, raises: the person got up and did not go back to bed', () => {
  const door = (day: number, hour: number): SubjectEvent => ({ subjectId: 'elder-1', subjectKind: 'lone_elder', deviceId: 'cam-1', ts: at(day, hour), event: 'door_open' })
  // Up at 01:10 on day 42, a 100 W lamp switched on, then a fall: standby and the lamp from then on.
  const days = elder({ seed: 2, days: 44, quiet: { from: [42, 1.17], lightW: 100 } })
  const daily = Array.from({ length: 43 }, (_, d) => door(d, 9.2))
  const first = (xs: Anomaly[]) => raises(xs).find((a) => a.observedAt > at(42, 1))
  const shut = first(feed(createInactivityDetector(), [...days, ...daily].sort((a, b) => a.ts - b.ts)))
  const none = first(feed(createInactivityDetector(), days))
  assert.ok(shut && none)
  const h = (a: Anomaly) => (a.observedAt - at(42, 1.17)) / H
  assert.ok(h(shut) <= 4, `door shut: raised ${h(shut)} h after the lamp came on`)
  assert.equal(shut.evidence.litNightDoorShutHours, 3)
  assert.equal(shut.detector, 'flat_residue')
  assert.ok(h(none) > h(shut), `without a sensor ${h(none)} h, with ${h(shut)} h`)
  // Someone came home at 01:05 and left the lamp on: the door says so, and the rule does not raise on it.
  const home = first(feed(createInactivityDetector(), [...days, ...daily, door(42, 1.08)].sort((a, b) => a.ts - b.ts)))
  assert.ok(home === undefined || home.evidence.litNightDoorShutHours === undefined)
})

test('camera: a fall after the last one was resolved pages again; before that it is the same episode', () => {
  const cam = createDetectors().find((d) => d.name === 'camera')!
  const fall = (hour: number): SubjectEvent => ({ subjectId: 'elder-1', subjectKind: 'lone_elder', deviceId: 'cam-1', ts: at(1, hour), event: 'fall' })
  assert.equal(cam.event!(fall(8))?.phase, 'raise')
  assert.equal(cam.event!(fall(9)), null, 'seen again: the same fall')
  cam.feedback({ subjectId: 'elder-1', kind: 'fall', falseAlarm: false })
  assert.equal(cam.event!(fall(14))?.phase, 'raise', 'resolved, then a new fall')
})

test('inactivity: before its first learned hour a subject has no usual or active Wh (0), so any use in the morning is its waking', () => {
  // Two 15-minute samples of 10 Wh from 05:00 local, on a fresh subject: the old tree (usualWh and
  // activeWh fields, 0 until the first learned hour) took them as the morning's first activity.
  const d = createInactivityDetector()
  const day = T0 + 40 * DAY
  for (const k of [1, 2]) d.update({ subjectId: 'e1', subjectKind: 'lone_elder', deviceId: 'm1', street: 'S1', unit: 'kwh', ts: day + 5 * H + k * Q, intervalMs: Q, amount: 0.01 })
  const s = d.snapshot('e1') as { wakeDay: number, n: number }
  assert.equal(s.n, 0)
  assert.equal(s.wakeDay, Math.floor((day + 8 * H) / DAY))
})

test('inactivity: a snapshot from the first release (before learned runs, mornings and doors) still restores', () => {
  const first = { hour: 100, acc: 0, cov: 0, fill: 0, last: 360_000_000, n: 200, hist: new Array(168).fill(50), floor: 40, runStart: -1, runScore: 0, runHours: 0, runUsual: 0, runActual: 0, runRecent: [-1, -1], sens: 0.75, awayUntil: 0, ep: null }
  const d = createInactivityDetector()
  d.restore('elder-1', first)
  const now = d.snapshot('elder-1') as { sens: number, n: number, lim: number[], wake: number[] }
  assert.equal(now.sens, 0.75, 'what was learned is kept')
  assert.equal(now.n, 200)
  assert.deepEqual(now.lim, new Array(24).fill(-1), 'what is new starts unknown')
  assert.deepEqual(now.wake, [0, 0, 0, 0, 0, 0])
})

test('inactivity: a snapshot whose ten-thousandths fields are past 32 bits is refused, not clamped', () => {
  const first = { hour: 100, acc: 0, cov: 0, fill: 0, last: 360_000_000, n: 200, hist: new Array(168).fill(50), floor: 40, runStart: -1, runScore: 0, runHours: 0, runUsual: 0, runActual: 0, runRecent: [-1, -1], sens: 0.75, awayUntil: 0, ep: null }
  const d = createInactivityDetector()
  d.restore('elder-1', { ...first, runScore: 214_748, runLlr: 214_748, limIn: 214_748, litLearned: 214_748 })
  assert.equal((d.snapshot('elder-1') as { runScore: number }).runScore, 214_748, 'the most 32-bit ten-thousandths hold, kept')
  for (const field of ['runScore', 'runLlr', 'limIn', 'litLearned']) {
    assert.throws(() => d.restore('elder-2', { ...first, [field]: 214_749 }), TypeError, field)
  }
  assert.equal(d.snapshot('elder-2'), undefined, 'nothing restored')
})

test('inactivity state: an hour over 32.3 kWh is remembered as 32,256 Wh, never wrapped; a restored state snapshots byte for byte as the original', () => {
  // 10 kWh a quarter for an hour (a 40 kW hour): past what an hour is kept as.
  const month = elder({ seed: 4, days: 10 }).map((c) => c.ts > at(8, 10) && c.ts <= at(8, 11) ? { ...c, amount: 10 } : c)
  const d = createInactivityDetector()
  feed(d, month)
  const snap = d.snapshot('elder-1') as { hist: number[], hzTry: number[], hzEnd: number[], hzDeep: number[] }
  assert.equal(Math.max(...snap.hist), 32_256)
  assert.ok(snap.hist.every((wh) => wh >= -1 && Number.isInteger(wh)), 'whole Wh, -1 empty')
  assert.ok([...snap.hzTry, ...snap.hzEnd, ...snap.hzDeep].every((x) => Math.round(x * 10) === x * 10), 'faded counts in tenths, said as decimals')
  const b = createInactivityDetector()
  b.restore('elder-1', JSON.parse(JSON.stringify(snap)))
  assert.equal(JSON.stringify(b.snapshot('elder-1')), JSON.stringify(snap))
  assert.throws(() => createInactivityDetector({ expectMemory: 98 }), RangeError, 'faded counts are 10-bit tenths')
  assert.doesNotThrow(() => createInactivityDetector({ expectMemory: 97 }))
})

test('inactivity: sens and sensWake share one 32-bit number, so falseAlarmFactor and minSensitivity are refused past 1 and a setter cannot spill into the other', () => {
  assert.throws(() => createInactivityDetector({ falseAlarmFactor: 1.5 }), /falseAlarmFactor must be in \(0, 1\]/)
  assert.throws(() => createInactivityDetector({ falseAlarmFactor: 0 }), RangeError)
  assert.throws(() => createInactivityDetector({ minSensitivity: 1.5 }), /minSensitivity must be in \[0.0001, 1\]/)
  assert.throws(() => createInactivityDetector({ minSensitivity: 0 }), RangeError)
  assert.doesNotThrow(() => createInactivityDetector({ falseAlarmFactor: 1, minSensitivity: 1 }))
  assert.doesNotThrow(() => createInactivityDetector({ falseAlarmFactor: 0.01, minSensitivity: 0.0001 }))
  // The rental and water detectors take the same two options with the same meaning: a false alarm lowers the sensitivity.
  for (const make of [createRentalDetector, createWaterDetector]) {
    assert.throws(() => make({ falseAlarmFactor: 1.25 }), /falseAlarmFactor must be in \(0, 1\]/)
    assert.throws(() => make({ minSensitivity: 2 }), /minSensitivity must be in \[0.0001, 1\]/)
    assert.doesNotThrow(() => make({ falseAlarmFactor: 1, minSensitivity: 0.4 }))
  }
  const slab = new Slab()
  const s = new State({ eps: new Map(), doors: new Map(), rare: rareRecords(), groups: [], cfg: {} as never }, slab)
  freshState(s, 0, slab.place(40).loc)
  s.sens = 0.4219; s.sensWake = 7
  assert.deepEqual([s.sens, s.sensWake], [0.4219, 6.5535])
  s.sens = 7; s.sensWake = 0.75
  assert.deepEqual([s.sens, s.sensWake], [6.5535, 0.75])
})

test('inactivity: the runs\' bars are kept in thousandths, so a limitDecayPerDay that is not 0 or whole thousandths is refused', () => {
  assert.throws(() => createInactivityDetector({ limitDecayPerDay: 0.0004 }), /limitDecayPerDay must be 0 or a whole number of thousandths/)
  assert.throws(() => createInactivityDetector({ limitDecayPerDay: 0.0125 }), RangeError)
  assert.throws(() => createInactivityDetector({ limitDecayPerDay: -0.02 }), RangeError)
  for (const ok of [0, 0.001, 0.007, 0.017, 0.02, 0.1, 1.5]) assert.doesNotThrow(() => createInactivityDetector({ limitDecayPerDay: ok }), `${ok}`)
})

test('inactivity: an hour is remembered in 10 bits, exact below 256 Wh, within 0.4 % up to 8,192 and 0.8 % above, at most 32,256', () => {
  for (let wh = 0; wh < 256; wh++) assert.equal(rememberedAs(wh), wh)
  let before = 255
  for (let wh = 256; wh <= 40_000; wh++) {
    const kept = rememberedAs(wh), cap = Math.min(wh, 32_256)
    assert.ok(Math.abs(kept - cap) <= (wh < 8192 ? 0.004 : 0.008) * cap, `${wh}: ${kept}`)
    assert.ok(kept >= before, `never less for more: ${wh}`)
    assert.equal(rememberedAs(kept), kept, `a kept value is kept as itself: ${wh}`)
    before = kept
  }
  assert.equal(rememberedAs(-1), -1)
  assert.equal(rememberedAs(40_000), 32_256)
  assert.equal(rememberedAs(32_767), 32_256)
  assert.equal(new Set(Array.from({ length: 40_001 }, (_, wh) => rememberedAs(wh))).size, 1023, 'every code but the empty one used')
})

test('inactivity: 10-bit faded counts, four in five bytes, each set and read back without touching its neighbours', () => {
  const s = { hz: new Uint8Array(COUNT_BYTES + 6).fill(0xa5), hzAt: 3, runLlr: 0 }
  const n = 3 * BUCKETS, want: number[] = []
  for (let k = 0; k < n; k++) { want[k] = (k * 2731 + 17) % (MAX_COUNT + 1); setCount(s, k, want[k]!) }
  for (let k = 0; k < n; k++) assert.equal(countOf(s, k), want[k], `count ${k}`)
  for (const k of [0, 1, n - 2, n - 1]) {
    for (const x of [0, 1, 0xff, 0x100, 0x2aa, 0x155, MAX_COUNT]) { setCount(s, k, x); assert.equal(countOf(s, k), x); want[k] = x }
  }
  for (let k = 0; k < n; k++) assert.equal(countOf(s, k), want[k], `count ${k} after its neighbours changed`)
  assert.deepEqual([s.hz[0], s.hz[1], s.hz[2], s.hz[s.hz.length - 3], s.hz[s.hz.length - 1]], [0xa5, 0xa5, 0xa5, 0xa5, 0xa5], 'bytes outside the place untouched')
  // The most a count reaches: fading towards expectMemory within the rounding's dead band.
  const t = { hz: new Uint8Array(6), hzAt: 0, runLlr: 0 }
  const cfg = { expectMemory: MAX_MEMORY } as Parameters<typeof learnHazard>[0]
  for (let i = 0; i < 20 * MAX_MEMORY; i++) learnHazard(cfg, t, 0, true)
  assert.ok(countOf(t, 0) <= MAX_COUNT && countOf(t, 0) >= 10 * MAX_MEMORY - MAX_MEMORY / 2, `${countOf(t, 0)}`)
})

test('every welfare anomaly says what its evidence is worth: one meter low/medium, a shut door high, a camera\'s fall high', () => {
  const month = elder({ seed: 2, days: 30, quiet: { from: [27, 10] } })
  const plain = feed(createInactivityDetector(), month).filter((a) => a.observedAt > at(27, 10))
  assert.ok(plain.length >= 2)
  for (const a of plain) {
    assert.ok(a.confidence !== undefined, `${a.phase} has a confidence`)
    assert.equal(a.evidence.confidence, a.confidence)
    assert.equal(typeof a.evidence.confidenceBasis, 'string')
  }
  assert.notEqual(plain[0]!.confidence, 'high', 'one meter alone is never high')
  assert.equal(plain.find((a) => a.severity === 'high')?.confidence, 'medium', 'far past the bounds: medium')
  const door = (day: number, hour: number): SubjectEvent => ({ subjectId: 'elder-1', subjectKind: 'lone_elder', deviceId: 'cam-1', ts: at(day, hour), event: 'door_open' })
  const shut = feed(createInactivityDetector(), [...month, ...Array.from({ length: 27 }, (_, d) => door(d, 9.2)), door(27, 8)].sort((a, b) => a.ts - b.ts))
  assert.equal(raises(shut).find((a) => a.observedAt > at(27, 10))?.confidence, 'high', 'meter and a shut door')
  const cam = createDetectors().find((d) => d.name === 'camera')!
  const fall = cam.event!({ subjectId: 'elder-1', subjectKind: 'lone_elder', deviceId: 'cam-1', ts: at(1, 8), event: 'fall' })!
  assert.equal(fall.confidence, 'high')
  assert.equal(fall.evidence.confidence, 'high')
})

test('camera motion is activity: it ends a quiet run and clears an open inactivity episode', () => {
  const month = elder({ seed: 2, days: 30, quiet: { from: [27, 10] } })
  const motion = (day: number, hour: number): SubjectEvent => ({ subjectId: 'elder-1', subjectKind: 'lone_elder', deviceId: 'cam-1', ts: at(day, hour), event: 'motion' })
  const plain = raises(feed(createInactivityDetector(), month)).find((a) => a.observedAt > at(27, 10))!
  assert.ok(plain)
  const moved = feed(createInactivityDetector(), [...month, motion(27, 14)].sort((a, b) => a.ts - b.ts)).filter((a) => a.observedAt > at(27, 10))
  const r = moved.find((a) => a.phase === 'raise')
  assert.ok(r === undefined || r.observedAt > plain.observedAt, 'motion in the afternoon restarts the quiet run')
  const d = createInactivityDetector()
  const raised = feed(d, month.filter((c) => c.ts <= plain.observedAt))
  assert.equal(raises(raised).at(-1)?.observedAt, plain.observedAt)
  const clear = d.event!({ ...motion(27, 0), ts: plain.observedAt + 60_000 })
  assert.equal(clear?.phase, 'clear')
  assert.equal(clear?.evidence.reason, 'motion')
})

test('the standby floor\'s quantile by selection is the number quantileSorted gives on the hours sorted', () => {
  // Seeded, so a failure repeats: hour sets of every size a subject can remember, few distinct values (many ties) or many.
  let seed = 12345
  const rand = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31 }
  for (let t = 0; t < 5000; t++) {
    const n = 1 + Math.floor(rand() * 168), range = [2, 5, 60, 4000][t % 4]!
    const v = Float64Array.from({ length: n }, () => Math.floor(rand() * range))
    const p = [0.2, 0, 1, 0.5, rand()][t % 5]!
    const want = quantileSorted(Array.from(v).sort((a, b) => a - b), p)
    assert.ok(Object.is(quantile(Float64Array.from(v), n, p), want), `n ${n}, p ${p}`)
  }
})

test('stopDeep, decoding the short buckets\' counts four at a time, is the largest deepShare of those seen enough', () => {
  let seed = 777
  const rand = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31 }
  // No clamp (stopDeepMax past any share), so every bucket's share can show.
  const cfg = { priorWeight: 2, stopDeepMin: 0, stopDeepMax: 1e9 } as Parameters<typeof stopDeep>[0]
  for (let t = 0; t < 500; t++) {
    // At a byte that is not the start of the buffer, counts of every size (some under priorWeight).
    const s = { hz: new Uint8Array(16 + COUNT_BYTES), hzAt: 16 - (t % 5), runLlr: 0 }
    for (let k = 0; k < 3 * BUCKETS; k++) setCount(s, k, Math.floor(rand() * (t % 2 === 0 ? 40 : MAX_COUNT)))
    let want = 0
    for (let b = 0; b < 24; b++) if (countOf(s, b) / 10 >= cfg.priorWeight) want = Math.max(want, deepShare(cfg, s, b))
    assert.ok(Object.is(stopDeep(cfg, s), want), `case ${t}`)
  }
})

test('inactivity state packing: the small tables in 16 bits (to thousandths, at most 65.534; counts at most 65,535: more refused; an hour at most 32,767 Wh), the scalars packed, the rare epoch times beside the place, each said back', () => {
  const d = createInactivityDetector()
  feed(d, elder({ seed: 3, days: 10 }))
  const snap = d.snapshot('elder-1') as Record<string, unknown> & { lim: number[], wake: number[] }
  const lim = snap.lim.map((x, k) => [-1, 0, 1.2345, 65.534, 12.3456, 3.0005][k % 6]!)
  const wake = [6.94441, 0.52885, 65_535, 23.9999, 0.0004, 8]
  const given = {
    ...snap, lim, wake, lastRun: [7, 44.71349], runRecent: [40_000, -1], sens: 0.4219, sensWake: 1, lastRule: 'flat_residue',
    runUsual: 1741, runActual: 42, awayFrom: 0, awayUntil: 0, doorAt: 1_770_000_000_123, doorSeen: 1_770_000_000_456,
  }
  d.restore('elder-2', given)
  const back = d.snapshot('elder-2') as Record<string, unknown>
  assert.deepEqual(back.lim, lim.map((x) => x < 0 ? -1 : Math.round(x * 1000) / 1000))
  assert.deepEqual(back.wake, [6.944, 0.529, 65_535, 24, 0, 8])
  assert.deepEqual(back.lastRun, [7, 44.713])
  assert.deepEqual(back.runRecent, [32_767, -1])
  assert.deepEqual([back.sens, back.sensWake, back.lastRule, back.runUsual, back.runActual], [0.4219, 1, 'flat_residue', 1741, 42])
  assert.deepEqual([back.awayFrom, back.awayUntil, back.doorAt, back.doorSeen], [0, 0, 1_770_000_000_123, 1_770_000_000_456])
  // Restored again over it, without the door: nothing of the earlier record is left.
  d.restore('elder-2', { ...given, doorAt: 0, doorSeen: 0, awayFrom: 5, awayUntil: 6 })
  const again = d.snapshot('elder-2') as Record<string, unknown>
  assert.deepEqual([again.awayFrom, again.awayUntil, again.doorAt, again.doorSeen], [5, 6, 0, 0])
  // What the 16-bit tables keep is what goes on: said back again, the same.
  const b = createInactivityDetector()
  b.restore('elder-2', JSON.parse(JSON.stringify(again)))
  assert.equal(JSON.stringify(b.snapshot('elder-2')), JSON.stringify(again))
  // Past what the tables hold is refused, named, not clamped into another hour or bar (the hours and runRecent still clamp: older builds wrote more).
  const refused: [string, Record<string, unknown>][] = [
    ['lastRun.0', { lastRun: [30, 1] }], ['lastRun.0', { lastRun: [7.5, 1] }], ['lastRun.0', { lastRun: [-2, 0] }], ['lastRun.1', { lastRun: [7, 70] }],
    ['lim.3', { lim: lim.map((x, k) => k === 3 ? 70 : x) }],
    ['wake.0', { wake: [30, 0.5, 8, 7, 0.5, 8] }], ['wake.4', { wake: [7, 0.5, 8, 7, -1, 8] }], ['wake.2', { wake: [7, 0.5, 70_000, 7, 0.5, 8] }], ['wake.5', { wake: [7, 0.5, 8, 7, 0.5, 2.5] }],
  ]
  for (const [path, change] of refused) assert.throws(() => b.restore('elder-3', { ...given, ...change }), (e: Error) => e instanceof TypeError && e.message.includes(`${path}:`), path)
})

test('inactivity: each hour of day\'s least and second least (kept as which day, 6 bits) and median (computed as read) are those of its remembered hours', () => {
  const slab = new Slab()
  const held = { eps: new Map(), doors: new Map(), rare: rareRecords(), groups: [], cfg: { usualWh: 20, usualFraction: 0.1, minActiveWh: 100, activeFraction: 0.5, wakingHours: 16 } }
  const s = new State(held, slab)
  let seed = 99
  const rand = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31 }
  for (let t = 0; t < 40; t++) {
    freshState(s, t, slab.place(40).loc)
    const days = t % 9
    for (let d = 0; d < 24; d++) for (let j = 0; j < days; j++) remember(s, d, Math.floor(rand() * [3, 300, 40_000][t % 3]!))
    for (let d = 0; d < 24; d++) {
      const known = history(s, d).filter((x) => x >= 0).sort((a, b) => a - b), n = known.length
      assert.equal(leastOf(s, d), n === 0 ? -1 : known[0], `least, case ${t}`)
      assert.equal(steadyOf(s, d), n === 0 ? -1 : known[Math.min(1, n - 1)], `second least, case ${t}`)
      assert.equal(baseOf(s, d), n === 0 ? 0 : n % 2 === 1 ? known[n >> 1] : Math.round((known[n / 2 - 1]! + known[n / 2]!) / 2), `median, case ${t}`)
    }
  }
})

test('slab: 6- and 10-bit numbers, set and read back without touching their neighbours or the bytes around them', () => {
  for (const [bits, get, set] of [[6, get6, set6], [10, get10, set10]] as const) {
    const n = 48, bytes = n * bits / 8, u = new Uint8Array(bytes + 6).fill(0xa5), want: number[] = []
    for (let i = 0; i < n; i++) { want[i] = (i * 2731 + 17) % 2 ** bits; set(u, 3, i, want[i]!) }
    for (const i of [0, 1, 2, 3, n - 1]) for (const x of [0, 2 ** bits - 1, 1, 2 ** (bits - 1)]) { set(u, 3, i, x); want[i] = x; assert.equal(get(u, 3, i), x) }
    for (let i = 0; i < n; i++) assert.equal(get(u, 3, i), want[i], `${bits}-bit number ${i}`)
    assert.deepEqual([u[0], u[1], u[2], u[bytes + 3], u[bytes + 5]], [0xa5, 0xa5, 0xa5, 0xa5, 0xa5], `${bits} bits: bytes outside untouched`)
  }
})
