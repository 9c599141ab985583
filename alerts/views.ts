import type { Confidence, Severity, TaskState } from '../vocab/index.ts'
import { stageOf, type Stage } from './policy.ts'

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
  /** What the evidence is worth (welfare anomalies): low, medium, high; null when the detector did not say. */
  confidence: Confidence | null
  status: 'open' | 'cleared' | 'closed' | 'suppressed'
  /** Who answers it: `checkin` (the subject's contacts are asked first) or `task` (a worker). */
  stage: 'checkin' | 'task'
  /** How it ended when no task did: `false_alarm` (a contact said all is well), `self_resolved`. */
  outcome: string | null
  /** Times it rose again after clearing and was reopened instead of a new alert. */
  reopened: number
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
  confidence: Confidence | null
  state: TaskState
  /** The statutory stage: filed 立案, dispatched 派遣, handling 处置, checking 核查, closed 结案, evaluated 评价. */
  stage: Stage
  stageName: string
  outcome: string | null
  note: string | null
  awayUntil: string | null
  deadlines: { ackBy: string | null, arriveBy: string | null, resolveBy: string | null, reviewBy: string | null }
  /** 0 the worker, 1 grid leader, 2 community, 3 street command centre. */
  escalationLevel: number
  /** Who holds it after an escalation. */
  escalatedTo: string | null
  /** A resident's satisfaction (1-5) with a report's task, given at closing. */
  satisfaction: number | null
  createdAt: string
  updatedAt: string
  history: HistoryEntry[]
}

const iso = (d: Date | null) => d ? d.toISOString() : null

export const ALERT_COLUMNS = 'id, source, subject, address, grid, path, kind, detector, severity, confidence, status, stage, outcome, reopened, started_at, raised_at, last_seen_at, cleared_at, evidence, created_at, updated_at'
export const TASK_COLUMNS = 't.id, t.alert_id, a.kind, a.source, t.subject, t.address, t.grid, t.path, t.worker_id, t.severity, a.confidence, t.state, t.outcome, t.note, t.away_until, t.ack_due, t.arrive_due, t.resolve_due, t.review_due, t.escalation_level, t.escalated_to, t.satisfaction, t.created_at, t.updated_at'

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
    confidence: (r.confidence ?? null) as Confidence | null,
    status: r.status as AlertView['status'],
    stage: r.stage as AlertView['stage'],
    outcome: r.outcome as string | null,
    reopened: Number(r.reopened),
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
  const stage = stageOf(r.state, r.worker_id, r.outcome as string | null, r.satisfaction as number | null)
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
    confidence: (r.confidence ?? null) as Confidence | null,
    state: r.state,
    stage: stage.stage,
    stageName: stage.name,
    outcome: r.outcome as string | null,
    note: r.note as string | null,
    awayUntil: iso(r.away_until as Date | null),
    deadlines: { ackBy: iso(r.ack_due as Date | null), arriveBy: iso(r.arrive_due as Date | null), resolveBy: iso(r.resolve_due as Date | null), reviewBy: iso(r.review_due as Date | null) },
    escalationLevel: Number(r.escalation_level),
    escalatedTo: (r.escalated_to ?? null) as string | null,
    satisfaction: r.satisfaction === null || r.satisfaction === undefined ? null : Number(r.satisfaction),
    createdAt: iso(r.created_at as Date)!,
    updatedAt: iso(r.updated_at as Date)!,
    history,
  }
}

export function historyEntry (r: Record<string, unknown>): HistoryEntry {
  return { at: iso(r.at as Date)!, actor: r.actor as string, action: r.action as string, from: r.from_state as string | null, to: r.to_state as string | null, note: r.note as string | null, data: r.data ?? null }
}

export interface Contact { name: string, phone: string, relation?: string }

export interface CheckinView {
  id: string
  alertId: string
  subject: string
  contact: Contact
  /** Place of the contact in the subject's list, from 0. */
  position: number
  sentAt: string
  dueAt: string
  answeredAt: string | null
  answer: 'well' | 'help' | null
  state: 'pending' | 'well' | 'help' | 'expired' | 'cancelled'
}

export const CHECKIN_COLUMNS = 'id, alert_id, subject, contact, position, sent_at, due_at, answered_at, answer, state'

export function checkinView (r: Record<string, unknown>): CheckinView {
  return {
    id: r.id as string,
    alertId: r.alert_id as string,
    subject: r.subject as string,
    contact: r.contact as Contact,
    position: Number(r.position),
    sentAt: iso(r.sent_at as Date)!,
    dueAt: iso(r.due_at as Date)!,
    answeredAt: iso(r.answered_at as Date | null),
    answer: r.answer as CheckinView['answer'],
    state: r.state as CheckinView['state'],
  }
}
