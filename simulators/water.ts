/**
 * A water meter on the same simulated household as the electricity meter: the day plans that
 * drive the power draw (simulators/plans.ts) also say when people wash, cook, bathe and shower,
 * and the ground truth (truthAt) says who is home, so both meters tell one story. Deterministic
 * for a seed; the register counts whole litres, as NB-IoT water meters do.
 */
import type { LoadEvent, MeterProfile, Person } from './types.ts'
import { DAY, HOUR, MIN, dayStart, localDay } from './household.ts'
import { elderPlan, rentalPlan } from './plans.ts'
import { createHousehold, type Household } from './scenarios.ts'
import { rngFor, unit, type Rng } from './random.ts'

export interface WaterOptions {
  /** Reading interval, ms. Default 15 minutes. */
  stepMs?: number
  /** A leak (a running toilet, a dripping pipe) adding continuous flow from `from` on. */
  leak?: { from: number, litresPerHour: number }
}

/** One water meter reading: event time and the cumulative register, cubic metres. */
export interface WaterReading {
  ts: number
  m3: number
}

/** Water drawn over [at, at + minutes). */
interface Draw { at: number, litres: number, minutes: number }

type Who = 'awake' | 'asleep'

/** Readings every `stepMs` over [fromMs, toMs): a cumulative register in m3, whole litres. */
export function generateWaterReadings (profile: MeterProfile, fromMs: number, toMs: number, opts: WaterOptions = {}): WaterReading[] {
  const stepMs = opts.stepMs ?? 15 * MIN
  if (!(stepMs > 0)) throw new RangeError(`generateWaterReadings: stepMs must be > 0, got ${stepMs}`)
  const leak = opts.leak
  if (leak !== undefined && !(leak.litresPerHour >= 0 && Number.isFinite(leak.from))) throw new RangeError('generateWaterReadings: leak needs a finite from and litresPerHour >= 0')
  const house = createHousehold(profile)
  const draws = drawsBetween(profile, house, fromMs - DAY, toMs)
  const startL = Math.round(50_000 + unit(profile.seed, 0xa7e2) * 850_000)
  const out: WaterReading[] = []
  let i = 0, done = startL
  for (let ts = fromMs; ts < toMs; ts += stepMs) {
    // Draws finished by ts are summed once; the few still running are counted in part.
    for (let d = draws[i]; d !== undefined && d.at + d.minutes * MIN <= ts; d = draws[++i]) done += d.litres
    let open = 0
    for (let j = i; j < draws.length && draws[j]!.at < ts; j++) {
      const d = draws[j]!
      open += d.litres * Math.min(1, (ts - d.at) / (d.minutes * MIN))
    }
    const leakL = leak && ts > leak.from ? leak.litresPerHour * (ts - leak.from) / HOUR : 0
    out.push({ ts, m3: Math.floor(done + open + leakL) / 1000 })
  }
  return out
}

/** Every draw starting in [fromMs, toMs), time-ordered. */
function drawsBetween (profile: MeterProfile, house: Household, fromMs: number, toMs: number): Draw[] {
  const tr = house.traits
  const out: Draw[] = []
  for (let day = localDay(fromMs, tr) - 1; day <= localDay(toMs, tr); day++) {
    const noon = house.truthAt(dayStart(day, tr) + 12 * HOUR)
    const occupants = Math.max(1, noon.occupants)
    const plan = profile.subjectKind === 'lone_elder' ? elderPlan(tr, day) : rentalPlan(tr, day, occupants)
    const r = rngFor(tr.seed, day, 7, occupants)
    const add = (at: number, litres: number, minutes: number, who: Who, person?: Person) => {
      if (at < fromMs || at >= toMs) return
      const truth = house.truthAt(at)
      if (truth.presence === 'away' || truth.presence === 'vacant' || truth.presence === 'incapacitated') return
      if (person !== undefined && who === 'awake' && !homeAndAwake(person, at)) return
      out.push({ at, litres, minutes })
    }
    const elder = profile.subjectKind === 'lone_elder'
    for (const p of plan.people) personDay(r, p, elder, add)
    for (const e of plan.events) applianceDraws(r, e, elder, add)
    if (elder && r.chance(0.25)) add(plan.start + r.between(9.5, 11.5) * HOUR, r.between(15, 35), 20, 'awake', plan.people[0]) // hand washing clothes
  }
  return out.sort((a, b) => a.at - b.at)
}

type Add = (at: number, litres: number, minutes: number, who: Who, person?: Person) => void

/** One person's own draws: a wash on waking, the toilet every 1-3 hours at home, a rare night flush. */
function personDay (r: Rng, p: Person, elder: boolean, add: Add) {
  add(p.wake + r.between(0, 10) * MIN, r.between(4, 8), 5, 'awake', p)
  const flush = (at: number, who: Who) => { add(at, r.between(4.5, 6), 1, who, p); add(at + MIN, r.between(0.5, 1.5), 1, who, p) }
  flush(p.wake + r.between(2, 15) * MIN, 'awake')
  const [lo, hi] = elder ? [1, 3] : [1.5, 4]
  for (let t = p.wake + r.between(lo, hi) * HOUR; t < p.sleep; t += r.between(lo, hi) * HOUR) flush(t, 'awake')
  flush(p.sleep - r.between(5, 20) * MIN, 'awake')
  if (elder) add(p.sleep - r.between(20, 40) * MIN, r.between(3, 6), 5, 'awake', p) // evening wash
  if (r.chance(elder ? 0.35 : 0.2)) flush(p.sleep + r.between(1, Math.max(1.5, (p.wake + 22 * HOUR - p.sleep) / HOUR - 1)) * HOUR, 'asleep')
}

/** Water that goes with an appliance of the plan: the kettle filled, cooking and washing up, a bath, a shower, a wash cycle. */
function applianceDraws (r: Rng, e: LoadEvent, elder: boolean, add: Add) {
  const minutes = (e.until - e.from) / MIN
  if (e.w === 2000 && elder) add(e.until + r.between(0, 10) * MIN, r.between(30, 60), 15, 'awake') // the heated bath water
  else if (e.w >= 2500 && minutes <= 15) add(e.from, r.between(6, 8) * minutes, minutes, 'awake') // shower
  else if (minutes <= 5 && e.w >= 1500) add(e.from - MIN, r.between(1, 1.5), 1, 'awake') // kettle or noodles
  else if (minutes >= 8 && minutes <= 45 && e.w >= 700) {
    add(e.from, r.between(2, 5), 3, 'awake') // rinsing and the pot
    if (minutes >= 15) add(e.until + r.between(15, 40) * MIN, r.between(6, 12), 8, 'awake') // washing up
  } else if (!elder && minutes === 60 && e.w >= 400 && e.w < 600) {
    for (const k of [0, 25, 45]) add(e.from + k * MIN, r.between(12, 18), 4, 'awake') // wash and rinses
  }
}

function homeAndAwake (p: Person, t: number): boolean {
  return t >= p.wake && t < p.sleep && !p.outs.some(([from, until]) => t >= from && t < until)
}
