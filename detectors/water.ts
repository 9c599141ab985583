/**
 * Water meters (unit m3, both subject kinds): a lone elder not using water through the hours
 * they usually do (kind `inactivity`, said as detector `water_quiet`), and water that never stops
 * flowing (kind `water_leak`, detector `water_leak`, any subject).
 *
 * Shanghai's rule pages after 12 hours under 0.01 m3. Learning when this person usually uses
 * water (water-judge.ts) lets a missed morning raise in about half that, while a night or an
 * ordinary outing, whose hours carry little weight or are too few, does not. A sample is use
 * when it is `useLitres` above the night's floor, so that a small leak does not hide a quiet home.
 * Driven by event time only; a cumulative register that did not move over a gap proves no use
 * over the gap, so a zero reading spanning hours counts, a non-zero one is use at its end.
 */
import type { Anomaly, Consumption } from '../vocab/index.ts'
import { finiteOptions, lowered, mergeVerdicts, r4, sensitivityOptions, takeAway, withConfidence, type Detector, type DetectorOptions, type Feedback } from './types.ts'
import { HOUR, fromSnapshot, freshState, toSnapshot, type State } from './water-state.ts'
import { clearQuiet, closeHour, flow, quietScore, resetQuiet, type Config, type Verdict } from './water-judge.ts'
import { inside, spread, take, taken } from './hours.ts'

export const WATER_QUIET = 'water_quiet'
export const WATER_LEAK = 'water_leak'

export interface WaterOptions extends DetectorOptions {
  /** Days of learning before any quiet alert. Default 7. */
  warmupDays?: number
  /** Raise when the quiet run's surprise (sum over its hours of -ln(1 - p), p how often the person used water in that hour of the day) reaches this. Default 7.5. */
  raiseSurprise?: number
  /** An hour's chance of use is capped at this, so no single hour weighs more than -ln(1 - cap). Default 0.8. */
  maxChance?: number
  /** A sample is use when it holds this many litres above the night floor for its length. Default 2. */
  useLitres?: number
  /** Below this many usual hours with use per day there is no routine to miss: never raise. Default 4. */
  minUseHoursPerDay?: number
  /** Hours after the raise at which severity becomes high, then critical. Default [4, 12]. */
  escalateAfterHours?: readonly [number, number]
  /** A sample spanning more hours than this is a data gap, not evidence. Default 48. */
  maxSpanHours?: number
  /** A false alarm multiplies the subject's sensitivity by this. Default 0.75. */
  falseAlarmFactor?: number
  /** Sensitivity never drops below this. Default 0.4. */
  minSensitivity?: number
  /** The night, for the floor and for leaks, is local [00:00, this hour). Default 6. */
  nightEndHour?: number
  /** A steady leak: flow in every sample for at least this many hours... Default 6. */
  leakHours?: number
  /** ... of which at least this many at night. Default 3. */
  leakNightHours?: number
  /** A slow leak: flow never pausing longer than leakGapMinutes for this many hours. Default 24. */
  slowLeakHours?: number
  /** A pause in flow longer than this many minutes ends a slow leak's run (and clears a leak). Default 60. */
  leakGapMinutes?: number
}

function resolve (o: WaterOptions): Config {
  const cfg: Config = {
    offsetMs: (o.utcOffsetHours ?? 8) * HOUR,
    warmupHours: (o.warmupDays ?? 7) * 24,
    raiseSurprise: o.raiseSurprise ?? 7.5,
    maxChance: o.maxChance ?? 0.8,
    useLitres: o.useLitres ?? 2,
    minUseHoursPerDay: o.minUseHoursPerDay ?? 4,
    escalateAfterHours: o.escalateAfterHours ?? [4, 12],
    maxSpanMs: (o.maxSpanHours ?? 48) * HOUR,
    falseAlarmFactor: o.falseAlarmFactor ?? 0.75,
    minSensitivity: o.minSensitivity ?? 0.4,
    nightEndHour: o.nightEndHour ?? 6,
    leakMs: (o.leakHours ?? 6) * HOUR,
    leakNightMs: (o.leakNightHours ?? 3) * HOUR,
    leakGapMs: (o.leakGapMinutes ?? 60) * 60_000,
    slowLeakMs: (o.slowLeakHours ?? 24) * HOUR,
  }
  finiteOptions('water', cfg)
  sensitivityOptions('water', cfg)
  if (!(cfg.maxChance > 0 && cfg.maxChance < 1)) throw new RangeError('water option maxChance must be in (0, 1)')
  if (!(cfg.nightEndHour >= 1 && cfg.nightEndHour <= 12)) throw new RangeError('water option nightEndHour must be in [1, 12]')
  return Object.freeze(cfg)
}


/** A water detector with its extra question: since when has this subject's meter shown no use? */
export interface WaterDetector extends Detector {
  /** Event time since which the meter has shown no use; null when the subject has no water data. */
  quietSince (subjectId: string): number | null
  /** The quiet run's score: 0 normal, 1 the raise threshold, more is stronger. 0 when unknown. */
  score (subjectId: string): number
}

export function createWaterDetector (opts: WaterOptions = {}): WaterDetector {
  const cfg = resolve(opts)
  const suspect = opts.suspect ?? (() => false)
  const states = new Map<string, State>()
  const hours = {
    size: HOUR,
    offsetMs: cfg.offsetMs,
    start: 0,
    end: 0,
    /** The sample being spread: its litres and length, what it marks its hours with, whether the subject is an elder. */
    litres: 0,
    span: 0,
    mark: 0,
    elder: false,
    move (s: State, h: number, at: number) {
      const out = s.hour >= 0 ? closeHour(cfg, s, at, this.elder) : null
      s.hour = h; s.acc = 0; s.cov = 0; s.mark = 0
      return out
    },
    add (s: State, dt: number) {
      s.acc = r4(s.acc + this.litres * dt / this.span); s.cov += dt
      if (this.mark > s.mark) s.mark = this.mark
    },
  }

  function ingest (s: State, c: Consumption, isElder: boolean): Verdict | null {
    if (!take(s, c.ts, c.intervalMs, c.amount * 1000)) return null
    const end = c.ts, start = taken.start, litres = taken.amount
    if (s.quietSince < 0) s.quietSince = start
    let out = s.ep && end > s.awayFrom && start < s.awayUntil ? clearQuiet(s, 'away') : null
    // An implausible register jump says nothing about use, and a span too long is a gap.
    if (c.registerFault === 'implausible' || end - start > cfg.maxSpanMs) return mergeVerdicts(out, flow(cfg, s, end, end, 0, false))
    const span = end - start
    const use = litres - s.floor * span / HOUR >= cfg.useLitres
    hours.start = start; hours.end = end; hours.litres = litres; hours.span = span; hours.mark = use ? (span > HOUR ? 2 : 1) : 0; hours.elder = isElder
    if (inside(hours, s.hour, start, end)) hours.add(s, end - start)
    else out = spread(hours, s, s.hour, out)
    if (use) {
      resetQuiet(s, end)
      out = mergeVerdicts(out, clearQuiet(s, 'activity'))
    }
    return mergeVerdicts(out, flow(cfg, s, start, end, litres, out === null))
  }

  const anomaly = (c: Consumption, v: Verdict): Anomaly => {
    const a: Anomaly = {
      subjectId: c.subjectId, detector: v.kind === 'inactivity' ? WATER_QUIET : WATER_LEAK, kind: v.kind,
      phase: v.phase, severity: v.severity, startedAt: v.startedAt, observedAt: c.ts, evidence: v.evidence,
    }
    if (v.kind !== 'inactivity') return a
    // Welfare from one water meter alone: a routine guess, stronger once escalated.
    return v.severity === 'medium' || v.phase === 'clear'
      ? withConfidence(a, 'low', 'one water meter: no water through hours this person usually uses it')
      : withConfidence(a, 'medium', 'one water meter, quiet far past this person\'s usual hours')
  }

  return {
    name: 'water',
    update (c: Consumption): Anomaly | null {
      if (c.unit !== 'm3' || suspect(c.deviceId)) return null
      if (!Number.isFinite(c.ts) || !(c.intervalMs > 0 && c.intervalMs < Infinity) || !(c.amount >= 0 && c.amount < Infinity)) return null
      let s = states.get(c.subjectId)
      if (s === undefined) { s = freshState(); states.set(c.subjectId, s) }
      const v = ingest(s, c, c.subjectKind === 'lone_elder')
      return v === null ? null : anomaly(c, v)
    },
    feedback (fb: Feedback) {
      if (fb.kind !== undefined && fb.kind !== 'inactivity') return
      let s = states.get(fb.subjectId)
      if (s === undefined) { s = freshState(); states.set(fb.subjectId, s) }
      takeAway(s, fb)
      if (fb.falseAlarm) {
        s.sens = lowered(s.sens, cfg)
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
    score (subjectId: string) {
      const s = states.get(subjectId)
      return s === undefined ? 0 : quietScore(cfg, s)
    },
    quietSince (subjectId: string) {
      const s = states.get(subjectId)
      return s === undefined || s.quietSince < 0 ? null : s.quietSince
    },
  }
}
