import { randomUUID } from 'node:crypto'
import { GridcareError } from '../errors/index.ts'
import type { Queryable } from '../store/index.ts'
import type { Outcome, Severity } from '../vocab/index.ts'
import { MAX_ABSENCE_MS } from './absences.ts'
import { iso, type AlertsContext, type OutcomeFeedback } from './context.ts'
import type { Deadlines } from './deadlines.ts'
import { ACTIVE_STATES, TRANSITIONS, type TaskAction } from './policy.ts'
import type { Routing } from './routing.ts'
import { categoryOf, TASK_COLUMNS, taskView, type AlertCategory, type Contact, type TaskRow, type TaskView } from './views.ts'

/** An away longer than this needs a leader (grid_leader, community, command_centre or the admin). */
export const AWAY_WITHOUT_LEADER_MS = 3 * 86_400_000

/** The alert a task is opened for. */
export interface TaskSource { id: string, subject: string | null, address: string, grid: string | null, path: string[], kind: string, source: 'detector' | 'report', severity: Severity }
/** Who acts, when the caller knows its role (the API does); system calls leave it out. */
export interface Actor { id: string, role?: string }
/** Why a task was opened after the alert's first stage, kept as a code in the history's data for the pages' own words. */
export interface TaskReason { reason: 'checkin_help' | 'checkin_unanswered' | 'severity_critical' | 'confidence_high', note: string, contact?: Contact }
export interface TransitionBody { outcome?: Outcome, note?: string, awayUntil?: string, satisfaction?: number }

/** Tasks: opened by routing, moved on by workers and leaders, every change kept with actor, time and reason. */
export function createLifecycle (ctx: AlertsContext, routing: Routing, deadlines: Deadlines) {
  const { db, clock, history } = ctx

  const lockTask = async (q: Queryable, id: string): Promise<TaskRow> => {
    const t = (await q.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks t JOIN alerts a ON a.id = t.alert_id WHERE t.id = $1 FOR UPDATE OF t`, [id])).rows[0]
    if (!t) throw new GridcareError('NOT_FOUND', `no task "${id}"`)
    return t
  }
  const categoryOfRow = (t: TaskRow): AlertCategory => categoryOf(t.kind as string, t.source as 'detector' | 'report')

  /**
   * Opens the task of an alert, routed to whoever the rules pick, with the policy's deadlines.
   * Answers its view as written (the rows the INSERTs return): no reading it back.
   */
  async function openTask (q: Queryable, a: TaskSource, now: number, why?: TaskReason): Promise<TaskView> {
    const category = categoryOf(a.kind, a.source)
    const worker = await routing.route(q, { grid: a.grid, path: a.path, kind: a.kind, category, source: a.source, subject: a.subject }, now)
    const d = await deadlines.initialDues(q, a.severity, category, now)
    const id = randomUUID()
    const row = (await q.query<TaskRow>(`WITH t AS (INSERT INTO tasks (id, alert_id, subject, address, grid, path, worker_id, severity, state, ack_due, arrive_due, resolve_due, created_at, updated_at)
      VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'open',$9,$10,$11,$12,$12) RETURNING *) SELECT ${TASK_COLUMNS} FROM t JOIN alerts a ON a.id = t.alert_id`,
    [id, a.id, a.subject, a.address, a.grid, a.path, worker, a.severity, d.ack_due, d.arrive_due, d.resolve_due, iso(now)])).rows[0]!
    const assigned = worker ? `assigned to ${worker}` : 'nobody on duty, no backup or leader: unassigned, visible to leaders'
    // The note is for API readers; the pages write their own words from `data`.
    const created = await history(q, id, { actor: 'system', action: 'created', to: 'open', note: why ? `${why.note}; ${assigned}` : assigned,
      data: { workerId: worker, ...(why ? { reason: why.reason, ...(why.contact ? { contact: why.contact } : {}) } : {}) }, at: now })
    return taskView(row, [created])
  }

  /** Checks an outcome and its away window; answers the away's end, if any. */
  function checkOutcome (body: TransitionBody, now: number, by: Actor | undefined): number | undefined {
    if (!body.outcome) throw new GridcareError('TASK_BAD_OUTCOME', 'resolve needs an outcome')
    const awayUntil = body.awayUntil ? Date.parse(body.awayUntil) : undefined
    if (body.outcome === 'away' && !awayUntil) throw new GridcareError('TASK_BAD_OUTCOME', 'outcome "away" needs awayUntil')
    if (awayUntil !== undefined && body.outcome !== 'away') throw new GridcareError('TASK_BAD_OUTCOME', 'awayUntil goes only with outcome "away"')
    if (awayUntil !== undefined && awayUntil <= now) throw new GridcareError('TASK_BAD_OUTCOME', 'awayUntil must be in the future')
    if (awayUntil !== undefined && awayUntil - now > MAX_ABSENCE_MS) throw new GridcareError('TASK_AWAY_TOO_LONG')
    if (awayUntil !== undefined && awayUntil - now > AWAY_WITHOUT_LEADER_MS && by?.role === 'grid_worker') throw new GridcareError('TASK_AWAY_NEEDS_LEADER')
    return awayUntil
  }

  /** Moves a task on; every change is kept with actor and time. */
  async function transition (id: string, action: TaskAction, actor: string, body: TransitionBody = {}, by?: Actor): Promise<TaskView> {
    const rule = TRANSITIONS[action]
    const now = clock.now()
    const fb = await db.transaction(async (tx) => {
      const t = await lockTask(tx, id)
      if (!(rule.from as readonly string[]).includes(t.state)) {
        throw new GridcareError('TASK_BAD_TRANSITION', `cannot ${action} a task that is ${t.state} (allowed from ${rule.from.join(', ')})`)
      }
      const category = categoryOfRow(t)
      if (body.satisfaction !== undefined && category !== 'report') throw new GridcareError('TASK_BAD_OUTCOME', 'satisfaction is a resident\'s, on a report\'s task')
      let feedback: OutcomeFeedback | null = null
      if (action === 'resolve') {
        const awayUntil = checkOutcome(body, now, by)
        await tx.query(`UPDATE tasks SET state = 'resolved', outcome = $2, note = $3, away_until = $4, updated_at = $5, review_due = $6,
          satisfaction = coalesce($7, satisfaction) WHERE id = $1`,
        [id, body.outcome, body.note ?? null, awayUntil ? iso(awayUntil) : null, iso(now), await deadlines.reviewDue(tx, t.severity, category, now), body.satisfaction ?? null])
        await tx.query(`UPDATE alerts SET status = 'closed', outcome = $2, updated_at = now() WHERE id = $1 AND status <> 'closed'`, [t.alert_id, body.outcome])
        if (t.subject && awayUntil) await tx.query('UPDATE subjects SET away_until = $2 WHERE id = $1', [t.subject, iso(awayUntil)])
        if (t.subject) feedback = { subjectId: t.subject, kind: t.kind as string, outcome: body.outcome!, ...(awayUntil ? { awayUntil } : {}) }
      } else {
        await tx.query(`UPDATE tasks SET state = $2, note = coalesce($3, note), updated_at = $4, satisfaction = coalesce($5, satisfaction),
          closed_at = CASE WHEN $2 = 'reviewed' THEN $4::timestamptz ELSE closed_at END WHERE id = $1`, [id, rule.to, body.note ?? null, iso(now), body.satisfaction ?? null])
      }
      const data = body.outcome || body.satisfaction ? { outcome: body.outcome, awayUntil: body.awayUntil, satisfaction: body.satisfaction } : undefined
      await history(tx, id, { actor, action, from: t.state, to: rule.to, note: body.note ?? null, data, at: now })
      return feedback
    })
    if (fb) ctx.deps.onFeedback?.(fb)
    const view = await ctx.publishTask(id, 'task.updated')
    if (action === 'resolve') await ctx.publishAlertById(view.alertId)
    return view
  }

  /** A leader gives an active task to another worker of its part of the tree, with a reason. */
  async function reassign (id: string, to: string, reason: string, actor: string): Promise<TaskView> {
    const now = clock.now()
    await db.transaction(async (tx) => {
      const t = await lockTask(tx, id)
      if (!ACTIVE_STATES.includes(t.state)) throw new GridcareError('TASK_BAD_TRANSITION', `cannot reassign a task that is ${t.state}`)
      const w = (await tx.query<{ id: string }>('SELECT id FROM workers WHERE id = $1 AND scopes && $2', [to, t.path])).rows[0]
      if (!w) throw new GridcareError('TASK_BAD_ASSIGNEE', `worker "${to}" does not exist or does not cover ${t.address}`)
      if (to === t.worker_id) throw new GridcareError('TASK_BAD_ASSIGNEE', `the task is already ${to}'s`)
      await tx.query("UPDATE tasks SET worker_id = $2, state = 'open', updated_at = $3 WHERE id = $1", [id, to, iso(now)])
      if (t.state !== 'open') await deadlines.renew(tx, id, 'ack', t.severity, categoryOfRow(t), now)
      await history(tx, id, { actor, action: 'reassigned', from: t.state, to: 'open', note: reason, data: { from: t.worker_id, to }, at: now })
    })
    return ctx.publishTask(id, 'task.updated')
  }

  /** The assigned worker hands a task back with a reason: it goes to the next one by the roster. */
  async function handBack (id: string, reason: string, actor: string): Promise<TaskView> {
    const now = clock.now()
    await db.transaction(async (tx) => {
      const t = await lockTask(tx, id)
      if (!ACTIVE_STATES.includes(t.state)) throw new GridcareError('TASK_BAD_TRANSITION', `cannot hand back a task that is ${t.state}`)
      if (t.worker_id !== actor) throw new GridcareError('AUTH_FORBIDDEN', 'only the assigned worker hands a task back')
      const category = categoryOfRow(t)
      const next = await routing.route(tx, { grid: t.grid as string | null, path: t.path, kind: t.kind as string, category, source: t.source as 'detector' | 'report', subject: t.subject, except: actor }, now)
      await tx.query("UPDATE tasks SET worker_id = $2, state = 'open', updated_at = $3 WHERE id = $1", [id, next, iso(now)])
      await deadlines.renew(tx, id, 'ack', t.severity, category, now)
      await history(tx, id, { actor, action: 'handed_back', from: t.state, to: 'open', note: reason, data: { from: actor, to: next }, at: now })
    })
    return ctx.publishTask(id, 'task.updated')
  }

  return { openTask, transition, reassign, handBack, lockTask }
}

export type Lifecycle = ReturnType<typeof createLifecycle>
