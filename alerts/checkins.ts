import { randomUUID } from 'node:crypto'
import { GridcareError } from '../errors/index.ts'
import { hashSecret, newSecret, sameHash } from '../registry/secrets.ts'
import type { Queryable } from '../store/index.ts'
import { iso, type AlertsContext } from './context.ts'
import type { Lifecycle, TaskSource } from './lifecycle.ts'
import type { TaskReason } from './lifecycle.ts'
import type { CheckinSent } from './events.ts'
import { ALERT_COLUMNS, alertView, CHECKIN_COLUMNS, checkinView, type AlertRow, type CheckinView, type Contact, type TaskView } from './views.ts'

const DEFAULT_CHECKIN_MS = 20 * 60_000

/**
 * Check-ins: a welfare alert below critical asks the subject's first contact before a worker is
 * sent. "well" closes the alert as a false alarm and teaches the detector; "help", or no answer
 * by the deadline, opens the worker's task at once (the next contact is not tried: the time is
 * already spent). A critical alert asks the contact at the same time as the worker goes.
 */
export function createCheckins (ctx: AlertsContext, lifecycle: Lifecycle) {
  const { db, clock, events, log } = ctx
  const checkinMs = ctx.deps.checkinMs ?? DEFAULT_CHECKIN_MS

  /**
   * Writes a check-in to one contact (the secret stored hashed) in the caller's transaction;
   * answers the `checkin.sent` event, for `announce` once that transaction is committed.
   */
  async function write (q: Queryable, alert: AlertRow, name: string | null, contact: Contact, position: number, now: number): Promise<CheckinSent> {
    const id = randomUUID()
    const secret = newSecret()
    const row = (await q.query(`INSERT INTO checkins (id, alert_id, subject, contact, position, secret_hash, sent_at, due_at, state)
      VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'pending') RETURNING ${CHECKIN_COLUMNS}`,
    [id, alert.id, alert.subject, JSON.stringify(contact), position, hashSecret(secret), iso(now), iso(now + checkinMs)])).rows[0]!
    const view = checkinView(row)
    return {
      id, checkin: view, contact, subject: { id: alert.subject as string, name, address: alert.address as string }, alert: alertView(alert),
      link: `/checkin/${id}?s=${secret}`, code: secret, dueAt: view.dueAt, path: alert.path,
    }
  }

  /** `checkin.sent` for the gateways: the check-in is stored. */
  function announce (sent: CheckinSent) {
    events.emit('checkin.sent', sent)
    log.info({ checkin: sent.id, alert: sent.alert.id, position: sent.checkin.position }, 'check-in sent')
  }

  /** A subject's name, and its contacts in the order they are tried. */
  async function contactsOf (q: Queryable, subject: string | null): Promise<{ name: string | null, contacts: Contact[] }> {
    if (!subject) return { name: null, contacts: [] }
    const r = (await q.query<{ name: string | null, contacts: Contact[] }>('SELECT name, contacts FROM subjects WHERE id = $1', [subject])).rows[0]
    return { name: r?.name ?? null, contacts: r?.contacts ?? [] }
  }

  const taskSource = (a: AlertRow): TaskSource => ({ id: a.id as string, subject: a.subject as string | null, address: a.address as string, grid: a.grid as string | null, path: a.path, kind: a.kind as string, source: a.source as 'detector' | 'report', severity: a.severity as TaskSource['severity'] })

  /** An alert in the check-in stage goes to a worker: "help", no answer, or a severity rise to critical. Answers the alert and the task as written. */
  async function toWorker (q: Queryable, alertId: string, why: TaskReason, now: number): Promise<{ alert: AlertRow, task: TaskView } | null> {
    const a = (await q.query<AlertRow>(`UPDATE alerts SET stage = 'task', updated_at = now() WHERE id = $1 AND stage = 'checkin' AND status = 'open' RETURNING ${ALERT_COLUMNS}`, [alertId])).rows[0]
    if (!a) return null
    return { alert: a, task: await lifecycle.openTask(q, taskSource(a), now, why) }
  }

  /** The contact's answer, with the check-in's own secret (no token). */
  async function answer (id: string, secret: string, ans: 'well' | 'help'): Promise<CheckinView> {
    const now = clock.now()
    const r = await db.transaction(async (tx) => {
      const c = (await tx.query<Record<string, unknown> & { secret_hash: string }>(`SELECT ${CHECKIN_COLUMNS}, secret_hash FROM checkins WHERE id = $1 FOR UPDATE`, [id])).rows[0]
      if (!c || !sameHash(c.secret_hash, hashSecret(secret))) throw new GridcareError('CHECKIN_BAD_SECRET')
      if (c.state !== 'pending') throw new GridcareError('CHECKIN_CLOSED', `this check-in is ${String(c.state)}`)
      const row = (await tx.query(`UPDATE checkins SET state = $2, answer = $2, answered_at = $3 WHERE id = $1 RETURNING ${CHECKIN_COLUMNS}`, [id, ans, iso(now)])).rows[0]!
      const alert = (await tx.query<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE id = $1`, [c.alert_id])).rows[0]!
      const who = `${(c.contact as Contact).name} (${(c.contact as Contact).relation ?? 'contact'})`
      let created: TaskView | null = null
      let noted: string | null = null
      let closed = false
      if (alert.stage === 'checkin' && alert.status === 'open') {
        if (ans === 'well') {
          await tx.query(`UPDATE alerts SET status = 'closed', outcome = 'false_alarm', updated_at = now() WHERE id = $1`, [alert.id])
          closed = true
        } else {
          created = (await toWorker(tx, alert.id as string, { reason: 'checkin_help', note: `${who} asked for help`, contact: c.contact as Contact }, now))?.task ?? null
        }
      } else {
        // A critical alert's worker is on the way already: the answer goes on the task for them.
        const t = (await tx.query<{ id: string }>('SELECT id FROM tasks WHERE alert_id = $1 ORDER BY created_at DESC LIMIT 1', [alert.id])).rows[0]
        if (t) {
          await ctx.history(tx, t.id, { actor: 'system', action: 'checkin_answered', note: `${who} answered "${ans}"`, data: { checkinId: id, answer: ans, contact: c.contact as Contact }, at: now })
          noted = t.id
        }
      }
      return { view: checkinView(row), alert, created, noted, closed }
    })
    events.emit('checkin.answered', { ...r.view, path: r.alert.path })
    if (r.closed && r.alert.subject) ctx.deps.onFeedback?.({ subjectId: r.alert.subject as string, kind: r.alert.kind as string, outcome: 'false_alarm' })
    if (r.created) await ctx.announceTask(r.created, 'task.created')
    if (r.noted) await ctx.publishTask(r.noted, 'task.updated')
    await ctx.publishAlertById(r.alert.id as string)
    log.info({ checkin: id, answer: ans }, 'check-in answered')
    return r.view
  }

  /** Check-ins past their deadline: expired, and their alert goes to a worker. */
  async function sweep (now: number): Promise<number> {
    const { rows } = await db.query<{ id: string, alert_id: string, contact: Contact }>(`UPDATE checkins SET state = 'expired' WHERE state = 'pending' AND due_at <= $1
      RETURNING id, alert_id, contact`, [iso(now)])
    for (const c of rows) {
      const sent = await db.transaction((tx) => toWorker(tx, c.alert_id, { reason: 'checkin_unanswered', note: `no answer from ${c.contact.name} by the check-in deadline`, contact: c.contact }, now))
      if (sent) {
        await ctx.announceTask(sent.task, 'task.created')
        ctx.publishAlert(sent.alert, 'alert.updated')
      }
    }
    return rows.length
  }

  /** An alert cleared or closed otherwise: its pending check-ins are cancelled. */
  async function cancelFor (q: Queryable, alertId: string) {
    await q.query("UPDATE checkins SET state = 'cancelled' WHERE alert_id = $1 AND state = 'pending'", [alertId])
  }

  async function list (f: { alertId?: string, state?: string, scope: string[] | null, limit: number, offset: number }): Promise<CheckinView[]> {
    const { rows } = await db.query(`SELECT ${CHECKIN_COLUMNS.split(', ').map((c) => `c.${c}`).join(', ')} FROM checkins c JOIN alerts a ON a.id = c.alert_id
      WHERE ($1::text IS NULL OR c.alert_id = $1) AND ($2::text IS NULL OR c.state = $2) AND ($3::text[] IS NULL OR a.path && $3)
      ORDER BY c.sent_at DESC, c.id LIMIT $4 OFFSET $5`, [f.alertId ?? null, f.state ?? null, f.scope, f.limit, f.offset])
    return rows.map(checkinView)
  }

  /** Check-ins answered "well": visits a worker did not have to make. */
  async function visitsAvoided (scope: string[] | null, from?: number, to?: number): Promise<number> {
    const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM checkins c JOIN alerts a ON a.id = c.alert_id
      WHERE c.state = 'well' AND a.stage = 'checkin' AND ($1::text[] IS NULL OR a.path && $1) AND ($2::timestamptz IS NULL OR c.answered_at >= $2) AND ($3::timestamptz IS NULL OR c.answered_at < $3)`,
    [scope, from !== undefined ? iso(from) : null, to !== undefined ? iso(to) : null])
    return Number(rows[0]!.n)
  }

  return { write, announce, contactsOf, toWorker, answer, sweep, cancelFor, list, visitsAvoided }
}

export type Checkins = ReturnType<typeof createCheckins>
