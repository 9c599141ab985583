/**
 * A household's power draw at any instant: standby plus what the day plan says
 * people are doing, overridden by the labelled scenarios in effect.
 */
import type { DayPlan, GroundTruth, MeterFault, MeterProfile, Person, Scenario } from './types.ts'
import type { Traits } from './household.ts'
import { HOUR, dayStart, localDay, localHour, standbyW, traitsFor } from './household.ts'
import { elderPlan, rentalPlan } from './plans.ts'
import { rngFor } from './random.ts'

type Quiet = 'incapacitated' | 'vacant' | 'away'
/** When several quiet scenarios overlap the most serious one is the truth. */
const QUIET_RANK: Record<Quiet, number> = { incapacitated: 3, vacant: 2, away: 1 }

interface ScenarioState {
  active: Scenario[]
  quiet: Quiet | null
  residualW: number
  occupants: number
  ebikeFrom: number | null
  fault: MeterFault | null
}

export interface Household {
  readonly traits: Traits
  powerAt (t: number): number
  truthAt (t: number): GroundTruth
}

export function createHousehold (profile: MeterProfile): Household {
  checkProfile(profile)
  const traits = traitsFor(profile)
  const scenarios = profile.scenarios ?? []
  // Consecutive minutes hit the same two days; a small cache saves rebuilding them.
  const cache = new Map<string, DayPlan>()

  function plan (day: number, occupants: number): DayPlan {
    const key = `${day}:${occupants}`
    let p = cache.get(key)
    if (p === undefined) {
      p = profile.subjectKind === 'lone_elder' ? elderPlan(traits, day) : rentalPlan(traits, day, occupants)
      if (cache.size >= 16) cache.delete(cache.keys().next().value!)
      cache.set(key, p)
    }
    return p
  }

  function stateAt (t: number): ScenarioState {
    const s: ScenarioState = { active: [], quiet: null, residualW: 0, occupants: traits.occupants, ebikeFrom: null, fault: null }
    const quiet = (q: Quiet) => { if (s.quiet === null || QUIET_RANK[q] > QUIET_RANK[s.quiet]) s.quiet = q }
    for (const sc of scenarios) {
      const from = sc.kind === 'incapacitated' ? sc.at : sc.from
      if (t < from || (sc.kind === 'away' && t >= sc.until)) continue
      s.active.push(sc)
      if (sc.kind === 'incapacitated') { quiet('incapacitated'); s.residualW = sc.residualW ?? 0 }
      else if (sc.kind === 'away' || sc.kind === 'vacant') quiet(sc.kind)
      else if (sc.kind === 'crowded') s.occupants = sc.occupants
      else if (sc.kind === 'ebike_charging') s.ebikeFrom = sc.from
      else s.fault = sc.fault
    }
    return s
  }

  function plansAt (t: number, occupants: number): DayPlan[] {
    const day = localDay(t, traits)
    return [plan(day - 1, occupants), plan(day, occupants)]
  }

  function powerAt (t: number): number {
    const s = stateAt(t)
    const base = standbyW(t, traits)
    if (s.quiet !== null) return base + (s.quiet === 'incapacitated' ? s.residualW : 0)
    const dark = localHour(t, traits) >= 17.5 || localHour(t, traits) < 6.5
    let w = base
    for (const p of plansAt(t, s.occupants)) {
      for (const e of p.events) if (t >= e.from && t < e.until) w += e.w
      for (const person of p.people) if (homeAndAwake(person, t)) w += person.w + (dark ? person.eveningW : 0)
      if (s.ebikeFrom !== null) w += ebikeW(traits, p.day, t, s.ebikeFrom)
    }
    return w
  }

  function truthAt (t: number): GroundTruth {
    const s = stateAt(t)
    const truth = { scenarios: s.active, occupants: s.quiet === 'vacant' ? 0 : s.occupants, fault: s.fault }
    if (s.quiet !== null) return { ...truth, presence: s.quiet }
    const people = plansAt(t, s.occupants).flatMap((p) => p.people)
    const presence = people.some((p) => homeAndAwake(p, t)) ? 'home' : people.some((p) => awake(p, t)) ? 'out' : 'asleep'
    return { ...truth, presence }
  }

  return { traits, powerAt, truthAt }
}

function awake (p: Person, t: number): boolean {
  return t >= p.wake && t < p.sleep
}

function homeAndAwake (p: Person, t: number): boolean {
  return awake(p, t) && !p.outs.some(([from, until]) => t >= from && t < until)
}

/** The night's charge that starts on `day`, 300-600 W for 4-6 h from 22:00-01:00. */
function ebikeW (tr: Traits, day: number, t: number, from: number): number {
  const r = rngFor(tr.seed, day, 3)
  const start = dayStart(day, tr) + r.between(22, 25) * HOUR
  const until = start + r.between(4, 6) * HOUR
  return start >= from && t >= start && t < until ? r.between(300, 600) : 0
}

function checkProfile (p: MeterProfile): void {
  const bad = (msg: string) => { throw new RangeError(`meter profile (seed ${p.seed}): ${msg}`) }
  if (!Number.isFinite(p.seed)) bad('seed must be a finite number')
  if (p.occupants !== undefined && !(Number.isInteger(p.occupants) && p.occupants >= 1)) bad('occupants must be an integer >= 1')
  for (const s of p.scenarios ?? []) {
    if (s.kind === 'crowded' && !(Number.isInteger(s.occupants) && s.occupants >= 1)) bad('crowded occupants must be an integer >= 1')
    if (s.kind === 'away' && !(s.until > s.from)) bad('away needs until > from')
    if (s.kind === 'incapacitated' && (s.residualW ?? 0) < 0) bad('residualW must be >= 0')
  }
}
