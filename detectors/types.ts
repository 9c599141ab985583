import type { Anomaly, Consumption, SubjectEvent } from '../vocab/index.ts'

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
}

export interface DetectorOptions {
  /** Local time offset, hours, used for time-of-day baselines; default 8. */
  utcOffsetHours?: number
}
