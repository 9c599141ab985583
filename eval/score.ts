/**
 * Scores a run's anomalies against the labels: per kind (a subject's alert counted once however
 * many detectors raise it) and per detector and kind. Pure, so it is tested on made-up anomalies.
 */
import { quantileSorted } from 'simple-statistics'
import type { Anomaly, SubjectKind } from '../vocab/index.ts'
import type { Case, EvalSubject } from './scenarios.ts'
import { EXPECTED, METER_GROUP, METER_KINDS, createEpisodes, expectationOf, isLabelled, judge, type Judgement } from './truth.ts'

const HOUR = 3_600_000

export interface ScoreRow {
  /** null: every detector together, each (subject, kind) alert once. */
  detector: string | null
  /** An alert kind, or `meter_*` for the three meter kinds as one. */
  kind: string
  raises: number
  /** Raises within the kind's window after a matching scenario began. */
  truePositives: number
  /** Raises on a matching scenario, but after its window: neither false nor counted for recall. */
  late: number
  falseAlerts: number
  /** Raises during a trip nobody declared: reported apart, neither true nor false. */
  undeclaredTrip: number
  /** Subjects with a scenario this kind should find, and how many of them it found in time. */
  labelled: number
  detected: number
  recall: number | null
  /** (true + late) / (true + late + false). */
  precision: number | null
  /** False alerts per 100 subject-days of the kind's population (after the warm-up). */
  falsePer100: number | null
  /** Time to detect over the subjects found, hours: from the scenario's start to the raise's data. */
  ttdMedianH: number | null
  ttdP90H: number | null
}

export interface SubjectKindTotals {
  subjects: number
  /** Days per subject after the warm-up, summed. */
  subjectDays: number
  /** Alerts (a subject's kind once per episode) of any kind, and how many of them were false. */
  alerts: number
  falseAlerts: number
  falsePer100: number | null
}

export interface Score {
  kinds: ScoreRow[]
  detectors: ScoreRow[]
  totals: Record<SubjectKind, SubjectKindTotals>
  undeclaredTrips: { trips: number, alerts: number, subjects: number }
  /** False alerts (kind level) by the case of the subject they were raised on: where they come from. */
  falseByCase: Partial<Record<Case, number>>
  /** Inactivity for elders with a door sensor and without: what the door buys. */
  door: { with: DoorGroup, without: DoorGroup }
}

export interface DoorGroup { elders: number, labelled: number, detected: number, ttdMedianH: number | null, ttdP90H: number | null, falseAlerts: number, falsePer100: number | null }

export interface ScoreOptions {
  /** Days simulated. */
  days: number
  /** First days, in which no detector can judge yet, left out of the subject-days. Default 7. */
  warmupDays?: number
}

interface Acc { raises: number, truePositives: number, late: number, falseAlerts: number, undeclaredTrip: number, ttd: Map<string, number> }

const newAcc = (): Acc => ({ raises: 0, truePositives: 0, late: 0, falseAlerts: 0, undeclaredTrip: 0, ttd: new Map() })

function add (acc: Acc, subjectId: string, j: Judgement) {
  acc.raises++
  if (j.verdict === 'true') {
    acc.truePositives++
    if (!acc.ttd.has(subjectId)) acc.ttd.set(subjectId, j.ttdMs!)
  } else if (j.verdict === 'late') acc.late++
  else if (j.verdict === 'false') acc.falseAlerts++
  else acc.undeclaredTrip++
}

/** Median and 90th percentile (linear interpolation); null for no values. */
export function quantiles (values: readonly number[]): { median: number | null, p90: number | null } {
  if (values.length === 0) return { median: null, p90: null }
  const sorted = [...values].sort((a, b) => a - b)
  return { median: quantileSorted(sorted, 0.5), p90: quantileSorted(sorted, 0.9) }
}

export function scoreRun (subjects: readonly EvalSubject[], anomalies: readonly Anomaly[], opts: ScoreOptions): Score {
  const byId = new Map(subjects.map((s) => [s.subjectId, s]))
  const scoredDays = Math.max(0, opts.days - (opts.warmupDays ?? 7))
  const kinds = new Map<string, Acc>(Object.keys(EXPECTED).map((k) => [k, newAcc()]))
  kinds.set(METER_GROUP, newAcc())
  const detectors = new Map<string, Acc>()
  const byKind = createEpisodes()
  const meterGroup = createEpisodes(() => METER_GROUP)
  const totals = { lone_elder: { alerts: 0, falseAlerts: 0 }, rental_unit: { alerts: 0, falseAlerts: 0 } }
  const trip = { alerts: 0, subjects: new Set<string>() }
  const falseByCase: Partial<Record<Case, number>> = {}
  const doorFalse = [0, 0]

  for (const a of anomalies) {
    const opensKind = byKind.opens(a)
    const opensGroup = METER_KINDS.includes(a.kind) && meterGroup.opens(a)
    if (a.phase !== 'raise') continue
    const subject = byId.get(a.subjectId)
    const j = judge(subject, a.kind, a.observedAt)
    const dk = `${a.detector}\u0000${a.kind}`
    if (!detectors.has(dk)) detectors.set(dk, newAcc())
    add(detectors.get(dk)!, a.subjectId, j)
    if (opensGroup) add(kinds.get(METER_GROUP)!, a.subjectId, j)
    if (!opensKind) continue
    if (!kinds.has(a.kind)) kinds.set(a.kind, newAcc())
    add(kinds.get(a.kind)!, a.subjectId, j)
    if (subject !== undefined) {
      totals[subject.subjectKind].alerts++
      if (j.verdict === 'false' && a.kind === 'inactivity') doorFalse[subject.door ? 1 : 0]! += 1
      if (j.verdict === 'false') {
        totals[subject.subjectKind].falseAlerts++
        falseByCase[subject.case] = (falseByCase[subject.case] ?? 0) + 1
      }
    }
    if (j.verdict === 'undeclared_trip') { trip.alerts++; trip.subjects.add(a.subjectId) }
  }

  const doorGroup = (door: boolean): DoorGroup => {
    const elders = subjects.filter((s) => s.subjectKind === 'lone_elder' && s.door === door)
    const labelled = elders.filter((s) => isLabelled(s, 'inactivity')), acc = kinds.get('inactivity')
    const ttd = labelled.flatMap((s) => acc?.ttd.has(s.subjectId) ? [acc.ttd.get(s.subjectId)! / HOUR] : [])
    const q = quantiles(ttd), days = elders.length * scoredDays, n = doorFalse[door ? 1 : 0]!
    return { elders: elders.length, labelled: labelled.length, detected: ttd.length, ttdMedianH: q.median, ttdP90H: q.p90, falseAlerts: n, falsePer100: days > 0 ? n / days * 100 : null }
  }
  const population = (p: SubjectKind | 'all') => subjects.filter((s) => p === 'all' || s.subjectKind === p).length
  function row (detector: string | null, kind: string, acc: Acc): ScoreRow {
    const labelled = subjects.filter((s) => isLabelled(s, kind))
    const ttd = labelled.flatMap((s) => acc.ttd.has(s.subjectId) ? [acc.ttd.get(s.subjectId)! / HOUR] : [])
    const judged = acc.truePositives + acc.late + acc.falseAlerts
    const days = population(expectationOf(kind).population) * scoredDays
    const q = quantiles(ttd)
    return {
      detector, kind, raises: acc.raises, truePositives: acc.truePositives, late: acc.late, falseAlerts: acc.falseAlerts, undeclaredTrip: acc.undeclaredTrip,
      labelled: labelled.length, detected: ttd.length,
      recall: labelled.length > 0 ? ttd.length / labelled.length : null,
      precision: judged > 0 ? (acc.truePositives + acc.late) / judged : null,
      falsePer100: days > 0 ? acc.falseAlerts / days * 100 : null,
      ttdMedianH: q.median, ttdP90H: q.p90,
    }
  }
  const total = (k: SubjectKind): SubjectKindTotals => {
    const n = population(k), days = n * scoredDays
    return { subjects: n, subjectDays: days, ...totals[k], falsePer100: days > 0 ? totals[k].falseAlerts / days * 100 : null }
  }
  return {
    kinds: [...kinds].map(([k, acc]) => row(null, k, acc)).filter((r) => r.raises > 0 || r.labelled > 0),
    detectors: [...detectors].sort(([a], [b]) => a.localeCompare(b)).map(([dk, acc]) => {
      const [d, k] = dk.split('\u0000') as [string, string]
      return row(d, k, acc)
    }),
    totals: { lone_elder: total('lone_elder'), rental_unit: total('rental_unit') },
    undeclaredTrips: {
      trips: subjects.filter((s) => s.declaration === undefined && (s.profile.scenarios ?? []).some((sc) => sc.kind === 'away')).length,
      alerts: trip.alerts,
      subjects: trip.subjects.size,
    },
    falseByCase,
    door: { with: doorGroup(true), without: doorGroup(false) },
  }
}
