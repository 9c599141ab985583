/**
 * What stays the same in a household from day to day: its standby load, its
 * general level of use and its habits, all drawn once from the seed.
 */
import type { MeterProfile } from './types.ts'
import { rngFor } from './random.ts'

export const MIN = 60_000
export const HOUR = 60 * MIN
export const DAY = 24 * HOUR

export interface Traits {
  seed: number
  offsetMs: number
  /** Fridge average, 30-60 W: a compressor cycling at `fridgeOnW`. */
  fridgeAvgW: number
  fridgeOnW: number
  fridgePeriodMin: number
  fridgePhaseMin: number
  /** Router, set-top box, chargers on standby. */
  electronicsW: number
  /** Some water heaters reheat a few minutes every few hours even with nobody home. */
  keepWarm: boolean
  /** How heavy a user the household is, ~0.8-1.3. */
  level: number
  /** Early or late riser, hours. */
  biasH: number
  /** People living there before any `crowded` scenario. */
  occupants: number
}

export function traitsFor (profile: MeterProfile): Traits {
  const r = rngFor(profile.seed, 0x7a17)
  const rental = profile.subjectKind === 'rental_unit'
  const fridgeAvgW = r.between(30, 60)
  const fridgeOnW = r.between(90, 130)
  return {
    seed: profile.seed,
    offsetMs: (profile.utcOffsetHours ?? 8) * HOUR,
    fridgeAvgW,
    fridgeOnW,
    fridgePeriodMin: Math.round(r.between(30, 50)),
    fridgePhaseMin: Math.floor(r.between(0, 50)),
    electronicsW: rental ? r.between(10, 25) : r.between(4, 12),
    keepWarm: r.chance(0.4),
    level: r.between(0.8, 1.3),
    biasH: r.between(-0.25, 0.25),
    occupants: rental ? (profile.occupants ?? (r.chance(0.5) ? 1 : 2)) : 1,
  }
}

/** Local day index of an instant; day 0 starts at local midnight of 1970-01-01. */
export function localDay (t: number, tr: Traits): number {
  return Math.floor((t + tr.offsetMs) / DAY)
}

/** Epoch ms of the local midnight that starts `day`. */
export function dayStart (day: number, tr: Traits): number {
  return day * DAY - tr.offsetMs
}

/** Local hour of day, 0-24. */
export function localHour (t: number, tr: Traits): number {
  const ms = (t + tr.offsetMs) % DAY
  return (ms < 0 ? ms + DAY : ms) / HOUR
}

/** Load that runs whether or not anyone is home: fridge cycles, electronics, heater reheats. */
export function standbyW (t: number, tr: Traits): number {
  const m = Math.floor(t / MIN)
  const onMin = Math.round(tr.fridgePeriodMin * tr.fridgeAvgW / tr.fridgeOnW)
  const fridge = mod(m + tr.fridgePhaseMin, tr.fridgePeriodMin) < onMin ? tr.fridgeOnW : 0
  const heater = tr.keepWarm && mod(m + 7 * tr.fridgePhaseMin, 240) < 3 ? 2000 : 0
  return fridge + heater + tr.electronicsW
}

/** Mean standby over a day, W: what "only standby" should average to. */
export function meanStandbyW (tr: Traits): number {
  const onMin = Math.round(tr.fridgePeriodMin * tr.fridgeAvgW / tr.fridgeOnW)
  return tr.fridgeOnW * onMin / tr.fridgePeriodMin + (tr.keepWarm ? 2000 * 3 / 240 : 0) + tr.electronicsW
}

function mod (a: number, n: number): number {
  return ((a % n) + n) % n
}
