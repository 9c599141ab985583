/**
 * Lone-elder inactivity: usage far below this person's own usual level for those hours of the day.
 *
 * Samples are spread into hourly buckets on the local clock, by event time only, so a replay at
 * any speed gives the same anomalies with the data's own times. Each closed hour is compared with
 * the same hour on the last 7 learned days (inactivity-judge.ts): a quiet run grows by one for
 * each hour the person is usually active in and was clearly busier in on most of those days, and
 * ends at the first hour of real activity. Hours usually slept through add nothing, so a night
 * never raises; a run must outlast a half-day outing (minQuietHours) before it raises. A constant
 * load held through the run (a light or TV left on) counts only in part as activity.
 */
import type { Anomaly, Consumption } from '../vocab/index.ts'
import type { Detector, DetectorOptions, Feedback } from './types.ts'
import { HOUR, fromSnapshot, freshState, r4, toSnapshot, type State } from './inactivity-state.ts'
import { activity, clearEpisode, closeHour, hourStart, resetRun, type Config, type Verdict } from './inactivity-judge.ts'

export const INACTIVITY_KIND = 'inactivity'

export interface InactivityOptions extends DetectorOptions {
  /** Days of learning before any alert. Default 7. */
  warmupDays?: number
  /** Raise once a quiet run holds this many hours the person is usually active in, each weighted by the share of the last 7 days on which that hour was clearly busier. Longer than an outing. Default 6.5. */
  minQuietHours?: number
  /** An hour is quiet against a past day when its activity is under this share of that day's. Default 0.35. */
  quietShare?: number
  /** Weight, in activity, of a load held steady through the run's last 3 hours. Default 0.5. */
  heldWeight?: number
  /** ... and of one that looks like a lamp or TV left on, being well above what the person steadily uses at that hour. Default 0. */
  constantWeight?: number
  /** "Well above": over this many times the second lowest of that hour's last 7 days. Default 1.5. */
  steadyFactor?: number
  /** Quantile of the last 7 days' hourly energy taken as the standby floor. Default 0.2. */
  floorQuantile?: number
  /** Waking hours in a day, to turn daily activity into a usual waking hour's. Default 16. */
  wakingHours?: number
  /** An hour of day counts as usually active when its usual use is at least this many kWh above standby... Default 0.02. */
  usualKwh?: number
  /** ... and this share of a usual waking hour's activity. Default 0.1. */
  usualFraction?: number
  /** Below this usual daily activity (kWh above standby) there is no routine to miss: never raise. Default 0.5. */
  minDailyActivityKwh?: number
  /** An hour this many kWh above the quiet level is activity (ends the quiet, clears)... Default 0.1. */
  minActiveKwh?: number
  /** ... or this share of a usual waking hour's activity, whichever is larger. Default 0.5. */
  activeFraction?: number
  /** Hours after the raise at which severity becomes high, then critical. Default [4, 12]. */
  escalateAfterHours?: readonly [number, number]
  /** A sample spanning more hours than this is a data gap, not spread. Default 48. */
  maxSpanHours?: number
  /** A false alarm multiplies the subject's sensitivity by this. Default 0.75. */
  falseAlarmFactor?: number
  /** Sensitivity never drops below this. Default 0.4. */
  minSensitivity?: number
}

function resolve (o: InactivityOptions): Config {
  const cfg: Config = {
    offsetMs: (o.utcOffsetHours ?? 8) * HOUR,
    warmupHours: (o.warmupDays ?? 7) * 24,
    minQuietHours: o.minQuietHours ?? 6.5,
    quietShare: o.quietShare ?? 0.35,
    heldWeight: o.heldWeight ?? 0.5,
    constantWeight: o.constantWeight ?? 0,
    steadyFactor: o.steadyFactor ?? 1.5,
    floorQuantile: o.floorQuantile ?? 0.2,
    wakingHours: o.wakingHours ?? 16,
    usualWh: (o.usualKwh ?? 0.02) * 1000,
    usualFraction: o.usualFraction ?? 0.1,
    minDailyActivityWh: (o.minDailyActivityKwh ?? 0.5) * 1000,
    minActiveWh: (o.minActiveKwh ?? 0.1) * 1000,
    activeFraction: o.activeFraction ?? 0.5,
    escalateAfterHours: o.escalateAfterHours ?? [4, 12],
    maxSpanMs: (o.maxSpanHours ?? 48) * HOUR,
    falseAlarmFactor: o.falseAlarmFactor ?? 0.75,
    minSensitivity: o.minSensitivity ?? 0.4,
  }
  for (const [k, v] of Object.entries(cfg)) {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new RangeError(`inactivity option ${k} is not a finite number`)
  }
  return Object.freeze(cfg)
}

/** Several verdicts from one sample (a spread gap) become one anomaly: the latest, a raise staying a raise. */
function merge (prev: Verdict | null, next: Verdict | null): Verdict | null {
  if (next === null) return prev
  if (prev?.phase === 'raise' && next.phase === 'update') return { ...next, phase: 'raise' }
  if (prev?.phase === 'raise' && next.phase === 'clear') return null
  return next
}

export function createInactivityDetector (opts: InactivityOptions = {}): Detector {
  const cfg = resolve(opts)
  const name = 'inactivity'
  const states = new Map<string, State>()
  const idx = (t: number) => Math.floor((t + cfg.offsetMs) / HOUR)

  function openHour (s: State, h: number) {
    s.hour = h; s.acc = 0; s.cov = 0; s.fill = 0
  }

  /** Closes the current hour; an hour less than half covered is missing: it neither extends nor ends a quiet run. */
  function close (s: State, at: number): Verdict | null {
    if (s.hour < 0) return null
    if (s.cov < HOUR / 2) return null
    return closeHour(cfg, s, s.hour, Math.round(s.acc * 1000 * HOUR / s.cov), at)
  }

  function ingest (s: State, c: Consumption): Verdict | null {
    const end = c.ts
    let start = end - c.intervalMs, amount = c.amount
    if (end <= s.last) return null
    if (start < s.last) { amount *= (end - s.last) / (end - start); start = s.last }
    let out = s.ep && start < s.awayUntil ? clearEpisode(s, 'away') : null
    s.last = end
    if (end - start > cfg.maxSpanMs) {
      out = merge(out, close(s, end))
      openHour(s, idx(end)); resetRun(s)
      return out
    }
    const rate = amount / (end - start), long = end - start > HOUR
    for (let t = start; t < end;) {
      const h = idx(t)
      if (h !== s.hour) { out = merge(out, close(s, end)); openHour(s, h) }
      const segEnd = Math.min(end, hourStart(cfg, h + 1)), dt = segEnd - t
      s.acc = r4(s.acc + rate * dt); s.cov += dt
      if (long) s.fill += dt
      t = segEnd
    }
    if (end === hourStart(cfg, s.hour + 1)) { out = merge(out, close(s, end)); openHour(s, s.hour + 1) }
    else if (s.ep) {
      // Activity returning mid-hour clears at once.
      if (activity(cfg, s, s.hour % 24, s.acc * 1000, s.cov / HOUR).active) {
        resetRun(s)
        out = merge(out, clearEpisode(s, 'activity'))
      }
    }
    return out
  }

  return {
    name,
    update (c: Consumption): Anomaly | null {
      if (c.subjectKind !== 'lone_elder' || c.unit !== 'kwh') return null
      if (!Number.isFinite(c.ts) || !(c.intervalMs > 0 && c.intervalMs < Infinity) || !(c.amount >= 0 && c.amount < Infinity)) return null
      let s = states.get(c.subjectId)
      if (s === undefined) { s = freshState(); states.set(c.subjectId, s) }
      const v = ingest(s, c)
      if (v === null) return null
      return { subjectId: c.subjectId, detector: name, kind: INACTIVITY_KIND, phase: v.phase, severity: v.severity, startedAt: v.startedAt, observedAt: c.ts, evidence: v.evidence }
    },
    feedback (fb: Feedback) {
      if (fb.kind !== undefined && fb.kind !== INACTIVITY_KIND) return
      let s = states.get(fb.subjectId)
      if (s === undefined) { s = freshState(); states.set(fb.subjectId, s) }
      if (fb.awayUntil !== undefined && Number.isFinite(fb.awayUntil)) s.awayUntil = fb.awayUntil
      if (fb.falseAlarm) {
        s.sens = r4(Math.max(cfg.minSensitivity, s.sens * cfg.falseAlarmFactor))
        if (s.ep) s.ep.muted = true
      }
    },
    snapshot (subjectId: string) {
      const s = states.get(subjectId)
      return s && toSnapshot(s)
    },
    restore (subjectId: string, state: unknown) {
      states.set(subjectId, fromSnapshot(state))
    },
    subjects () { return states.keys() },
  }
}
