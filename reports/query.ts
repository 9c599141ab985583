import type { Db } from '../store/index.ts'
import type { CaseRow } from './figures.ts'

/**
 * Columns the closed loop adds (alert outcomes, resolve deadlines, check-ins) are read where the
 * schema has them, so reports work on a store with or without them.
 */
async function capabilities (db: Db) {
  const { rows } = await db.query<{ table_name: string, column_name: string }>(`SELECT table_name, column_name FROM information_schema.columns
    WHERE table_schema = current_schema() AND ((table_name = 'alerts' AND column_name = 'outcome') OR (table_name = 'tasks' AND column_name = 'resolve_due')
      OR (table_name = 'checkins' AND column_name = 'state'))`)
  const has = (t: string, c: string) => rows.some((r) => r.table_name === t && r.column_name === c)
  return { alertOutcome: has('alerts', 'outcome'), resolveDue: has('tasks', 'resolve_due'), checkins: has('checkins', 'state') }
}

const ms = (d: Date | null) => d ? d.getTime() : null

/**
 * Cases raised in [from, to) (event time: when the data first showed it), each with its tasks;
 * limited to paths through any of `scopes` (null: everything).
 */
export async function loadCases (db: Db, from: number, to: number, scopes: readonly string[] | null): Promise<CaseRow[]> {
  const has = await capabilities(db)
  const { rows } = await db.query<{
    id: string, source: 'detector' | 'report', kind: string, path: string[], raised_at: Date, alert_outcome: string | null,
    task_id: string | null, task_created: Date | null, task_outcome: string | null, ack_due: Date | null, resolve_due: Date | null,
    acked_at: Date | null, resolved_at: Date | null, escalations: string | number, well: string | number
  }>(`SELECT a.id, a.source, a.kind, a.path, a.raised_at, ${has.alertOutcome ? 'a.outcome' : 'NULL::text'} AS alert_outcome,
      t.id AS task_id, t.created_at AS task_created, t.outcome AS task_outcome, t.ack_due, ${has.resolveDue ? 't.resolve_due' : 'NULL::timestamptz'} AS resolve_due,
      (SELECT min(h.at) FROM task_history h WHERE h.task_id = t.id AND h.to_state IN ('acknowledged', 'on_site')) AS acked_at,
      CASE WHEN t.state IN ('resolved', 'reviewed') THEN (SELECT max(h.at) FROM task_history h WHERE h.task_id = t.id AND h.to_state = 'resolved') END AS resolved_at,
      (SELECT count(*) FROM task_history h WHERE h.task_id = t.id AND h.action = 'escalated') AS escalations,
      ${has.checkins ? "(SELECT count(*) FROM checkins c WHERE c.alert_id = a.id AND c.state = 'well')" : '0'} AS well
    FROM alerts a LEFT JOIN tasks t ON t.alert_id = a.id
    WHERE a.raised_at >= $1 AND a.raised_at < $2 AND ($3::text[] IS NULL OR a.path && $3)
    ORDER BY a.raised_at, a.id, t.created_at`, [new Date(from).toISOString(), new Date(to).toISOString(), scopes])
  return rows.map((r) => ({
    alertId: r.id, source: r.source, kind: r.kind, path: r.path, raisedAt: r.raised_at.getTime(), alertOutcome: r.alert_outcome,
    taskId: r.task_id, taskCreatedAt: ms(r.task_created), taskOutcome: r.task_outcome, ackedAt: ms(r.acked_at), resolvedAt: ms(r.resolved_at),
    ackDue: ms(r.ack_due), resolveDue: ms(r.resolve_due), escalations: Number(r.escalations), wellCheckins: Number(r.well),
  }))
}
