import type { z } from 'zod'
import type { Anomaly, Confidence, Consumption, Severity, SubjectEvent } from '../vocab/index.ts'
import type { SubjectIndex } from './subject-index.ts'

/** What the alerts stage learned from a task's outcome, fed back to the detectors. */
export interface Feedback {
  subjectId: string
  /** Event time (epoch ms) until which the subject is away: inactivity is expected. */
  awayUntil?: number
  /** With awayUntil: the absence starts then (declared ahead); default at once. awayUntil 0 cancels. */
  awayFrom?: number
  /** The last alert for this subject was a false alarm. */
  falseAlarm?: boolean
  /** The kind of alert the feedback is about. */
  kind?: string
}

/**
 * A streaming detector. Pure: no database, no MQTT, no timers. Driven only by the
 * event time in the samples, so a replay at any speed gives the same anomalies.
 * O(1) work per sample, small per-subject state.
 */
export interface Detector {
  readonly name: string
  /** Feeds one consumption sample; returns an anomaly when an episode is raised, changes or clears. */
  update (sample: Consumption): Anomaly | null
  /** Applies outcome feedback (away, false alarm) to the subject's state. */
  feedback (fb: Feedback): void
  /** A JSON-able copy of one subject's state, for snapshots; undefined when unknown. */
  snapshot (subjectId: string): unknown
  /** Restores a subject's state from snapshot(). */
  restore (subjectId: string, state: unknown): void
  /** Subjects this detector keeps state for. */
  subjects (): Iterable<string>
  /** Optional: takes a camera event at a subject's door (a door opening tells an outing from a fall). */
  event? (e: SubjectEvent): Anomaly | null
  /**
   * Optional: judges by the wall clock what only the absence of data can show (a meter gone
   * offline while live). `now` is wall-clock epoch ms; called every minute or so by the app.
   */
  tick? (now: number): Anomaly[]
  /**
   * Optional: how far the subject's current evidence has gone towards a raise: 0 is normal,
   * 1 is the raise threshold, more is stronger. For per-row scores in backtests and the UI.
   */
  score? (subjectId: string): number
  /** Optional: the subject index its states are kept by (subject-index.ts), for others in the set to share. */
  readonly index?: SubjectIndex
}

export interface DetectorOptions {
  /** Local time offset, hours, used for time-of-day baselines; default 8. */
  utcOffsetHours?: number
  /** Samples of a meter this says is misbehaving (stuck, offline, corrupt) are a gap, not a silence. Default: none is (createDetectors wires meter health's). */
  suspect?: (deviceId: string) => boolean
  /** The subject ids the detector's states are kept by, shared by the detectors of a set (subject-index.ts; createDetectors makes one). Default: its own. */
  index?: SubjectIndex
}

/** An episode a detector has raised and not yet cleared. */
export interface Episode {
  startedAt: number
  raisedAt: number
  severity: Severity
  /** Told it was a false alarm: no more updates, only the clear. */
  muted: boolean
}

/** Resolved options, every number finite (lists aside), or a RangeError naming the first that is not. */
export function finiteOptions<C extends object> (detector: string, cfg: C): C {
  for (const [k, v] of Object.entries(cfg)) {
    if (typeof v !== 'object' && typeof v !== 'boolean' && typeof v !== 'string' && !Number.isFinite(v)) throw new RangeError(`${detector} option ${k} is not a finite number`)
  }
  return cfg
}

/**
 * A false alarm multiplies a subject's sensitivity (1 at the start) by falseAlarmFactor, never below
 * minSensitivity: a factor above 1 would raise it after a false alarm, and inactivity keeps it in
 * ten-thousandths in 16 bits (at most 1 fits, the least is 0.0001).
 */
export function sensitivityOptions (detector: string, cfg: { falseAlarmFactor: number, minSensitivity: number }): void {
  if (!(cfg.falseAlarmFactor > 0 && cfg.falseAlarmFactor <= 1)) throw new RangeError(`${detector} option falseAlarmFactor must be in (0, 1]: a false alarm lowers the sensitivity, which starts at 1`)
  if (!(cfg.minSensitivity >= 0.0001 && cfg.minSensitivity <= 1)) throw new RangeError(`${detector} option minSensitivity must be in [0.0001, 1]: the sensitivity starts at 1 and is kept in ten-thousandths`)
}

/**
 * Several verdicts from one sample (a spread gap) become one: the latest, a raise staying a
 * raise (an update after it is the same raise, a clear after it cancels it).
 */
export function mergeVerdicts<V extends { phase: 'raise' | 'update' | 'clear' }> (prev: V | null, next: V | null): V | null {
  if (next === null) return prev
  if (prev?.phase === 'raise' && next.phase === 'update') return { ...next, phase: 'raise' }
  if (prev?.phase === 'raise' && next.phase === 'clear') return null
  return next
}

/** Takes an away window from feedback, if it carries one (awayUntil 0 cancels); true when it did. */
export function takeAway (s: { awayFrom: number, awayUntil: number }, fb: Feedback): boolean {
  if (fb.awayUntil === undefined || !Number.isFinite(fb.awayUntil)) return false
  s.awayUntil = fb.awayUntil
  s.awayFrom = fb.awayUntil === 0 ? 0 : fb.awayFrom ?? 0
  return true
}

/** A sensitivity after a false alarm: multiplied by falseAlarmFactor, never below minSensitivity. */
export const lowered = (sens: number, cfg: { falseAlarmFactor: number, minSensitivity: number }) =>
  r4(Math.max(cfg.minSensitivity, sens * cfg.falseAlarmFactor))

/** Rounds to 4 decimals: learned numbers stay short in snapshots and exact across a restore. */
export const r4 = (x: number) => Math.round(x * 1e4) / 1e4

/** Parses a detector's snapshot with its schema; a TypeError names every field that is wrong. */
export function parseSnapshot<T extends z.ZodType> (name: string, schema: T, raw: unknown): z.output<T> {
  const r = schema.safeParse(raw)
  if (!r.success) throw new TypeError(`${name} snapshot: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
  return r.data
}

/**
 * What a welfare anomaly's evidence is worth, on the anomaly (`confidence`, for dispatch: the
 * family first on a weak one, a worker at once on a strong one) and in its evidence with a short
 * basis, so it shows wherever the evidence does.
 */
export function withConfidence (a: Anomaly, level: Confidence, basis: string): Anomaly {
  a.confidence = level
  a.evidence = { ...a.evidence, confidence: level, confidenceBasis: basis }
  return a
}
