/**
 * Incapacitation injected into a real home's series, the way profyliu/smpesgm2017 tests itself:
 * from a random moment on, only the home's standing load remains (fridge cycles, standby),
 * estimated from the home's own nights before the moment, with small cycling; in a share of the
 * injections a lamp or TV is left on (a constant 40–150 W on top).
 */
import type { Interval } from '../backtest/index.ts'
import { hash32, rngFor } from '../simulators/random.ts'
import type { RealHome } from './real-data.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR

export interface Injection {
  /** Event time the person stops: everything but the standing load ends. */
  at: number
  /** Standing load, kWh per hour, before cycling. */
  standingKwhPerHour: number
  /** A lamp or TV left on, W (0: none). */
  lampW: number
  /** Seed of the cycling. */
  seed: number
}

export interface InjectOptions {
  /** Injections per home. Default 3. */
  perHome?: number
  /** Days of ordinary life before the first possible moment. Default 28. */
  warmupDays?: number
  /** Share of injections with a lamp or TV left on. Default 0.3. */
  lampShare?: number
  /** The untouched 24 h after the moment must have used this many kWh more than the standing load would: someone was there to stop. Default 1. */
  minChangeKwh?: number
  seed?: number
}

/**
 * A low quantile of the home's readings between 01:00 and 05:00 local over the two weeks before
 * `at`, kWh per hour. Exact zeros are left out: a fridge never reads zero, a zero-filled outage or
 * an unplugged meter does (NSW 10017994 reads 0 in a fifth of its nights, and its "standing load"
 * came out 0: the injection was then a run of zeros, which meter health rightly takes for a fault).
 */
export function standingLoad (h: RealHome, at: number): number {
  const off = h.utcOffsetHours * HOUR, vals: number[] = []
  for (const s of h.series) {
    if (s.end <= at - 14 * DAY) continue
    if (s.end > at) break
    const local = ((s.end - s.intervalMs + off) % DAY + DAY) % DAY / HOUR
    if (local >= 1 && local < 5 && s.intervalMs <= HOUR && s.kwh > 0) vals.push(s.kwh * HOUR / s.intervalMs)
  }
  if (vals.length === 0) return 0
  vals.sort((a, b) => a - b)
  return vals[Math.floor(vals.length * 0.1)]!
}

/** True when the series has data all through [from, to], no interval missing for more than an hour. */
function covered (series: readonly Interval[], from: number, to: number): boolean {
  let last = from
  for (const s of series) {
    if (s.end <= from) continue
    if (s.end - s.intervalMs - last > HOUR) return false
    last = s.end
    if (last >= to) return true
  }
  return false
}

/** kWh the untouched series used in (from, to]. */
function usedAfter (series: readonly Interval[], from: number, to: number): number {
  let kwh = 0
  for (const s of series) {
    if (s.end <= from) continue
    if (s.end > to) break
    kwh += s.kwh
  }
  return kwh
}

/** Seeded moments: after the warm-up, at least a day before the series ends, on judgeable days with data through the next 24 h, when the home was lived in. */
export function chooseInjections (h: RealHome, opts: InjectOptions = {}): Injection[] {
  const n = opts.perHome ?? 3, warm = (opts.warmupDays ?? 28) * DAY, lampShare = opts.lampShare ?? 0.3, minChange = opts.minChangeKwh ?? 1
  const first = h.series[0]?.end, last = h.series.at(-1)?.end
  if (first === undefined || last === undefined || h.nearAllZero) return []
  const lo = first + warm, hi = last - 25 * HOUR
  if (hi <= lo) return []
  const rng = rngFor(opts.seed ?? 1, hash32(...Array.from(h.source + '/' + h.home, (c) => c.charCodeAt(0))))
  const off = h.utcOffsetHours * HOUR, out: Injection[] = []
  for (let tries = 0; out.length < n && tries < 60; tries++) {
    // On the half hour, as a 30-minute meter sees it; the person stops anywhere in the interval.
    const at = Math.floor(rng.between(lo, hi) / (HOUR / 2)) * (HOUR / 2) + Math.floor(rng() * 30) * 60_000
    const day = Math.floor((at + off) / DAY)
    if (h.unusableDays.has(day) || h.unusableDays.has(day + 1) || !covered(h.series, at - DAY, at + DAY)) continue
    // A moment the household was away anyway (NSW 10017994 in May 2013: 18 Wh an hour for weeks)
    // changes nothing: there is no one to stop, and no detector could or should tell.
    const standing = standingLoad(h, at)
    if (usedAfter(h.series, at, at + DAY) - standing * 24 < minChange) continue
    const lampW = rng.chance(lampShare) ? Math.round(rng.between(40, 150)) : 0
    out.push({ at, standingKwhPerHour: standing, lampW, seed: hash32(opts.seed ?? 1, out.length, at / 60_000) })
  }
  return out.sort((a, b) => a.at - b.at)
}

/** The interval's kWh with the injection applied: the part after the moment is standing load (±15 % cycling) and the lamp. */
export function injected (inj: Injection): (s: Interval) => number {
  return (s) => {
    const start = s.end - s.intervalMs
    if (s.end <= inj.at) return s.kwh
    const after = Math.min(s.intervalMs, s.end - inj.at) / s.intervalMs
    const cycle = 0.85 + 0.3 * (hash32(inj.seed, s.end / 60_000) / 4294967296)
    const rest = (inj.standingKwhPerHour * cycle + inj.lampW / 1000) * s.intervalMs / HOUR
    return start >= inj.at ? rest : s.kwh * (1 - after) + rest * after
  }
}
