/**
 * The water detector's two judgements, each O(1) on the subject's state.
 *
 * Quiet (a lone elder not using water): each closed hour without use adds -ln(1 - p) to the run's
 * surprise, p being how often this person used water in that hour of the day over the last 14
 * learned days. An hour the person nearly always uses water in adds much; a night hour, almost
 * nothing. So a missed morning routine raises within hours, a night never does, and an outing
 * must be longer than the person's usual ones to add up.
 *
 * Leak: flow that never stops, in two tiers. A steady leak shows in every sample for hours,
 * through the night when people sleep and the meter of a sound home stands still; six people
 * sharing a flat can keep the taps going past 3 am, but not in every quarter hour. A slow drip
 * (under a litre a quarter hour) shows only in some samples: it is told from people by never
 * letting a whole hour pass without flow in a day (the rule water meters themselves use).
 */
import type { Severity } from '../vocab/index.ts'
import { HOUR, WINDOW, bits, type State } from './water-state.ts'
import { r4 } from './types.ts'

/** Resolved, frozen options; see WaterOptions in water.ts for meaning and defaults. */
export interface Config {
  offsetMs: number
  warmupHours: number
  raiseSurprise: number
  maxChance: number
  useLitres: number
  minUseHoursPerDay: number
  escalateAfterHours: readonly [number, number]
  maxSpanMs: number
  falseAlarmFactor: number
  minSensitivity: number
  nightEndHour: number
  leakMs: number
  leakNightMs: number
  leakGapMs: number
  slowLeakMs: number
}

/** What the detector wants said: the factory turns it into an Anomaly. */
export interface Verdict {
  kind: 'inactivity' | 'water_leak'
  phase: 'raise' | 'update' | 'clear'
  severity: Severity
  startedAt: number
  evidence: Record<string, unknown>
}

const DAY = 24 * HOUR
export const hourStart = (cfg: Config, h: number) => h * HOUR - cfg.offsetMs

/** How often hour-of-day d had use over the remembered days, smoothed towards 1/2 and capped. */
export function chance (cfg: Config, s: State, d: number): number {
  return Math.min(cfg.maxChance, (bits(s.used[d]!) + 0.5) / (bits(s.known[d]!) + 1))
}

/** Usual hours with use in a day: the person's routine. */
export function usualUseHours (cfg: Config, s: State): number {
  let sum = 0
  for (let d = 0; d < 24; d++) sum += chance(cfg, s, d)
  return sum
}

export function resetQuiet (s: State, at: number) {
  s.quietSince = at; s.surprise = 0; s.missed = 0
}

export function clearQuiet (s: State, reason: string): Verdict | null {
  const ep = s.ep
  if (ep === null) return null
  s.ep = null
  return { kind: 'inactivity', phase: 'clear', severity: ep.severity, startedAt: ep.startedAt, evidence: { reason } }
}

function severityAfter (cfg: Config, ms: number): Severity {
  const [high, critical] = cfg.escalateAfterHours
  return ms >= critical * HOUR ? 'critical' : ms >= high * HOUR ? 'high' : 'medium'
}

/**
 * Closes the current hour at event time `at`. An hour less than half covered, or whose use is
 * known only from a reading spread over a long gap, is missing: it neither adds to a quiet run
 * nor is learned from. `elder`: judge quiet (lone elders only).
 */
export function closeHour (cfg: Config, s: State, at: number, elder: boolean): Verdict | null {
  const h = s.hour, d = h % 24, end = hourStart(cfg, h + 1)
  const known = s.cov >= HOUR / 2 && s.mark !== 2
  if (d < cfg.nightEndHour && known) {
    const litres = s.acc * HOUR / s.cov
    s.nightMin = s.nightMin < 0 ? litres : Math.min(s.nightMin, litres)
  }
  if (d === cfg.nightEndHour - 1 && s.nightMin >= 0) { s.floor = Math.floor(s.nightMin); s.nightMin = -1 }
  if (!known || !elder) return null
  if (end > s.awayFrom && end <= s.awayUntil) {
    s.surprise = 0; s.missed = 0
    return clearQuiet(s, 'away')
  }
  let out: Verdict | null = null
  if (s.mark === 0) {
    const p = chance(cfg, s, d), w = Math.min(1, (end - Math.max(hourStart(cfg, h), s.quietSince)) / HOUR)
    s.surprise = r4(s.surprise - w * Math.log(1 - p))
    s.missed = r4(s.missed + w * p)
    out = judgeQuiet(cfg, s, at)
  }
  if (s.ep === null) {
    s.used[d] = ((s.used[d]! << 1) | s.mark) & WINDOW
    s.known[d] = ((s.known[d]! << 1) | 1) & WINDOW
    s.n++
  }
  return out
}

/** The quiet run's score: 0 normal, 1 the raise threshold. */
export const quietScore = (cfg: Config, s: State) => s.surprise * s.sens / cfg.raiseSurprise

function judgeQuiet (cfg: Config, s: State, at: number): Verdict | null {
  const ep = s.ep
  if (ep !== null) {
    const severity = severityAfter(cfg, at - ep.raisedAt)
    if (severity === ep.severity) return null
    ep.severity = severity
    return ep.muted ? null : { kind: 'inactivity', phase: 'update', severity, startedAt: ep.startedAt, evidence: quietEvidence(cfg, s, at) }
  }
  if (s.n < cfg.warmupHours || quietScore(cfg, s) < 1) return null
  const usual = usualUseHours(cfg, s)
  if (usual < cfg.minUseHoursPerDay) return null
  s.ep = { startedAt: s.quietSince, raisedAt: at, severity: 'medium', muted: false }
  return { kind: 'inactivity', phase: 'raise', severity: 'medium', startedAt: s.quietSince, evidence: { ...quietEvidence(cfg, s, at), usualUseHoursPerDay: +usual.toFixed(1) } }
}

function quietEvidence (cfg: Config, s: State, at: number) {
  return {
    quietHours: +((at - s.quietSince) / HOUR).toFixed(2), missedUseHours: +s.missed.toFixed(2),
    score: +quietScore(cfg, s).toFixed(2), baselineDays: Math.floor(s.n / 24),
    floorLitresPerHour: s.floor, sensitivity: s.sens,
  }
}

/** ms of [from, to) that fall in the local night, [00:00, nightEndHour). */
function nightMs (cfg: Config, from: number, to: number): number {
  const night = cfg.nightEndHour * HOUR
  let ms = 0
  for (let day = Math.floor((from + cfg.offsetMs) / DAY) * DAY - cfg.offsetMs; day < to; day += DAY) {
    ms += Math.max(0, Math.min(to, day + night) - Math.max(from, day))
  }
  return ms
}

/** Follows continuous flow through one sample of `litres` over [start, end). */
export function flow (cfg: Config, s: State, start: number, end: number, litres: number, quiet: boolean): Verdict | null {
  if (litres > 0 && end - start <= cfg.leakGapMs) {
    const night = nightMs(cfg, start, end)
    if (s.steadySince >= 0 && start <= s.lastFlow) s.steadyNightMs += night
    else { s.steadySince = start; s.steadyNightMs = night }
    if (s.flowSince >= 0 && start - s.lastFlow <= cfg.leakGapMs) s.flowNightMs += nightMs(cfg, s.lastFlow, end)
    else { s.flowSince = start; s.flowL = 0; s.flowNightL = 0; s.flowNightMs = night }
    s.lastFlow = end
    s.flowL = r4(s.flowL + litres)
    s.flowNightL = r4(s.flowNightL + litres * night / (end - start))
  } else {
    s.steadySince = -1; s.steadyNightMs = 0
    if (s.flowSince >= 0 && end - s.lastFlow > cfg.leakGapMs) {
      s.flowSince = -1; s.flowL = 0; s.flowNightMs = 0; s.flowNightL = 0
      const ep = s.leak
      if (ep === null) return null
      s.leak = null
      return { kind: 'water_leak', phase: 'clear', severity: ep.severity, startedAt: ep.startedAt, evidence: { reason: 'flow stopped' } }
    }
  }
  // Only one verdict per sample: a leak found while another is said is said on the next sample.
  if (!quiet || s.leak !== null || s.flowSince < 0) return null
  const steady = s.steadySince >= 0 && s.lastFlow - s.steadySince >= cfg.leakMs && s.steadyNightMs >= cfg.leakNightMs
  const ms = s.lastFlow - s.flowSince
  if (!steady && ms < cfg.slowLeakMs) return null
  s.leak = { startedAt: s.flowSince, raisedAt: end, severity: 'medium', muted: false }
  return {
    kind: 'water_leak', phase: 'raise', severity: 'medium', startedAt: s.flowSince,
    evidence: {
      rule: steady ? 'steady' : 'slow', flowHours: +(ms / HOUR).toFixed(2), litres: Math.round(s.flowL), litresPerHour: +(s.flowL * HOUR / ms).toFixed(2),
      nightHours: +(s.flowNightMs / HOUR).toFixed(2), nightLitresPerHour: s.flowNightMs > 0 ? +(s.flowNightL * HOUR / s.flowNightMs).toFixed(2) : null,
    },
  }
}
