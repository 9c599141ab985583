import type { Severity, TaskState } from '../vocab/index.ts'
import { iso, type AlertsContext } from './context.ts'
import type { Deadlines } from './deadlines.ts'
import { DEADLINE_OF_STATE, ESCALATION_LEVELS, TOP_LEVEL, type Deadline } from './policy.ts'
import type { Routing } from './routing.ts'
import { categoryOf, TASK_COLUMNS, type TaskRow, type TaskView } from './views.ts'

/** The deadline that applies in a task's state, as SQL. */
/** The deadline of a task's current state; migration 14 indexes this very expression. */
export const CURRENT_DUE = `CASE t.state WHEN 'open' THEN t.ack_due WHEN 'acknowledged' THEN t.arrive_due WHEN 'on_site' THEN t.resolve_due WHEN 'resolved' THEN t.review_due END`
const LEVEL_NAMES = ['worker', 'grid leader', 'community', 'street command centre']

/**
 * Deadlines acted on by the sweep: a reminder shortly before each (once), and a missed one
 * climbs one level up the address tree (worker → grid leader → community → street command
 * centre), recorded in the history, told to the new holder, with the stage's time given again.
 * Everything lives in the task rows, so a restart mid-chain carries on where it was.
 */
export function createEscalation (ctx: AlertsContext, routing: Routing, deadlines: Deadlines) {
  const { db, log, events, history } = ctx

  async function remind (now: number): Promise<number> {
    // The longest reminder lead of any policy bounds the candidates; each task's own policy decides.
    const lead = Number((await db.query<{ m: number }>('SELECT max(remind_min) AS m FROM deadline_policies')).rows[0]?.m ?? 0) * 60_000
    const { rows } = await db.query<TaskRow & { due: Date }>(`SELECT ${TASK_COLUMNS}, ${CURRENT_DUE} AS due FROM tasks t JOIN alerts a ON a.id = t.alert_id
      WHERE ${CURRENT_DUE} > $1 AND ${CURRENT_DUE} <= $2 AND NOT (CASE t.state WHEN 'open' THEN 'ack' WHEN 'acknowledged' THEN 'arrive' WHEN 'on_site' THEN 'resolve' ELSE 'review' END = ANY(t.reminded))`,
    [iso(now), iso(now + lead)])
    let sent = 0
    for (const t of rows) {
      const d = DEADLINE_OF_STATE[t.state as TaskState]!
      const p = await deadlines.policyFor(db, t.severity, categoryOf(t.kind as string, t.source as 'detector'))
      if (t.due.getTime() - now > p.remindMin * 60_000) continue
      // Several workers sweep one database: the row lock and the re-checked condition let one remind.
      const r = await db.query('UPDATE tasks SET reminded = array_append(reminded, $2) WHERE id = $1 AND NOT ($2 = ANY(reminded))', [t.id, d])
      if (r.rowCount === 0) continue
      await history(db, t.id, { actor: 'system', action: 'reminded', note: `${d} deadline at ${t.due.toISOString()}`, data: { deadline: d, due: t.due.toISOString() }, at: now })
      const view = (await ctx.getTask(t.id))!.view
      events.emit('task.reminder', { id: t.id, task: view, deadline: d, due: t.due.toISOString(), path: view.path })
      await ctx.notify(view.escalatedTo ?? view.workerId, view, 'reminder')
      sent++
    }
    return sent
  }

  /** Tasks past the deadline of their state and not yet at the top: one level up each. */
  async function escalate (now: number): Promise<number> {
    const { rows } = await db.query<{ id: string }>(`SELECT t.id FROM tasks t WHERE ${CURRENT_DUE} <= $1 AND t.escalation_level < $2 ORDER BY t.id`, [iso(now), TOP_LEVEL])
    let n = 0
    for (const { id } of rows) {
      const done = await db.transaction(async (tx) => {
        const t = (await tx.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks t JOIN alerts a ON a.id = t.alert_id WHERE t.id = $1 AND ${CURRENT_DUE} <= $2 FOR UPDATE OF t`, [id, iso(now)])).rows[0]
        if (!t) return null
        const missed = DEADLINE_OF_STATE[t.state]!
        // A level with nobody in it is passed over, up to the top.
        let level = Number(t.escalation_level) + 1
        let holder = await routing.holderAt(tx, t.grid as string | null, t.path, level)
        while (!holder && level < TOP_LEVEL) holder = await routing.holderAt(tx, t.grid as string | null, t.path, ++level)
        // Nobody acknowledged: another worker on duty may take it, the leader still looks on.
        const category = categoryOf(t.kind as string, t.source as 'detector')
        const other = t.state === 'open' ? await routing.route(tx, { grid: t.grid as string | null, path: t.path, kind: t.kind as string, category, source: t.source as 'detector', subject: t.subject, except: t.worker_id, noLeader: true }, now) : null
        const worker = other ?? t.worker_id
        await tx.query('UPDATE tasks SET escalation_level = $2, escalated_to = $3, worker_id = $4, updated_at = $5 WHERE id = $1', [id, level, holder, worker, iso(now)])
        await deadlines.renew(tx, id, missed, t.severity as Severity, category, now)
        const note = `${missed} deadline missed; escalated to the ${LEVEL_NAMES[level]}${holder ? ` (${holder})` : ', nobody holds that level'}${worker !== t.worker_id ? `; reassigned to ${worker}` : ''}`
        await history(tx, id, { actor: 'system', action: 'escalated', note, data: { level, levelName: ESCALATION_LEVELS[level], holder, missed, workerId: worker, ...(worker !== t.worker_id ? { reassignedFrom: t.worker_id } : {}) }, at: now })
        return { level, holder, missed: missed as Deadline, path: t.path }
      })
      if (!done) continue
      n++
      const view: TaskView = await ctx.publishTask(id, 'task.updated', 'escalated')
      events.emit('task.escalated', { id, task: view, level: done.level, levelName: ESCALATION_LEVELS[done.level]!, holder: done.holder, missed: done.missed, path: done.path })
      if (done.holder && done.holder !== view.workerId) await ctx.notify(done.holder, view, 'escalated')
    }
    if (n > 0) log.info({ escalated: n }, 'deadline sweep escalated tasks')
    return n
  }

  /** Tasks in a part of the tree past the deadline of their state, with a count per level. */
  async function overdue (scope: string[] | null, now: number, level?: number) {
    const { rows } = await db.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks t JOIN alerts a ON a.id = t.alert_id
      WHERE ${CURRENT_DUE} <= $1 AND ($2::text[] IS NULL OR t.path && $2) AND ($3::int IS NULL OR t.escalation_level = $3)
      ORDER BY t.escalation_level DESC, ${CURRENT_DUE}, t.id LIMIT 1000`, [iso(now), scope, level ?? null])
    const byLevel = ESCALATION_LEVELS.map((name, i) => ({ level: i, name, count: rows.filter((r) => Number(r.escalation_level) === i).length }))
    return { byLevel, tasks: await ctx.withHistory(rows) }
  }

  return { remind, escalate, overdue }
}
