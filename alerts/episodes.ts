import { randomUUID } from 'node:crypto'
import { GridcareError } from '../errors/index.ts'
import { UNIQUE_VIOLATION, type Queryable } from '../store/index.ts'
import type { Anomaly, Confidence, Severity } from '../vocab/index.ts'
import { absentAt, explainsQuiet } from './absences.ts'
import type { Checkins } from './checkins.ts'
import { iso, type AlertsContext } from './context.ts'
import type { Deadlines } from './deadlines.ts'
import type { CheckinSent } from './events.ts'
import type { Lifecycle } from './lifecycle.ts'
import { ACTIVE_STATES, REPORT_SEVERITY, SELF_RESOLVED, severityRank } from './policy.ts'
import { ALERT_COLUMNS, categoryOf, type AlertRow, type AlertView, type TaskView } from './views.ts'

/** A new alert: a detector's (of a subject, or of a place) or a resident's report. */
interface NewAlert { source: 'detector' | 'report', subject: string | null, address: string, kind: string, detector: string | null, severity: Severity, confidence: Confidence | null, startedAt: number, raisedAt: number, evidence: Record<string, unknown> }

/** What a dispatch wrote, to tell once committed: the alert, its task (if a worker goes) and the check-ins sent. */
interface Dispatched { alert: AlertRow, task: TaskView | null, sent: CheckinSent[] }

/** What to tell once the transaction that wrote it is committed: the feed, webhooks and the worker's app. */
type Tell = () => Promise<AlertView>

/** Alert kinds that an absence explains: nobody home is expected. */
const ABSENCE_KINDS = new Set(['inactivity', 'vacancy'])
const DEFAULT_REOPEN_MS = 12 * 3_600_000

/**
 * Alert episodes, one per subject and kind while open. A raise dispatches (check-in first, or a
 * worker); a clearing before anyone acted closes the task as self-resolved; a new rise soon after
 * a clearing reopens the same alert and task; a severity rise tightens the task's deadlines.
 */
export function createEpisodes (ctx: AlertsContext, parts: { lifecycle: Lifecycle, checkins: Checkins, deadlines: Deadlines }) {
  const { db, clock, log, history } = ctx
  const { lifecycle, checkins, deadlines } = parts
  const reopenWithinMs = ctx.deps.reopenWithinMs ?? DEFAULT_REOPEN_MS
  let chain: Promise<unknown> = Promise.resolve()

  /** Anomalies are applied one at a time so an episode never gets two alerts. */
  function handleAnomaly (a: Anomaly): Promise<AlertView | null> {
    const next = chain.then(() => applyAnomaly(a))
    chain = next.catch((err) => log.error({ err: (err as Error).message, subject: a.subjectId }, 'anomaly not applied'))
    return next
  }

  /**
   * One transaction per anomaly: it reads what decides (the subject's alerts of this kind: the open
   * one, one of the same start, those cleared lately; the subject: its address, an away told at a
   * resolve, a declared absence at the time), writes, and answers what to tell once committed.
   * On the embedded store's own thread that is one wait for the store (its statements after BEGIN
   * are waited for synchronously), where a query and then a transaction are two.
   */
  async function applyAnomaly (a: Anomaly): Promise<AlertView | null> {
    const tell = await db.transaction((tx) => judge(tx, a)).catch((err) => {
      // Another worker raised or reopened this episode first (a street's partition handed over mid-flight):
      // the unique indexes on open episodes and on (subject, kind, started_at) keep it one alert.
      if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err
      log.info({ subject: a.subjectId, kind: a.kind }, 'episode already raised elsewhere: no second alert')
      return null
    })
    return tell ? tell() : null
  }

  async function judge (tx: Queryable, a: Anomaly): Promise<Tell | null> {
    const episode = (await tx.query<AlertRow & { same_start: boolean, recent: boolean | null }>(`SELECT ${ALERT_COLUMNS}, started_at = $3 AS same_start,
      status = 'cleared' AND cleared_at >= $4 AS recent FROM alerts WHERE subject = $1 AND kind = $2
      AND (status = 'open' OR started_at = $3 OR (status = 'cleared' AND cleared_at >= $4)) ORDER BY cleared_at DESC NULLS LAST`,
    [a.subjectId, a.kind, iso(a.startedAt), iso(a.observedAt - reopenWithinMs)])).rows
    const open = episode.find((r) => r.status === 'open')
    if (a.phase === 'clear') return open ? clear(tx, open, a) : null
    if (open) return update(tx, open, a)
    // A raise, or an update with no open alert (its raise fell in an absence, say): judged as a raise.
    // The same episode raised again (a replay, or warm-up after a restart) is not a new alert.
    if (episode.some((r) => r.same_start)) return null
    const subject = (await tx.query<{ address: string, away_until: Date | null, absent: boolean }>(
      `SELECT address, away_until, ${absentAt('s.id', '$2')} AS absent FROM subjects s WHERE s.id = $1`, [a.subjectId, iso(a.observedAt)])).rows[0]
    if (!subject) { log.warn({ subject: a.subjectId }, 'anomaly for an unknown subject'); return null }
    if (ABSENCE_KINDS.has(a.kind)) {
      const why = explainsQuiet(subject, a.observedAt)
      if (why) { log.info({ subject: a.subjectId, kind: a.kind }, why); return null }
    }
    const recent = episode.find((r) => r.recent)
    if (recent) return reopen(tx, recent, a)
    const d = await openAlert(tx, { source: 'detector', subject: a.subjectId, address: subject.address, kind: a.kind, detector: a.detector, severity: a.severity, confidence: a.confidence ?? confidenceIn(a.evidence), startedAt: a.startedAt, raisedAt: a.observedAt, evidence: a.evidence })
    return () => announce(d, true)
  }

  /** The activity is back: pending check-ins are cancelled, a task nobody has acted on closes as self-resolved. */
  async function clear (tx: Queryable, open: AlertRow, a: Anomaly): Promise<Tell> {
    const now = clock.now()
    const row = (await tx.query<AlertRow>(`UPDATE alerts SET status = 'cleared', cleared_at = $2, last_seen_at = $2, updated_at = now(),
      evidence = evidence || $3 WHERE id = $1 RETURNING ${ALERT_COLUMNS}`, [open.id, iso(a.observedAt), JSON.stringify({ clearedBy: a.evidence })])).rows[0]!
    await checkins.cancelFor(tx, open.id as string)
    const tasks = (await tx.query<{ id: string, state: string, acted: boolean }>(`SELECT id, state, EXISTS (SELECT 1 FROM task_history h WHERE h.task_id = t.id AND h.actor <> 'system') AS acted
      FROM tasks t WHERE alert_id = $1 AND state = ANY($2)`, [open.id, ACTIVE_STATES])).rows
    for (const t of tasks) {
      if (t.state === 'open' && !t.acted) {
        await tx.query(`UPDATE tasks SET state = 'resolved', outcome = $2, updated_at = $3, closed_at = $3 WHERE id = $1`, [t.id, SELF_RESOLVED, iso(now)])
        await history(tx, t.id, { actor: 'system', action: SELF_RESOLVED, from: 'open', to: 'resolved', note: 'the alert cleared before anyone acted', at: now })
      } else {
        await history(tx, t.id, { actor: 'system', action: 'alert_cleared', note: 'the data shows activity again', at: now })
      }
    }
    if (tasks.length === 0 && open.stage === 'checkin') await tx.query('UPDATE alerts SET outcome = $2 WHERE id = $1', [open.id, SELF_RESOLVED])
    return async () => {
      for (const t of tasks) await ctx.publishTask(t.id, 'task.updated')
      return ctx.publishAlert(row, 'alert.updated')
    }
  }

  /** More of the same episode; a higher severity raises the task and tightens its deadlines; a check-in stage turning critical or high-confidence goes to a worker. */
  async function update (tx: Queryable, open: AlertRow, a: Pick<Anomaly, 'severity' | 'confidence' | 'evidence' | 'observedAt'>): Promise<Tell> {
    const now = clock.now()
    const more = severityRank(a.severity) > severityRank(open.severity as Severity)
    const confidence = a.confidence ?? confidenceIn(a.evidence) ?? open.confidence
    const row = (await tx.query<AlertRow>(`UPDATE alerts SET severity = $2, evidence = $3, last_seen_at = $4, confidence = $5, updated_at = now()
      WHERE id = $1 RETURNING ${ALERT_COLUMNS}`, [open.id, more ? a.severity : open.severity, JSON.stringify(a.evidence), iso(a.observedAt), confidence ?? null])).rows[0]!
    const tasks = more ? await raiseTasks(tx, row, a.severity, now) : []
    const urgent = row.severity === 'critical' || row.confidence === 'high'
    const created = urgent && row.stage === 'checkin'
      ? await checkins.toWorker(tx, row.id as string, row.severity === 'critical' ? { reason: 'severity_critical', note: 'severity now critical' } : { reason: 'confidence_high', note: 'confidence now high' }, now) : null
    return async () => {
      for (const id of tasks) await ctx.publishTask(id, 'task.updated')
      if (created) await ctx.announceTask(created.task, 'task.created')
      return ctx.publishAlert(created?.alert ?? row, 'alert.updated')
    }
  }

  async function raiseTasks (q: Queryable, alert: AlertRow, severity: Severity, now: number): Promise<string[]> {
    const { rows } = await q.query<{ id: string }>('UPDATE tasks SET severity = $2, updated_at = $4 WHERE alert_id = $1 AND state = ANY($3) RETURNING id', [alert.id, severity, ACTIVE_STATES, iso(now)])
    for (const t of rows) {
      await deadlines.tighten(q, t.id, severity, categoryOf(alert.kind as string, alert.source as 'detector'), now)
      await history(q, t.id, { actor: 'system', action: 'severity_raised', note: `severity now ${severity}; deadlines tightened`, data: { severity }, at: now })
    }
    return rows.map((t) => t.id)
  }

  /** A new rise soon after a clearing: the same alert opens again, and its self-resolved task with it. */
  async function reopen (tx: Queryable, old: AlertRow, a: Anomaly): Promise<Tell> {
    const now = clock.now()
    const severity = severityRank(a.severity) > severityRank(old.severity as Severity) ? a.severity : old.severity as Severity
    const row = (await tx.query<AlertRow>(`UPDATE alerts SET status = 'open', cleared_at = NULL, outcome = NULL, severity = $2, evidence = $3, last_seen_at = $4,
      reopened = reopened + 1, updated_at = now() WHERE id = $1 RETURNING ${ALERT_COLUMNS}`, [old.id, severity, JSON.stringify(a.evidence), iso(a.observedAt)])).rows[0]!
    const t = (await tx.query<{ id: string, state: string, outcome: string | null }>('SELECT id, state, outcome FROM tasks WHERE alert_id = $1 ORDER BY created_at DESC LIMIT 1', [old.id])).rows[0]
    if (!t) {
      const d = await dispatch(tx, row, now)
      return () => announce(d, false)
    }
    if (t.outcome === SELF_RESOLVED) {
      const d = await deadlines.initialDues(tx, severity, categoryOf(row.kind as string, 'detector'), now)
      await tx.query(`UPDATE tasks SET state = 'open', outcome = NULL, closed_at = NULL, severity = $2, ack_due = $3, arrive_due = $4, resolve_due = $5, review_due = NULL,
        reminded = '{}', updated_at = $6 WHERE id = $1`, [t.id, severity, d.ack_due, d.arrive_due, d.resolve_due, iso(now)])
      await history(tx, t.id, { actor: 'system', action: 'reopened', from: 'resolved', to: 'open', note: 'the alert rose again', at: now })
    } else {
      await history(tx, t.id, { actor: 'system', action: 'alert_rose_again', note: 'the alert rose again', at: now })
      if (severityRank(severity) > severityRank(old.severity as Severity)) await raiseTasks(tx, row, severity, now)
    }
    return async () => {
      await ctx.publishTask(t.id, 'task.updated')
      return ctx.publishAlert(row, 'alert.updated')
    }
  }

  /** A new alert (a place's, or a resident's report), and who answers it, in one transaction, then told. */
  async function createAlert (x: NewAlert): Promise<AlertView> {
    return announce(await db.transaction((tx) => openAlert(tx, x)), true)
  }

  /** Writes a new alert and who answers it (a check-in first, or a worker). */
  async function openAlert (tx: Queryable, x: NewAlert): Promise<Dispatched> {
    const now = clock.now()
    const addr = await ctx.addresses.get(x.address, tx)
    if (!addr) throw new GridcareError('ADDRESS_UNKNOWN', `address "${x.address}" is not in the address base`)
    const alert = (await tx.query<AlertRow>(`INSERT INTO alerts (id, source, subject, address, grid, path, kind, detector, severity, confidence, status, started_at, raised_at, last_seen_at, evidence)
      VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,'open',$11,$12,$12,$13) RETURNING ${ALERT_COLUMNS}`,
    [randomUUID(), x.source, x.subject, addr.code, addr.grid, addr.path, x.kind, x.detector, x.severity, x.confidence, iso(x.startedAt), iso(x.raisedAt), JSON.stringify(x.evidence)])).rows[0]!
    return dispatch(tx, alert, now)
  }

  /**
   * The tiered response, written in the caller's transaction. A welfare alert of a subject with
   * contacts, below critical and not of high confidence, asks the first contact first (no task
   * yet); a critical or high-confidence one goes to the worker and to every contact at once;
   * everything else to the worker. Answers what to tell once committed (announce).
   */
  async function dispatch (tx: Queryable, alert: AlertRow, now: number): Promise<Dispatched> {
    const welfare = categoryOf(alert.kind as string, alert.source as 'detector') === 'welfare'
    const { name, contacts } = welfare ? await checkins.contactsOf(tx, alert.subject as string | null) : { name: null, contacts: [] }
    const urgent = alert.severity === 'critical' || alert.confidence === 'high'
    const contact = contacts[0]
    if (contact && !urgent) {
      const row = (await tx.query<AlertRow>(`UPDATE alerts SET stage = 'checkin' WHERE id = $1 RETURNING ${ALERT_COLUMNS}`, [alert.id])).rows[0]!
      return { alert: row, task: null, sent: [await checkins.write(tx, row, name, contact, 0, now)] }
    }
    if (alert.stage !== 'task') await tx.query("UPDATE alerts SET stage = 'task' WHERE id = $1", [alert.id])
    const task = await lifecycle.openTask(tx, {
      id: alert.id as string, subject: alert.subject as string | null, address: alert.address as string, grid: alert.grid as string | null, path: alert.path,
      kind: alert.kind as string, source: alert.source as 'detector', severity: alert.severity as Severity,
    }, now)
    const sent: CheckinSent[] = []
    for (const [i, c] of contacts.entries()) sent.push(await checkins.write(tx, alert, name, c, i, now))
    return { alert: { ...alert, stage: 'task' }, task, sent }
  }

  /** After the commit: the alert, then its task, then its check-ins, as they were written. */
  async function announce (d: Dispatched, fresh: boolean): Promise<AlertView> {
    if (d.task) log.info({ alert: d.alert.id, kind: d.alert.kind, subject: d.alert.subject, task: d.task.id }, 'alert raised, task created')
    const view = ctx.publishAlert(d.alert, fresh ? 'alert.created' : 'alert.updated')
    if (d.task) await ctx.announceTask(d.task, 'task.created')
    for (const c of d.sent) checkins.announce(c)
    return view
  }

  /** A resident's report enters the same routing as a sensor's alert. */
  async function createReport (r: { category: string, address?: string, lat?: number, lon?: number, text: string, contact?: string }): Promise<{ alert: AlertView, taskId: string | null }> {
    let address = r.address
    if (address && !(await ctx.addresses.get(address))) throw new GridcareError('ADDRESS_UNKNOWN', `address "${address}" is not in the address base`)
    if (!address && r.lat !== undefined && r.lon !== undefined) address = (await ctx.addresses.locate(r.lat, r.lon)) ?? undefined
    if (!address) throw new GridcareError('REPORT_UNROUTABLE')
    const now = clock.now()
    const d = await db.transaction((tx) => openAlert(tx, {
      source: 'report', subject: null, address, kind: `report.${r.category}`, detector: null, confidence: null,
      severity: REPORT_SEVERITY[r.category] ?? 'medium', startedAt: now, raisedAt: now,
      evidence: { category: r.category, text: r.text, ...(r.contact ? { contact: r.contact } : {}), ...(r.lat !== undefined ? { lat: r.lat, lon: r.lon } : {}) },
    }))
    return { alert: await announce(d, true), taskId: d.task?.id ?? null }
  }

  /** More of an open alert of a place (places.ts): the same update as a subject's, in its own transaction. */
  async function updateAlert (open: AlertRow, x: { severity: Severity, observedAt: number, evidence: Record<string, unknown> }): Promise<AlertView> {
    return (await db.transaction((tx) => update(tx, open, { ...x, confidence: undefined })))()
  }

  return { handleAnomaly, createReport, createAlert, updateAlert, idle: async () => { await chain } }
}

/** Detectors may say what their evidence is worth in evidence.confidence too. */
function confidenceIn (evidence: Record<string, unknown>): Confidence | null {
  const c = evidence.confidence
  return c === 'low' || c === 'medium' || c === 'high' ? c : null
}
