/**
 * Who is simulated and what happens to them: a fixed mix of labelled cases, every time and size
 * drawn from the seed, so two runs with the same options see the same households.
 */
import type { MeterFault, MeterProfile, Scenario } from '../simulators/index.ts'
import type { SubjectKind } from '../vocab/index.ts'
import { hash32, rngFor, type Rng } from '../simulators/random.ts'

export const HOUR = 3_600_000
export const DAY = 24 * HOUR

/** No scenario starts before this day: the detectors have two weeks to learn the household. */
export const FIRST_SCENARIO_DAY = 15
/** Fewest days a run may have: a scenario on day 15 and three days to catch it. */
export const MIN_DAYS = 20

export interface EvalOptions {
  /** Lone elders simulated. Default 200. */
  elders?: number
  /** Rental units simulated. Default 100. */
  rentals?: number
  /** Days simulated. Default 60; at least 20. */
  days?: number
  /** Every scenario, time and household is drawn from it. Default 1. */
  seed?: number
  /** Local midnight of day 0, epoch ms. Default 2026-01-05 00:00 at UTC+8 (a Monday). */
  start?: number
  /** Local time offset, hours, of the households and the detectors. Default 8. */
  utcOffsetHours?: number
  /** Share of elders who also have a water meter. Default 0.4. */
  waterShare?: number
  /** Share of elders with a door sensor (a door camera's door_open events). Default 0.5: half the street. */
  doorShare?: number
  /** Elders (and rentals) per street: the peers some detectors compare a subject with. Default 20. */
  streetSize?: number
}

export type EvalPlan = Readonly<Required<EvalOptions>>

/** The labelled case a subject is in; `normal` still has the ordinary outings of its daily plan. */
export type Case =
  | 'normal' | 'incapacitated' | 'incapacitated_residual' | 'trip_declared' | 'trip_undeclared' | 'meter_fault'
  | 'crowded' | 'vacant' | 'ebike_charging'

export interface EvalSubject {
  subjectId: string
  subjectKind: SubjectKind
  deviceId: string
  /** Street code carried by the samples, as ingest does: elder n and rental n share street n / streetSize. */
  street: string
  case: Case
  profile: MeterProfile
  /** An absence declared ahead (as the API's `away` does): given to the detectors at `at`. */
  declaration?: { at: number, awayFrom: number, awayUntil: number }
  /** Has a water meter, `w-<subjectId>`. */
  water: boolean
  /** Has a door sensor, `d-<subjectId>`. */
  door: boolean
}

/** Elders cycle through these: 40 % incapacitated (half with a light left on), 20 % trips, 10 % meter faults, 30 % normal. */
const ELDER_CASES: readonly Case[] = ['incapacitated', 'normal', 'trip_declared', 'incapacitated_residual', 'normal', 'meter_fault', 'incapacitated', 'trip_undeclared', 'normal', 'incapacitated_residual']
/** Rentals cycle through these: a third crowded, a third normal, a sixth each vacant and charging an e-bike. */
const RENTAL_CASES: readonly Case[] = ['crowded', 'normal', 'vacant', 'crowded', 'ebike_charging', 'normal']
const FAULTS: readonly MeterFault[] = ['stuck', 'offline', 'reset']

export function resolvePlan (o: EvalOptions = {}): EvalPlan {
  const plan = {
    elders: o.elders ?? 200,
    rentals: o.rentals ?? 100,
    days: o.days ?? 60,
    seed: o.seed ?? 1,
    start: o.start ?? Date.UTC(2026, 0, 5) - (o.utcOffsetHours ?? 8) * HOUR,
    utcOffsetHours: o.utcOffsetHours ?? 8,
    waterShare: o.waterShare ?? 0.4,
    doorShare: o.doorShare ?? 0.5,
    streetSize: o.streetSize ?? 20,
  }
  const bad = (msg: string) => { throw new RangeError(`evaluation: ${msg}`) }
  if (!Number.isInteger(plan.streetSize) || plan.streetSize < 1) bad(`streetSize must be a whole number >= 1, got ${plan.streetSize}`)
  for (const k of ['elders', 'rentals', 'days', 'seed'] as const) {
    if (!Number.isInteger(plan[k]) || plan[k] < 0) bad(`${k} must be a whole number >= 0, got ${plan[k]}`)
  }
  if (plan.days < MIN_DAYS) bad(`days must be at least ${MIN_DAYS}, got ${plan.days}`)
  if (!Number.isFinite(plan.start)) bad('start must be a finite epoch ms')
  if (!(plan.waterShare >= 0 && plan.waterShare <= 1)) bad(`waterShare must be in [0, 1], got ${plan.waterShare}`)
  if (!(plan.doorShare >= 0 && plan.doorShare <= 1)) bad(`doorShare must be in [0, 1], got ${plan.doorShare}`)
  return Object.freeze(plan)
}

/** The subjects of a run, elders first; deterministic for the plan. */
export function assignSubjects (plan: EvalPlan): EvalSubject[] {
  const out: EvalSubject[] = []
  const width = String(Math.max(plan.elders, plan.rentals, 1) - 1).length
  let faults = 0
  for (let i = 0; i < plan.elders + plan.rentals; i++) {
    const elder = i < plan.elders
    const n = elder ? i : i - plan.elders
    const subjectKind: SubjectKind = elder ? 'lone_elder' : 'rental_unit'
    const subjectId = `${elder ? 'elder' : 'flat'}-${String(n).padStart(width, '0')}`
    const c = (elder ? ELDER_CASES : RENTAL_CASES)[n % (elder ? ELDER_CASES.length : RENTAL_CASES.length)]!
    const r = rngFor(plan.seed, elder ? 1 : 2, n, 0xe7a1)
    const fault = c === 'meter_fault' ? FAULTS[faults++ % FAULTS.length]! : null
    const { scenarios, declaration } = scenariosFor(plan, c, r, fault)
    out.push({
      subjectId, subjectKind, deviceId: `m-${subjectId}`, street: `st-${Math.floor(n / plan.streetSize)}`, case: c,
      profile: { subjectKind, seed: hash32(plan.seed, elder ? 1 : 2, n), utcOffsetHours: plan.utcOffsetHours, scenarios },
      ...(declaration ? { declaration } : {}),
      water: elder && r() < plan.waterShare,
      door: elder && rngFor(plan.seed, 3, n, 0xd00e)() < plan.doorShare,
    })
  }
  return out
}

function scenariosFor (plan: EvalPlan, c: Case, r: Rng, fault: MeterFault | null): { scenarios: Scenario[], declaration?: EvalSubject['declaration'] } {
  /** A random instant on a day in [FIRST_SCENARIO_DAY, days - daysLeft], between the given local hours. */
  const when = (daysLeft: number, fromH = 0, toH = 24) => {
    const day = FIRST_SCENARIO_DAY + Math.floor(r() * (plan.days - daysLeft - FIRST_SCENARIO_DAY + 1))
    return Math.round(plan.start + day * DAY + r.between(fromH, toH) * HOUR)
  }
  switch (c) {
    case 'normal': return { scenarios: [] }
    case 'incapacitated': return { scenarios: [{ kind: 'incapacitated', at: when(2) }] }
    case 'incapacitated_residual': return { scenarios: [{ kind: 'incapacitated', at: when(2), residualW: Math.round(r.between(40, 150)) }] }
    case 'trip_declared':
    case 'trip_undeclared': {
      const from = when(3, 7, 19)
      const until = Math.round(from + r.between(2, 6) * DAY)
      const declaration = c === 'trip_declared' ? { at: Math.round(from - r.between(2, 6) * HOUR), awayFrom: from, awayUntil: until } : undefined
      return { scenarios: [{ kind: 'away', from, until }], ...(declaration ? { declaration } : {}) }
    }
    case 'meter_fault': return { scenarios: [{ kind: 'meter_fault', from: when(2), fault: fault! }] }
    case 'crowded': return { scenarios: [{ kind: 'crowded', from: when(4), occupants: 4 + Math.floor(r() * 5) }] }
    case 'vacant': return { scenarios: [{ kind: 'vacant', from: when(4, 8, 20) }] }
    case 'ebike_charging': return { scenarios: [{ kind: 'ebike_charging', from: when(4) }] }
  }
}
