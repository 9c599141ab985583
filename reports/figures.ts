import { quantileSorted } from 'simple-statistics'
import { ALERT_CATEGORIES, categoryOf, type AlertCategory } from '../alerts/views.ts'

/** One alert (a case) with one of its tasks, as reports read them. */
export interface CaseRow {
  alertId: string
  source: 'detector' | 'report'
  kind: string
  path: string[]
  raisedAt: number
  /** How the alert ended when no task did (false_alarm after a check-in, self_resolved). */
  alertOutcome: string | null
  taskId: string | null
  taskCreatedAt: number | null
  taskOutcome: string | null
  /** First move to acknowledged or on site. */
  ackedAt: number | null
  resolvedAt: number | null
  ackDue: number | null
  resolveDue: number | null
  escalations: number
  /** Check-ins of the alert answered "well". */
  wellCheckins: number
}

export interface Spread { count: number, median: number | null, p90: number | null }

export interface Figures {
  cases: number
  byCategory: Record<AlertCategory, number>
  bySource: { detector: number, report: number }
  tasks: number
  /** Task created -> first acknowledged (or on site), minutes. */
  responseMinutes: Spread
  /** Task created -> resolved, minutes; self-resolved tasks left out. */
  resolutionMinutes: Spread
  /** Tasks never escalated, acknowledged by their ack deadline and resolved by their resolve deadline (where set). */
  withinDeadline: { count: number, share: number | null }
  /** Cases that were false alarms (a worker's outcome, or a contact's "all well"); share of all cases. */
  falseAlarms: { count: number, share: number | null }
  /** Cases that cleared before anyone acted. */
  selfResolved: number
  /** Cases closed by a contact's "all well" to a check-in: a visit nobody had to make. */
  visitsAvoided: number
  /** Escalations recorded on the period's tasks. */
  escalations: number
  /** Tasks not resolved by the end of the period. */
  unresolved: number
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits

/** Median and 90th percentile, interpolated linearly between ranks (simple-statistics' quantileSorted: R type 7, numpy's default, Excel's PERCENTILE.INC). */
export function spread (values: number[]): Spread {
  if (values.length === 0) return { count: 0, median: null, p90: null }
  const sorted = [...values].sort((a, b) => a - b)
  return { count: sorted.length, median: round(quantileSorted(sorted, 0.5), 2), p90: round(quantileSorted(sorted, 0.9), 2) }
}

/** The report's figures over the rows of one period and part of the tree; `to` is the period's end. */
export function figuresOf (rows: readonly CaseRow[], to: number): Figures {
  const cases = new Map<string, CaseRow[]>()
  for (const r of rows) cases.set(r.alertId, [...(cases.get(r.alertId) ?? []), r])
  const byCategory = Object.fromEntries(ALERT_CATEGORIES.map((c) => [c, 0])) as Record<AlertCategory, number>
  const bySource = { detector: 0, report: 0 }
  let falseAlarms = 0
  let selfResolved = 0
  let visitsAvoided = 0
  for (const rs of cases.values()) {
    const a = rs[0]!
    byCategory[categoryOf(a.kind, a.source)]++
    bySource[a.source]++
    if (a.alertOutcome === 'false_alarm' || rs.some((r) => r.taskOutcome === 'false_alarm')) falseAlarms++
    if (a.alertOutcome === 'self_resolved' || rs.some((r) => r.taskOutcome === 'self_resolved')) selfResolved++
    if (a.wellCheckins > 0) visitsAvoided++
  }
  const tasks = rows.filter((r) => r.taskId !== null)
  const minutes = (a: number, b: number) => (b - a) / 60_000
  const within = tasks.filter((t) => t.escalations === 0 &&
    (t.ackedAt === null || t.ackDue === null || t.ackedAt <= t.ackDue) &&
    (t.resolvedAt === null || t.resolveDue === null || t.resolvedAt <= t.resolveDue)).length
  return {
    cases: cases.size,
    byCategory,
    bySource,
    tasks: tasks.length,
    responseMinutes: spread(tasks.filter((t) => t.ackedAt !== null).map((t) => minutes(t.taskCreatedAt!, t.ackedAt!))),
    resolutionMinutes: spread(tasks.filter((t) => t.resolvedAt !== null && t.taskOutcome !== 'self_resolved').map((t) => minutes(t.taskCreatedAt!, t.resolvedAt!))),
    withinDeadline: { count: within, share: tasks.length ? round(within / tasks.length, 4) : null },
    falseAlarms: { count: falseAlarms, share: cases.size ? round(falseAlarms / cases.size, 4) : null },
    selfResolved,
    visitsAvoided,
    escalations: tasks.reduce((n, t) => n + t.escalations, 0),
    unresolved: tasks.filter((t) => t.resolvedAt === null || t.resolvedAt >= to).length,
  }
}

/** The figures as flat columns, for CSV and XLSX. */
export function flatten (f: Figures): Array<[string, number | null]> {
  return [
    ['cases', f.cases],
    ...ALERT_CATEGORIES.map((c): [string, number] => [c, f.byCategory[c]]),
    ['source_detector', f.bySource.detector], ['source_report', f.bySource.report],
    ['tasks', f.tasks],
    ['response_count', f.responseMinutes.count], ['response_median_min', f.responseMinutes.median], ['response_p90_min', f.responseMinutes.p90],
    ['resolution_count', f.resolutionMinutes.count], ['resolution_median_min', f.resolutionMinutes.median], ['resolution_p90_min', f.resolutionMinutes.p90],
    ['within_deadline', f.withinDeadline.count], ['within_deadline_share', f.withinDeadline.share],
    ['false_alarms', f.falseAlarms.count], ['false_alarm_share', f.falseAlarms.share],
    ['self_resolved', f.selfResolved], ['visits_avoided', f.visitsAvoided], ['escalations', f.escalations], ['unresolved', f.unresolved],
  ]
}
