/**
 * What happens when an hour closes, or a sample ends mid-hour: judge the hour against its usual
 * energy and the person's usual night, raise, escalate or clear, then learn from the hour.
 * O(1): a handful of numbers; once a local day, 24 bit masks. Energies here are Wh.
 */
import type { Anomaly, Severity } from '../vocab/index.ts'
import { HOUR, daysOf, quietOf, r1, setNight, setUsual, usualOf, type State } from './night-load-state.ts'
import { r4 } from './types.ts'

/** Resolved, frozen options; see NightLoadOptions in night-load.ts for meaning and defaults. */
export interface Config {
  offsetMs: number
  window: number
  warmup: number
  nightShare: number
  quietMarginWh: number
  livedInWh: number
  minExcessWh: number
  usualFactor: number
  usualRise: number
  usualFall: number
  escalateMs: number
  clearAfterMs: number
  maxSpanMs: number
  falseAlarmFactor: number
  maxScale: number
  /** Hours of the clock night (bit d: local hour d): only these can be the usual night. */
  clockMask: number
}

/** What the detector wants said; the factory turns it into an Anomaly. */
export interface Verdict { phase: Anomaly['phase'], severity: Severity, startedAt: number, evidence: Record<string, unknown> }

export const hourStart = (cfg: Config, h: number) => h * HOUR - cfg.offsetMs
export const isNight = (s: State, d: number) => ((s.night >>> d) & 1) === 1
/** Excess over the usual, Wh in an hour, that makes the hour loaded. */
export const threshold = (cfg: Config, s: State, u: number) => s.scale * Math.max(cfg.minExcessWh, (cfg.usualFactor - 1) * u)

function popcount (x: number): number {
  let n = 0
  for (; x !== 0; x &= x - 1) n++
  return n
}

/** Hours of day usually at standby, in the clock's night; a lone hour between two (a timed reheat) is night too. */
export function nightOf (cfg: Config, s: State): number {
  let bits = 0
  for (let d = 0; d < 24; d++) {
    if (daysOf(s, d) >= cfg.warmup && popcount(quietOf(s, d)) >= cfg.nightShare * daysOf(s, d)) bits |= 1 << d
  }
  let filled = bits
  for (let d = 0; d < 24; d++) {
    if (daysOf(s, d) >= cfg.warmup && (bits >>> ((d + 23) % 24)) & (bits >>> ((d + 1) % 24)) & 1) filled |= 1 << d
  }
  // A working household's empty day is at standby too: a load in it is someone home early, not a heater left on in their sleep.
  return filled & cfg.clockMask
}

/** The day's hours enter the learned night, unless nobody was home all day (a trip not told) or it was a declared absence. */
function commitDay (cfg: Config, s: State) {
  const from = hourStart(cfg, s.day * 24), until = from + 24 * HOUR
  const away = until > s.awayFrom && from < s.awayUntil
  if (s.day >= 0 && s.dayLived === 1 && !away) {
    const size = 2 ** cfg.window
    for (let d = 0; d < 24; d++) {
      if (((s.daySeen >>> d) & 1) === 0) continue
      const days = daysOf(s, d)
      setNight(s, d, (quietOf(s, d) * 2 + ((s.dayQuiet >>> d) & 1)) % size, days < cfg.window ? days + 1 : days)
    }
    s.night = nightOf(cfg, s)
  }
  s.daySeen = 0; s.dayQuiet = 0; s.dayLived = 0
}

/** The person's standby: their quietest usual hour. */
function standby (s: State): number {
  let m = Infinity
  for (let d = 0; d < 24; d++) { const u = usualOf(s, d); if (u >= 0 && u < m) m = u }
  return m
}

function raise (cfg: Config, s: State, H: number, at: number, d: number, u: number, thr: number, excess: number, spanMs: number): Verdict {
  // The load began as far back as the last two hours' excess goes at this hour's rate
  // (the hour before counts when the last one was full, to within the fridge's cycling).
  const rate = excess / spanMs
  let lead = Math.min(HOUR, Math.max(0, s.prevExcess) / rate)
  if (lead >= 0.9 * HOUR) lead = HOUR + Math.min(HOUR, Math.max(0, s.prev2Excess) / rate)
  const startedAt = hourStart(cfg, H) - Math.round(lead)
  s.ep = { startedAt, raisedAt: at, severity: 'medium', muted: false }
  return {
    phase: 'raise', severity: 'medium', startedAt,
    evidence: { hourOfDay: d, usualWh: u, thresholdWh: Math.round(thr), excessWh: Math.round(s.prevExcess), loadW: Math.round(rate * HOUR) },
  }
}

function clear (s: State, at: number, reason: string): Verdict {
  const ep = s.ep!
  s.ep = null; s.prevHour = -1
  return { phase: 'clear', severity: ep.severity, startedAt: ep.startedAt, evidence: { reason, hours: r1((at - ep.startedAt) / HOUR) } }
}

function escalate (cfg: Config, s: State, at: number): Verdict | null {
  const ep = s.ep!
  if (ep.muted || ep.severity !== 'medium' || at - ep.raisedAt < cfg.escalateMs) return null
  ep.severity = 'high'
  return { phase: 'update', severity: 'high', startedAt: ep.startedAt, evidence: { hours: r1((at - ep.startedAt) / HOUR) } }
}

/**
 * Judges and learns the closed local hour at x[i] (hour H, kWh, ms covered: electricity-hours.ts
 * closes), at the end of the sample just taken (s.h.last); one less than half covered is missing
 * and breaks a run. Read from `x` and s.h, not passed: a number passed to a function that is not
 * inlined is boxed.
 */
export function closeHour (cfg: Config, s: State, x: Float64Array, i: number): Verdict | null {
  const H = x[i]!, cov = x[i + 2]!, at = s.h.last
  if (H < 0 || cov < HOUR / 2) { s.prevHour = -1; return null }
  const d = H % 24, wh = x[i + 1]! * 1000 * HOUR / cov, u = usualOf(s, d)
  if (Math.floor(H / 24) !== s.day) { commitDay(cfg, s); s.day = Math.floor(H / 24) }
  const sb = standby(s)
  s.daySeen |= 1 << d
  if (wh <= sb + cfg.quietMarginWh) s.dayQuiet |= 1 << d
  if (wh >= sb + cfg.livedInWh) s.dayLived = 1
  if (u < 0) { setUsual(s, d, Math.round(wh)); return null }
  let out: Verdict | null = null
  const thr = threshold(cfg, s, u), excess = wh - u
  if (s.ep !== null) out = excess < thr ? clear(s, at, 'load_gone') : escalate(cfg, s, at)
  else {
    const night = isNight(s, d)
    if (night && excess >= thr && s.prevHour === H - 1 && s.prevRatio >= 1) out = raise(cfg, s, H, at, d, u, thr, excess, HOUR)
    s.prev2Excess = s.prevHour === H - 1 ? s.prevExcess : 0
    s.prevHour = H; s.prevExcess = r1(excess); s.prevRatio = night ? r4(excess / thr) : 0
  }
  // Tracked from below: quick down, slow up and never more than doubling, so a held load barely moves it.
  setUsual(s, d, Math.round(wh < u ? u + cfg.usualFall * (wh - u) : u + cfg.usualRise * (Math.min(wh, 2 * u + 20) - u)))
  return out
}

/** Mid-hour, on the hour being filled (s.h), at the end of the sample just taken (s.h.last): the second loaded hour raises as soon as it crosses the line; an open episode clears or escalates. */
export function judgeSoFar (cfg: Config, s: State): Verdict | null {
  const { hour, cov } = s.h, at = s.h.last, d = hour % 24, u = usualOf(s, d)
  if (u < 0) return null
  const thr = threshold(cfg, s, u), excess = s.h.acc * 1000 - u * cov / HOUR
  if (s.ep !== null) return cov >= cfg.clearAfterMs && excess < thr * cov / HOUR ? clear(s, at, 'load_gone') : escalate(cfg, s, at)
  if (excess >= thr && s.prevHour === hour - 1 && s.prevRatio >= 1 && isNight(s, d)) return raise(cfg, s, hour, at, d, u, thr, excess, cov)
  return null
}

/** Evidence now against the raise threshold: the weaker of the last hour's and this one's so far, when both are usually night. */
export function scoreOf (cfg: Config, s: State): number {
  const { hour, cov } = s.h
  if (hour < 0) return 0
  const d = hour % 24, u = usualOf(s, d)
  const now = u < 0 ? 0 : Math.max(0, (s.h.acc * 1000 - u * cov / HOUR) / threshold(cfg, s, u))
  if (s.ep !== null) return Math.max(1, now)
  return isNight(s, d) && s.prevHour === hour - 1 ? Math.max(0, Math.min(s.prevRatio, now)) : 0
}
