import type { Severity, TaskState } from '../vocab/index.ts'

export const ALERT_CATEGORIES = ['welfare', 'safety', 'housing', 'device_fault', 'report'] as const
export type AlertCategory = (typeof ALERT_CATEGORIES)[number]

/** What a kind of alert asks of the worker: a knock on the door, a fire or leak check, an inspection, a technician. */
export function categoryOf (kind: string, source: 'detector' | 'report'): AlertCategory {
  if (source === 'report') return 'report'
  if (kind.startsWith('meter_')) return 'device_fault'
  if (kind.startsWith('drone_')) return 'device_fault'
  if (kind === 'fire' || kind === 'flood' || kind === 'crowd' || kind === 'construction') return 'safety'
  if (kind === 'ebike_charging' || kind === 'water_leak' || kind === 'night_load' || kind === 'smoke') return 'safety'
  if (kind === 'crowding' || kind === 'vacancy') return 'housing'
  return 'welfare'
}

export interface AlertView {
  id: string
  source: 'detector' | 'report'
  subject: string | null
  address: string
  /** Address codes from the root down to the address. */
  path: string[]
  grid: string | null
  kind: string
  /** welfare (someone may need help), safety, housing, device_fault (a technician, not a welfare visit) or report. */
  category: AlertCategory
  detector: string | null
  severity: Severity
  status: 'open' | 'cleared' | 'closed' | 'suppressed'
  /** Event time the odd behaviour began. */
  startedAt: string
  /** Event time the data first showed it. */
  raisedAt: string
  lastSeenAt: string
  clearedAt: string | null
  evidence: Record<string, unknown>
  createdAt: string
  updatedAt: string
}

export interface HistoryEntry { at: string, actor: string, action: string, from: string | null, to: string | null, note: string | null, data: unknown }

export interface TaskView {
  id: string
  alertId: string
  kind: string
  category: AlertCategory
  subject: string | null
  address: string
  path: string[]
  grid: string | null
  workerId: string | null
  severity: Severity
  state: TaskState
  outcome: string | null
  note: string | null
  awayUntil: string | null
  deadlines: { ackBy: string | null, arriveBy: string | null }
  escalationLevel: number
  createdAt: string
  updatedAt: string
  history: HistoryEntry[]
}

const iso = (d: Date | null) => d ? d.toISOString() : null

export const ALERT_COLUMNS = 'id, source, subject, address, grid, path, kind, detector, severity, status, started_at, raised_at, last_seen_at, cleared_at, evidence, created_at, updated_at'
export const TASK_COLUMNS = 't.id, t.alert_id, a.kind, a.source, t.subject, t.address, t.grid, t.path, t.worker_id, t.severity, t.state, t.outcome, t.note, t.away_until, t.ack_due, t.arrive_due, t.escalation_level, t.created_at, t.updated_at'

export type AlertRow = Record<string, unknown> & { path: string[] }
export type TaskRow = Record<string, unknown> & { id: string, path: string[], worker_id: string | null, state: TaskState, severity: Severity, alert_id: string, subject: string | null }

export function alertView (r: AlertRow): AlertView {
  return {
    id: r.id as string,
    source: r.source as AlertView['source'],
    subject: r.subject as string | null,
    address: r.address as string,
    path: r.path,
    grid: r.grid as string | null,
    kind: r.kind as string,
    category: categoryOf(r.kind as string, r.source as AlertView['source']),
    detector: r.detector as string | null,
    severity: r.severity as Severity,
    status: r.status as AlertView['status'],
    startedAt: iso(r.started_at as Date)!,
    raisedAt: iso(r.raised_at as Date)!,
    lastSeenAt: iso(r.last_seen_at as Date)!,
    clearedAt: iso(r.cleared_at as Date | null),
    evidence: r.evidence as Record<string, unknown>,
    createdAt: iso(r.created_at as Date)!,
    updatedAt: iso(r.updated_at as Date)!,
  }
}

export function taskView (r: TaskRow, history: HistoryEntry[]): TaskView {
  return {
    id: r.id,
    alertId: r.alert_id,
    kind: r.kind as string,
    category: categoryOf(r.kind as string, r.source as AlertView['source']),
    subject: r.subject,
    address: r.address as string,
    path: r.path,
    grid: r.grid as string | null,
    workerId: r.worker_id,
    severity: r.severity,
    state: r.state,
    outcome: r.outcome as string | null,
    note: r.note as string | null,
    awayUntil: iso(r.away_until as Date | null),
    deadlines: { ackBy: iso(r.ack_due as Date | null), arriveBy: iso(r.arrive_due as Date | null) },
    escalationLevel: Number(r.escalation_level),
    createdAt: iso(r.created_at as Date)!,
    updatedAt: iso(r.updated_at as Date)!,
    history,
  }
}

export function historyEntry (r: Record<string, unknown>): HistoryEntry {
  return { at: iso(r.at as Date)!, actor: r.actor as string, action: r.action as string, from: r.from_state as string | null, to: r.to_state as string | null, note: r.note as string | null, data: r.data ?? null }
}
