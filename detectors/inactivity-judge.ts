/**
 * What happens when an hour closes: judge it against the same hour on the subject's last 7
 * learned days, extend or end the current quiet run, then learn from the hour. O(1): a handful
 * of numbers and the 7 remembered values of that hour and its neighbours. Energies here are whole
 * Wh per hour.
 */
import type { Severity } from '../vocab/index.ts'
import { quantileSorted } from 'simple-statistics'
import { DAYS, HOUR, remember, remembered, type State } from './inactivity-state.ts'

/** Resolved, frozen options; see InactivityOptions in inactivity.ts for meaning and defaults. */
export interface Config {
  offsetMs: number
  warmupHours: number
  minQuietHours: number
  quietShare: number
  heldWeight: number
  constantWeight: number
  steadyFactor: number
  floorQuantile: number
  wakingHours: number
  usualWh: number
  usualFraction: number
  minDailyActivityWh: number
  minActiveWh: number
  activeFraction: number
  escalateAfterHours: readonly [number, number]
  maxSpanMs: number
  falseAlarmFactor: number
  minSensitivity: number
}

/** What the detector wants said: the factory turns it into an Anomaly. */
export interface Verdict {
  phase: 'raise' | 'update' | 'clear'
  severity: Severity
  startedAt: number
  evidence: Record<string, unknown>
}

export const hourStart = (cfg: Config, h: number) => h * HOUR - cfg.offsetMs

/** The subject's usual day: activity above standby per day, and the thresholds derived from it. */
export function profile (cfg: Config, s: State) {
  let daily = 0
  for (const b of s.base) daily += Math.max(0, b - s.floor)
  const perHour = daily / cfg.wakingHours
  return {
    daily,
    /** An hour of day whose usual use above standby reaches this is one the person is usually active in. */
    usual: Math.max(cfg.usualWh, cfg.usualFraction * perHour),
    /** This much use in an hour, beyond standby, a held load and a timed appliance, is activity: it ends a quiet run. */
    active: Math.max(cfg.minActiveWh, cfg.activeFraction * perHour),
  }
}

/** The least, and second least, hour-of-day d used above standby over the remembered days. */
function lows (s: State, d: number) {
  let lo = Infinity, lo2 = Infinity
  for (let i = d * DAYS; i < d * DAYS + DAYS; i++) {
    const v = s.hist[i]!
    if (v < 0) continue
    if (v < lo) { lo2 = lo; lo = v } else if (v < lo2) lo2 = v
  }
  return { least: aboveFloor(s, lo), steady: aboveFloor(s, Number.isFinite(lo2) ? lo2 : lo) }
}

function aboveFloor (s: State, v: number): number {
  return Number.isFinite(v) ? Math.max(0, v - s.floor) : 0
}

/**
 * Wh above standby in `hours` of metering in hour-of-day d; the part of it that counts as
 * activity; and whether that is activity enough to end a quiet run.
 *
 * A load held through the run's last hours and this one counts with weight heldWeight; well
 * above what the person steadily uses at this hour (the second least of the remembered days), it
 * looks like a lamp or TV left on and counts with weight constantWeight. A timed appliance (a
 * water heater reheating at the same minutes every day, people or not) shows as a bump in this
 * hour's least that the neighbouring hours lack: up to the activity threshold, it is not activity.
 */
export function activity (cfg: Config, s: State, d: number, wh: number, hours = 1) {
  const { least, steady } = lows(s, d)
  let low = wh / hours
  for (const r of s.runRecent) if (r >= 0) low = Math.min(low, r)
  const held = s.runHours > 0 ? Math.max(0, low - s.floor) : 0
  const weight = held > cfg.steadyFactor * steady ? cfg.constantWeight : cfg.heldWeight
  const above = Math.max(0, wh - s.floor * hours)
  const effective = above - (1 - weight) * held * hours
  const { active: threshold } = profile(cfg, s)
  const bump = Math.max(0, least - Math.max(lows(s, (d + 23) % 24).least, lows(s, (d + 1) % 24).least))
  const active = effective - Math.min(bump, threshold) * hours >= threshold
  return { above, effective, constant: held, active }
}

export function resetRun (s: State) {
  s.runStart = -1; s.runScore = 0; s.runHours = 0; s.runUsual = 0; s.runActual = 0; s.runRecent = [-1, -1]
}

export function clearEpisode (s: State, reason: string): Verdict | null {
  const ep = s.ep
  if (ep === null) return null
  s.ep = null
  return { phase: 'clear', severity: ep.severity, startedAt: ep.startedAt, evidence: { reason } }
}

/** Closes hour `h` with `wh`, observed at event time `at`; learns from it unless it is part of an episode or away. */
export function closeHour (cfg: Config, s: State, h: number, wh: number, at: number): Verdict | null {
  const verdict = judge(cfg, s, h, wh, at)
  const spread = s.fill > s.cov / 2
  if (s.ep === null && hourStart(cfg, h + 1) > s.awayUntil && !spread) {
    const d = h % 24
    remember(s, d, wh)
    s.n++
    if (d === 23 || s.n <= 24) s.floor = Math.round(quantileSorted(remembered(s), cfg.floorQuantile))
  }
  return verdict
}

function severityAfter (cfg: Config, ms: number): Severity {
  const [high, critical] = cfg.escalateAfterHours
  return ms >= critical * HOUR ? 'critical' : ms >= high * HOUR ? 'high' : 'medium'
}

/** Share of the remembered days on which this hour was clearly busier than `effective` Wh above standby. */
function quietness (cfg: Config, s: State, d: number, effective: number, usual: number) {
  let known = 0, busier = 0
  for (let i = d * DAYS; i < d * DAYS + DAYS; i++) {
    const v = s.hist[i]!
    if (v < 0) continue
    known++
    const usedThen = v - s.floor
    if (usedThen >= usual && effective < cfg.quietShare * usedThen) busier++
  }
  return known === 0 ? 0 : busier / known
}

const kwh = (wh: number) => +(wh / 1000).toFixed(3)

function judge (cfg: Config, s: State, h: number, wh: number, at: number): Verdict | null {
  if (hourStart(cfg, h + 1) <= s.awayUntil) {
    resetRun(s)
    return clearEpisode(s, 'away')
  }
  if (s.n < cfg.warmupHours) return null
  const p = profile(cfg, s)
  const act = activity(cfg, s, h % 24, wh)
  if (act.active) {
    resetRun(s)
    return clearEpisode(s, 'activity')
  }
  const d = h % 24, usual = Math.max(0, s.base[d]! - s.floor)
  if (s.runHours === 0) s.runStart = hourStart(cfg, h)
  s.runHours++
  s.runRecent = [s.runRecent[1]!, wh]
  s.runActual += act.above
  if (usual >= p.usual) {
    s.runUsual += usual
    s.runScore = Math.round((s.runScore + quietness(cfg, s, d, act.effective, p.usual)) * 1e4) / 1e4
  }
  const evidence = {
    quietHours: +s.runScore.toFixed(2), runHours: s.runHours,
    usualKwh: kwh(s.runUsual), actualKwh: kwh(s.runActual),
    ratio: s.runUsual > 0 ? +(s.runActual / s.runUsual).toFixed(3) : null,
    baselineDays: Math.floor(s.n / 24), standbyKwhPerHour: kwh(s.floor),
    constantKwhPerHour: kwh(act.constant), sensitivity: s.sens,
  }
  const ep = s.ep
  if (ep !== null) {
    const severity = severityAfter(cfg, at - ep.raisedAt)
    if (severity === ep.severity) return null
    ep.severity = severity
    return ep.muted ? null : { phase: 'update', severity, startedAt: ep.startedAt, evidence }
  }
  if (p.daily < cfg.minDailyActivityWh || s.runScore < cfg.minQuietHours / s.sens) return null
  s.ep = { startedAt: s.runStart, raisedAt: at, severity: 'medium', muted: false }
  return { phase: 'raise', severity: 'medium', startedAt: s.runStart, evidence }
}
