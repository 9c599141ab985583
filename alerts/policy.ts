import type { Severity, TaskState } from '../vocab/index.ts'

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

/** Outcome of a task closed by the system because its alert cleared before anyone acted. */
export const SELF_RESOLVED = 'self_resolved'

/** Residents' report categories and the severity their tasks start at. */
export const REPORT_SEVERITY: Record<string, Severity> = {
  public_safety: 'high',
  work_safety: 'high',
  dispute: 'medium',
  environment: 'medium',
  city_management: 'low',
  livelihood: 'medium',
}

/** The statutory stages of a case (GB/T 30428): 立案 → 派遣 → 处置 → 核查 → 结案 → 评价. */
export const STAGES = { filed: '立案', dispatched: '派遣', handling: '处置', checking: '核查', closed: '结案', evaluated: '评价' } as const
export type Stage = keyof typeof STAGES

/** A task's statutory stage, from its product state. */
export function stageOf (state: TaskState, worker: string | null, outcome: string | null, satisfaction: number | null): { stage: Stage, name: string } {
  const stage: Stage =
    state === 'open' ? (worker ? 'dispatched' : 'filed')
      : state === 'acknowledged' || state === 'on_site' ? 'handling'
        : state === 'resolved' ? (outcome === SELF_RESOLVED ? 'closed' : 'checking')
          : satisfaction !== null ? 'evaluated' : 'closed'
  return { stage, name: STAGES[stage] }
}

/** The deadlines of a task, one per stage, and the state in which each applies. */
export const DEADLINE_OF_STATE: Partial<Record<TaskState, Deadline>> = { open: 'ack', acknowledged: 'arrive', on_site: 'resolve', resolved: 'review' }
export const DEADLINES = ['ack', 'arrive', 'resolve', 'review'] as const
export type Deadline = (typeof DEADLINES)[number]
export const DEADLINE_COLUMN: Record<Deadline, string> = { ack: 'ack_due', arrive: 'arrive_due', resolve: 'resolve_due', review: 'review_due' }

/** Levels up the address tree a missed deadline climbs to. */
export const ESCALATION_LEVELS = ['grid_worker', 'grid_leader', 'community', 'command_centre'] as const
export const TOP_LEVEL = ESCALATION_LEVELS.length - 1
