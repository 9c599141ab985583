/**
 * What each alert kind is meant to find, and whether one raise found it: the labels of the
 * simulated households against the detectors' word.
 */
import type { MeterFault, Scenario } from '../simulators/index.ts'
import type { Anomaly, SubjectKind } from '../vocab/index.ts'
import { DAY, HOUR, type EvalSubject } from './scenarios.ts'

export interface Expectation {
  /** The labelled scenario a raise of this kind is right about; none: every raise is false. */
  scenario?: Scenario['kind']
  /** Only this fault counts towards the kind's recall (any meter fault still makes a raise true). */
  fault?: MeterFault
  /** A raise this soon after the scenario began counts for recall; later it is `late`. */
  windowMs: number
  /** Subjects whose days make the false-alert rate's denominator. */
  population: SubjectKind | 'all'
}

/** Recall window for everything but incapacitation, which must be found within the day. */
const DAYS_3 = 3 * DAY

export const EXPECTED: Readonly<Record<string, Expectation>> = Object.freeze({
  inactivity: { scenario: 'incapacitated', windowMs: 24 * HOUR, population: 'lone_elder' },
  night_load: { windowMs: 0, population: 'lone_elder' },
  water_leak: { windowMs: 0, population: 'lone_elder' },
  crowding: { scenario: 'crowded', windowMs: DAYS_3, population: 'rental_unit' },
  vacancy: { scenario: 'vacant', windowMs: DAYS_3, population: 'rental_unit' },
  ebike_charging: { scenario: 'ebike_charging', windowMs: DAYS_3, population: 'rental_unit' },
  meter_offline: { scenario: 'meter_fault', fault: 'offline', windowMs: DAYS_3, population: 'all' },
  meter_stuck: { scenario: 'meter_fault', fault: 'stuck', windowMs: DAYS_3, population: 'all' },
  /** The register itself misbehaving (a reset, an implausible jump): of the simulated faults, the reset. */
  meter_fault: { scenario: 'meter_fault', fault: 'reset', windowMs: DAYS_3, population: 'all' },
})

/** The meter kinds are also scored as one: any of them on a faulty meter found the fault. */
export const METER_GROUP = 'meter_*'
export const METER_KINDS: readonly string[] = ['meter_offline', 'meter_stuck', 'meter_fault']
const GROUP_EXPECTATION: Expectation = { scenario: 'meter_fault', windowMs: DAYS_3, population: 'all' }

/** An unknown kind has no scenario and is judged over every subject. */
export function expectationOf (kind: string): Expectation {
  if (kind === METER_GROUP) return GROUP_EXPECTATION
  return EXPECTED[kind] ?? { windowMs: 0, population: 'all' }
}

export const scenarioStart = (s: Scenario): number => s.kind === 'incapacitated' ? s.at : s.from

/**
 * true: a matching scenario began at most the kind's window before (recall counts it);
 * late: it began earlier still (right, but too slow to count); undeclared_trip: the subject was
 * on a trip nobody declared (neither right nor wrong); false: anything else.
 */
export type Verdict = 'true' | 'late' | 'false' | 'undeclared_trip'

export interface Judgement { verdict: Verdict, /** Time to detect, ms, when true. */ ttdMs?: number }

export function judge (subject: EvalSubject | undefined, kind: string, observedAt: number): Judgement {
  if (subject === undefined) return { verdict: 'false' }
  const exp = expectationOf(kind)
  const scenarios = subject.profile.scenarios ?? []
  let late = false
  for (const sc of scenarios) {
    if (sc.kind !== exp.scenario) continue
    const start = scenarioStart(sc)
    if (observedAt < start) continue
    if (observedAt - start <= exp.windowMs) return { verdict: 'true', ttdMs: observedAt - start }
    late = true
  }
  if (late) return { verdict: 'late' }
  if (subject.declaration === undefined && scenarios.some((sc) => sc.kind === 'away' && observedAt >= sc.from && observedAt < sc.until)) {
    return { verdict: 'undeclared_trip' }
  }
  return { verdict: 'false' }
}

/** Does the subject carry a scenario this kind should find (recall's denominator)? */
export function isLabelled (subject: EvalSubject, kind: string): boolean {
  const exp = expectationOf(kind)
  return (subject.profile.scenarios ?? []).some((sc) => sc.kind === exp.scenario && (exp.fault === undefined || (sc.kind === 'meter_fault' && sc.fault === exp.fault)))
}

/**
 * Alerts as the alerts stage opens them: one open episode per (subject, key) however many
 * detectors raise it; it closes when every detector that raised it has cleared.
 */
export function createEpisodes (keyOf: (a: Anomaly) => string = (a) => a.kind) {
  const open = new Map<string, Set<string>>()
  return {
    /** Takes one anomaly in order; true when it opens a new episode. */
    opens (a: Anomaly): boolean {
      const key = `${a.subjectId}\u0000${keyOf(a)}`
      let by = open.get(key)
      if (a.phase === 'clear') {
        by?.delete(a.detector)
        return false
      }
      if (a.phase !== 'raise') return false
      if (by === undefined) { by = new Set(); open.set(key, by) }
      // A detector that raises again without having cleared began a new episode (inactivity: a silence told false raised again).
      const fresh = by.size === 0 || by.has(a.detector)
      by.add(a.detector)
      return fresh
    },
  }
}
