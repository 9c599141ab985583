import type { Severity, TaskState } from '../vocab/index.ts'

const MIN = 60_000

/** Wall-clock deadlines by severity: how soon a worker must acknowledge, and be at the door. */
export const DEADLINES: Record<Severity, { ackMs: number, arriveMs: number }> = {
  critical: { ackMs: 10 * MIN, arriveMs: 30 * MIN },
  high: { ackMs: 30 * MIN, arriveMs: 2 * 60 * MIN },
  medium: { ackMs: 2 * 60 * MIN, arriveMs: 8 * 60 * MIN },
  low: { ackMs: 8 * 60 * MIN, arriveMs: 24 * 60 * MIN },
}

const ORDER: Severity[] = ['low', 'medium', 'high', 'critical']
export const severityRank = (s: Severity) => ORDER.indexOf(s)
export const raise = (s: Severity): Severity => ORDER[Math.min(ORDER.length - 1, severityRank(s) + 1)]!

/** Worker actions and the states they lead from and to. */
export const TRANSITIONS = {
  ack: { from: ['open'], to: 'acknowledged' },
  arrive: { from: ['open', 'acknowledged'], to: 'on_site' },
  resolve: { from: ['open', 'acknowledged', 'on_site'], to: 'resolved' },
  review: { from: ['resolved'], to: 'reviewed' },
} as const satisfies Record<string, { from: readonly TaskState[], to: TaskState }>

export type TaskAction = keyof typeof TRANSITIONS

export const ACTIVE_STATES: TaskState[] = ['open', 'acknowledged', 'on_site']

/** Residents' report categories and the severity their tasks start at. */
export const REPORT_SEVERITY: Record<string, Severity> = {
  public_safety: 'high',
  work_safety: 'high',
  dispute: 'medium',
  environment: 'medium',
  city_management: 'low',
  livelihood: 'medium',
}
