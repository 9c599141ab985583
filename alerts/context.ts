import type { Logger } from 'pino'
import type { AddressBase } from '../addresses/index.ts'
import type { Db, Queryable } from '../store/index.ts'
import type { Outcome } from '../vocab/index.ts'
import type { EventBus } from './events.ts'
import { ALERT_COLUMNS, alertView, historyEntry, TASK_COLUMNS, taskView, type AlertRow, type AlertView, type HistoryEntry, type TaskRow, type TaskView } from './views.ts'

/** What an outcome, or an absence declared ahead, teaches the detectors. */
/** What a push to a worker's app is about: `{event: "task", why, task}` on the worker's topic. */
export type WorkerPush = 'created' | 'updated' | 'reminder' | 'escalated'

export interface OutcomeFeedback { subjectId: string, kind?: string, outcome: Outcome, awayUntil?: number, awayFrom?: number }

export interface AlertsDeps {
  db: Db
  logger: Logger
  addresses: AddressBase
  clock?: { now (): number }
  events?: EventBus
  /** Called with what a resolved task teaches the detectors. */
  onFeedback?: (fb: OutcomeFeedback) => void
  /** Pushes a task to a worker's app over MQTT. */
  /** Pushes a task to a worker's app; `why` says what happened to it. */
  notifyWorker?: (workerId: string, task: TaskView, why: WorkerPush) => Promise<void>
  /** node-cron expression for the deadline sweep; default every minute. */
  sweepSchedule?: string
  /** How long a contact has to answer a check-in, ms; default 20 min. */
  checkinMs?: number
  /** A rise of the same subject and kind within this long after a clearing reopens the alert and its task, ms (event time); default 12 h. */
  reopenWithinMs?: number
  /** Local time offset for rosters' duty hours; default +8. */
  utcOffsetHours?: number
}

export const iso = (ms: number) => new Date(ms).toISOString()

/** What every part of alerts shares: the store, the clock, the bus, history and publishing. */
export function createContext (deps: AlertsDeps, events: EventBus) {
  const { db } = deps
  const log = deps.logger.child({ module: 'alerts' })
  const clock = deps.clock ?? { now: () => Date.now() }

  /** Adds one entry to a task's history; answers it as stored. */
  async function history (q: Queryable, taskId: string, h: { actor: string, action: string, from?: string, to?: string, note?: string | null, data?: unknown, at: number }): Promise<HistoryEntry> {
    const { rows } = await q.query('INSERT INTO task_history (task_id, at, actor, action, from_state, to_state, note, data) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING at, actor, action, from_state, to_state, note, data',
      [taskId, iso(h.at), h.actor, h.action, h.from ?? null, h.to ?? null, h.note ?? null, h.data === undefined ? null : JSON.stringify(h.data)])
    return historyEntry(rows[0]!)
  }

  async function getAlert (id: string): Promise<AlertView | null> {
    const row = (await db.query<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE id = $1`, [id])).rows[0]
    return row ? alertView(row) : null
  }

  function publishAlert (row: AlertRow, event: 'alert.created' | 'alert.updated'): AlertView {
    const view = alertView(row)
    events.emit(event, view)
    return view
  }

  async function publishAlertById (id: string): Promise<AlertView | null> {
    const view = await getAlert(id)
    if (view) events.emit('alert.updated', view)
    return view
  }

  /** Tells the worker's app over MQTT; a failed push is logged, the task stands. */
  async function notify (workerId: string | null, view: TaskView, why: WorkerPush) {
    if (workerId && deps.notifyWorker) {
      await deps.notifyWorker(workerId, view, why).catch((err) => log.warn({ err: (err as Error).message }, 'worker notification failed'))
    }
  }

  /** Reads a task back, then tells the feed, the webhooks and the worker's app. */
  async function publishTask (id: string, event: 'task.created' | 'task.updated', why: WorkerPush = event === 'task.created' ? 'created' : 'updated'): Promise<TaskView> {
    return announceTask((await getTask(id))!.view, event, why)
  }

  /** Tells of a task whose view the caller has as stored (a new task: what its INSERTs returned). */
  async function announceTask (view: TaskView, event: 'task.created' | 'task.updated', why: WorkerPush = event === 'task.created' ? 'created' : 'updated'): Promise<TaskView> {
    events.emit(event, view)
    await notify(view.workerId, view, why)
    return view
  }

  /** A task and its history, read side by side. */
  async function getTask (id: string): Promise<{ view: TaskView, path: string[] } | null> {
    const [t, h] = await Promise.all([db.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks t JOIN alerts a ON a.id = t.alert_id WHERE t.id = $1`, [id]), historiesOf([id])])
    const row = t.rows[0]
    return row ? { view: taskView(row, h.get(id) ?? []), path: row.path } : null
  }

  /** Task rows as views, with their histories read in one query. */
  async function withHistory (rows: TaskRow[]): Promise<TaskView[]> {
    if (rows.length === 0) return []
    const h = await historiesOf(rows.map((r) => r.id))
    return rows.map((r) => taskView(r, h.get(r.id) ?? []))
  }

  async function historiesOf (ids: string[]): Promise<Map<string, HistoryEntry[]>> {
    const h = await db.query<Record<string, unknown> & { task_id: string }>(
      'SELECT task_id, at, actor, action, from_state, to_state, note, data FROM task_history WHERE task_id = ANY($1) ORDER BY id', [ids])
    const byTask = new Map<string, HistoryEntry[]>()
    for (const e of h.rows) {
      const list = byTask.get(e.task_id) ?? []
      list.push(historyEntry(e))
      byTask.set(e.task_id, list)
    }
    return byTask
  }

  return { deps, db, log, clock, events, addresses: deps.addresses, history, getAlert, publishAlert, publishAlertById, publishTask, announceTask, notify, getTask, withHistory }
}

export type AlertsContext = ReturnType<typeof createContext>
