import { GridcareError } from '../errors/index.ts'
import type { Queryable } from '../store/index.ts'
import type { Severity } from '../vocab/index.ts'
import { iso, type AlertsContext } from './context.ts'
import { DEADLINE_COLUMN, type Deadline } from './policy.ts'

/** Minutes allowed per stage for a severity and category (`*`: any category without its own row). */
export interface DeadlinePolicy {
  severity: Severity
  category: string
  ackMin: number
  arriveMin: number
  resolveMin: number
  reviewMin: number
  /** A reminder goes this many minutes before a deadline. */
  remindMin: number
  updatedBy: string
  updatedAt: string
}

type PolicyRow = { severity: Severity, category: string, ack_min: number, arrive_min: number, resolve_min: number, review_min: number, remind_min: number, updated_by: string, updated_at: Date }
const view = (r: PolicyRow): DeadlinePolicy => ({
  severity: r.severity, category: r.category, ackMin: Number(r.ack_min), arriveMin: Number(r.arrive_min), resolveMin: Number(r.resolve_min),
  reviewMin: Number(r.review_min), remindMin: Number(r.remind_min), updatedBy: r.updated_by, updatedAt: r.updated_at.toISOString(),
})
const MIN = 60_000

/** Minutes of one stage under a policy. */
export const stageMs = (p: DeadlinePolicy, d: Deadline): number => ({ ack: p.ackMin, arrive: p.arriveMin, resolve: p.resolveMin, review: p.reviewMin })[d] * MIN

/**
 * Deadlines per stage by severity and category, kept in the store and changed at run time by a
 * command centre; tasks carry theirs as columns that the sweep acts on.
 */
export function createDeadlines (ctx: AlertsContext) {
  const { db } = ctx

  async function policyFor (q: Queryable, severity: Severity, category: string): Promise<DeadlinePolicy> {
    const { rows } = await q.query<PolicyRow>(`SELECT * FROM deadline_policies WHERE severity = $1 AND category IN ($2, '*')
      ORDER BY (category = '*') LIMIT 1`, [severity, category])
    if (!rows[0]) throw new GridcareError('INTERNAL', `no deadline policy for ${severity}`)
    return view(rows[0])
  }

  async function listPolicies (): Promise<DeadlinePolicy[]> {
    const { rows } = await db.query<PolicyRow>("SELECT * FROM deadline_policies ORDER BY category = '*' DESC, category, array_position(ARRAY['critical','high','medium','low'], severity)")
    return rows.map(view)
  }

  /** Sets (inserts or replaces) policy rows; `remove` deletes category rows (never the `*` defaults). */
  async function putPolicies (input: Array<Omit<DeadlinePolicy, 'updatedBy' | 'updatedAt'>>, actor: string, remove: Array<{ severity: Severity, category: string }> = []): Promise<DeadlinePolicy[]> {
    for (const p of input) {
      if (!(p.ackMin <= p.arriveMin && p.arriveMin <= p.resolveMin)) throw new GridcareError('DEADLINE_POLICY_INVALID', `${p.severity}/${p.category}: acknowledge <= arrive <= resolve`)
    }
    if (remove.some((r) => r.category === '*')) throw new GridcareError('DEADLINE_POLICY_INVALID', 'the default (*) rows can be changed, not removed')
    await db.transaction(async (tx) => {
      for (const p of input) {
        await tx.query(`INSERT INTO deadline_policies (severity, category, ack_min, arrive_min, resolve_min, review_min, remind_min, updated_by, updated_at)
          VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT (severity, category) DO UPDATE SET ack_min = $3, arrive_min = $4, resolve_min = $5,
          review_min = $6, remind_min = $7, updated_by = $8, updated_at = $9`,
        [p.severity, p.category, p.ackMin, p.arriveMin, p.resolveMin, p.reviewMin, p.remindMin, actor, iso(ctx.clock.now())])
      }
      for (const r of remove) await tx.query('DELETE FROM deadline_policies WHERE severity = $1 AND category = $2', [r.severity, r.category])
    })
    ctx.log.info({ by: actor, set: input.length, removed: remove.length }, 'deadline policies changed')
    return listPolicies()
  }

  /** The first deadlines of a new (or reopened) task, counted from `now`. */
  async function initialDues (q: Queryable, severity: Severity, category: string, now: number) {
    const p = await policyFor(q, severity, category)
    return { ack_due: iso(now + stageMs(p, 'ack')), arrive_due: iso(now + stageMs(p, 'arrive')), resolve_due: iso(now + stageMs(p, 'resolve')) }
  }

  /** A severity rise: every deadline still ahead is brought forward to what the new severity allows from now, never pushed back. */
  async function tighten (q: Queryable, taskId: string, severity: Severity, category: string, now: number) {
    const p = await policyFor(q, severity, category)
    await q.query(`UPDATE tasks SET ack_due = LEAST(ack_due, $2), arrive_due = LEAST(arrive_due, $3), resolve_due = LEAST(resolve_due, $4),
      review_due = LEAST(review_due, $5) WHERE id = $1`,
    [taskId, iso(now + stageMs(p, 'ack')), iso(now + stageMs(p, 'arrive')), iso(now + stageMs(p, 'resolve')), iso(now + stageMs(p, 'review'))])
  }

  /** Gives the holder of a missed deadline the stage's full time again from now, and a fresh reminder. */
  async function renew (q: Queryable, taskId: string, d: Deadline, severity: Severity, category: string, now: number) {
    const p = await policyFor(q, severity, category)
    await q.query(`UPDATE tasks SET ${DEADLINE_COLUMN[d]} = $2, reminded = array_remove(reminded, $3) WHERE id = $1`, [taskId, iso(now + stageMs(p, d)), d])
  }

  /** Sets the review deadline when a task is resolved. */
  async function reviewDue (q: Queryable, severity: Severity, category: string, now: number): Promise<string> {
    return iso(now + stageMs(await policyFor(q, severity, category), 'review'))
  }

  return { policyFor, listPolicies, putPolicies, initialDues, tighten, renew, reviewDue }
}

export type Deadlines = ReturnType<typeof createDeadlines>
