import { randomUUID } from 'node:crypto'
import { schedule, setLogger, type ScheduledTask } from 'node-cron'
import type { Logger } from 'pino'
import type { AddressBase } from '../addresses/index.ts'
import { GridcareError } from '../errors/index.ts'
import type { Db, Queryable } from '../store/index.ts'
import type { Anomaly, Outcome, Severity } from '../vocab/index.ts'
import { EventBus } from './events.ts'
import { ACTIVE_STATES, DEADLINES, raise, REPORT_SEVERITY, severityRank, TRANSITIONS, type TaskAction } from './policy.ts'
import { ALERT_COLUMNS, alertView, historyEntry, TASK_COLUMNS, taskView, type AlertRow, type AlertView, type TaskRow, type TaskView } from './views.ts'

export { EventBus } from './events.ts'
export type { AlertView, TaskView } from './views.ts'
export { TRANSITIONS, type TaskAction } from './policy.ts'

/** What an outcome, or an absence declared ahead, teaches the detectors. */
export interface OutcomeFeedback { subjectId: string, kind?: string, outcome: Outcome, awayUntil?: number, awayFrom?: number }

/** Alert kinds that an absence explains: nobody home is expected. */
const ABSENCE_KINDS = new Set(['inactivity', 'vacancy'])
const MAX_ABSENCE_MS = 180 * 86_400_000
/** How long after an absence ends its window stays with the detectors: late data of its last day. */
const AWAY_GRACE_MS = 26 * 3_600_000

export interface AbsenceView { id: string, subjectId: string, from: string, until: string, note: string | null, declaredBy: string, declaredAt: string, cancelledAt: string | null }
type AbsenceRow = { id: string, subject: string, starts_at: Date, ends_at: Date, note: string | null, declared_by: string, declared_at: Date, cancelled_at: Date | null }
const absenceView = (r: AbsenceRow): AbsenceView => ({
  id: r.id, subjectId: r.subject, from: r.starts_at.toISOString(), until: r.ends_at.toISOString(), note: r.note,
  declaredBy: r.declared_by, declaredAt: r.declared_at.toISOString(), cancelledAt: r.cancelled_at?.toISOString() ?? null,
})

export interface AlertsDeps {
  db: Db
  logger: Logger
  addresses: AddressBase
  clock?: { now (): number }
  events?: EventBus
  /** Called with what a resolved task teaches the detectors. */
  onFeedback?: (fb: OutcomeFeedback) => void
  /** Pushes a task to a worker's app over MQTT. */
  notifyWorker?: (workerId: string, task: TaskView) => Promise<void>
  /** node-cron expression for the deadline sweep; default every minute. */
  sweepSchedule?: string
}

const iso = (ms: number) => new Date(ms).toISOString()

/**
 * Alert episodes (one per subject and kind while open), routed through the
 * address base to the on-duty grid worker as tasks with deadlines and history.
 */
export function createAlerts (deps: AlertsDeps) {
  const { db, addresses } = deps
  const log = deps.logger.child({ module: 'alerts' })
  const clock = deps.clock ?? { now: () => Date.now() }
  const events = deps.events ?? new EventBus()
  let chain: Promise<unknown> = Promise.resolve()
  let job: ScheduledTask | undefined
  let lastSweep = clock.now()

  /** Anomalies are applied one at a time so an episode never gets two alerts. */
  function handleAnomaly (a: Anomaly): Promise<AlertView | null> {
    const next = chain.then(() => applyAnomaly(a))
    chain = next.catch((err) => log.error({ err: (err as Error).message, subject: a.subjectId }, 'anomaly not applied'))
    return next
  }

  async function applyAnomaly (a: Anomaly): Promise<AlertView | null> {
    const open = (await db.query<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE subject = $1 AND kind = $2 AND status = 'open'`, [a.subjectId, a.kind])).rows[0]
    if (a.phase === 'clear') {
      if (!open) return null
      const row = (await db.query<AlertRow>(`UPDATE alerts SET status = 'cleared', cleared_at = $2, last_seen_at = $2, updated_at = now(),
        evidence = evidence || $3 WHERE id = $1 RETURNING ${ALERT_COLUMNS}`, [open.id, iso(a.observedAt), JSON.stringify({ clearedBy: a.evidence })])).rows[0]!
      await noteOnTasks(open.id as string, 'alert_cleared', 'the data shows activity again')
      return publishAlert(row, 'alert.updated')
    }
    if (open) {
      const more = severityRank(a.severity) > severityRank(open.severity as Severity)
      const row = (await db.query<AlertRow>(`UPDATE alerts SET severity = $2, evidence = $3, last_seen_at = $4, updated_at = now()
        WHERE id = $1 RETURNING ${ALERT_COLUMNS}`, [open.id, more ? a.severity : open.severity, JSON.stringify(a.evidence), iso(a.observedAt)])).rows[0]!
      if (more) await escalateTasksOf(open.id as string, a.severity)
      return publishAlert(row, 'alert.updated')
    }
    // A raise, or an update with no open alert (its raise fell in an absence, say): judged as a raise.
    // The same episode raised again (a replay, or warm-up after a restart) is not a new alert.
    const seen = await db.query('SELECT 1 FROM alerts WHERE subject = $1 AND kind = $2 AND started_at = $3', [a.subjectId, a.kind, iso(a.startedAt)])
    if (seen.rows.length > 0) return null
    const subject = (await db.query<{ address: string, away_until: Date | null }>('SELECT address, away_until FROM subjects WHERE id = $1', [a.subjectId])).rows[0]
    if (!subject) { log.warn({ subject: a.subjectId }, 'anomaly for an unknown subject'); return null }
    if (ABSENCE_KINDS.has(a.kind)) {
      if (subject.away_until && subject.away_until.getTime() > a.observedAt) {
        log.info({ subject: a.subjectId, kind: a.kind, awayUntil: subject.away_until }, 'quiet while away: no alert')
        return null
      }
      const declared = await db.query('SELECT 1 FROM absences WHERE subject = $1 AND cancelled_at IS NULL AND starts_at <= $2 AND ends_at > $2', [a.subjectId, iso(a.observedAt)])
      if (declared.rows.length > 0) {
        log.info({ subject: a.subjectId, kind: a.kind }, 'quiet during a declared absence: no alert')
        return null
      }
    }
    return createAlertAndTask({ source: 'detector', subject: a.subjectId, address: subject.address, kind: a.kind, detector: a.detector, severity: a.severity, startedAt: a.startedAt, raisedAt: a.observedAt, evidence: a.evidence })
      .catch((err) => {
        // Another worker raised this episode first (a partition handed over mid-flight): the
        // unique indexes on open episodes and on (subject, kind, started_at) keep it one alert.
        if ((err as { code?: string }).code !== '23505') throw err
        log.info({ subject: a.subjectId, kind: a.kind }, 'episode already raised elsewhere: no second alert')
        return null
      })
  }

  async function createAlertAndTask (x: { source: 'detector' | 'report', subject: string | null, address: string, kind: string, detector: string | null, severity: Severity, startedAt: number, raisedAt: number, evidence: Record<string, unknown> }): Promise<AlertView> {
    const addr = await addresses.get(x.address)
    if (!addr) throw new GridcareError('ADDRESS_UNKNOWN', `address "${x.address}" is not in the address base`)
    const now = clock.now()
    const { alert, task } = await db.transaction(async (tx) => {
      const alert = (await tx.query<AlertRow>(`INSERT INTO alerts (id, source, subject, address, grid, path, kind, detector, severity, status, started_at, raised_at, last_seen_at, evidence)
        VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,'open',$10,$11,$11,$12) RETURNING ${ALERT_COLUMNS}`,
      [randomUUID(), x.source, x.subject, addr.code, addr.grid, addr.path, x.kind, x.detector, x.severity, iso(x.startedAt), iso(x.raisedAt), JSON.stringify(x.evidence)])).rows[0]!
      const worker = addr.grid ? await onDutyWorker(tx, addr.grid) : null
      const d = DEADLINES[x.severity]
      const taskId = randomUUID()
      await tx.query(`INSERT INTO tasks (id, alert_id, subject, address, grid, path, worker_id, severity, state, ack_due, arrive_due, created_at, updated_at)
        VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'open',$9,$10,$11,$11)`,
      [taskId, alert.id, x.subject, addr.code, addr.grid, addr.path, worker, x.severity, iso(now + d.ackMs), iso(now + d.arriveMs), iso(now)])
      await history(tx, taskId, { actor: 'system', action: 'created', to: 'open', note: worker ? `assigned to ${worker}` : 'no on-duty grid worker: unassigned, visible to leaders', data: { workerId: worker }, at: now })
      return { alert, task: taskId }
    })
    log.info({ alert: alert.id, kind: x.kind, subject: x.subject, task }, 'alert raised, task created')
    const view = publishAlert(alert, 'alert.created')
    await publishTask(task, 'task.created')
    return view
  }

  /** The on-duty grid worker of a grid with the fewest active tasks, other than `except`. */
  async function onDutyWorker (q: Queryable, grid: string, except: string | null = null): Promise<string | null> {
    const { rows } = await q.query<{ id: string }>(`SELECT w.id FROM workers w
      WHERE w.role = 'grid_worker' AND w.on_duty AND $1 = ANY(w.scopes) AND w.id IS DISTINCT FROM $2
      ORDER BY (SELECT count(*) FROM tasks t WHERE t.worker_id = w.id AND t.state = ANY($3)), w.id LIMIT 1`, [grid, except, ACTIVE_STATES])
    return rows[0]?.id ?? null
  }

  async function history (q: Queryable, taskId: string, h: { actor: string, action: string, from?: string, to?: string, note?: string | null, data?: unknown, at: number }) {
    await q.query('INSERT INTO task_history (task_id, at, actor, action, from_state, to_state, note, data) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)',
      [taskId, iso(h.at), h.actor, h.action, h.from ?? null, h.to ?? null, h.note ?? null, h.data === undefined ? null : JSON.stringify(h.data)])
  }

  async function noteOnTasks (alertId: string, action: string, note: string) {
    const { rows } = await db.query<{ id: string }>('SELECT id FROM tasks WHERE alert_id = $1 AND state = ANY($2)', [alertId, ACTIVE_STATES])
    for (const t of rows) {
      await history(db, t.id, { actor: 'system', action, note, at: clock.now() })
      await publishTask(t.id, 'task.updated')
    }
  }

  async function escalateTasksOf (alertId: string, severity: Severity) {
    const { rows } = await db.query<{ id: string }>(`UPDATE tasks SET severity = $2, updated_at = now() WHERE alert_id = $1 AND state = ANY($3) RETURNING id`, [alertId, severity, ACTIVE_STATES])
    for (const t of rows) {
      await history(db, t.id, { actor: 'system', action: 'severity_raised', note: `severity now ${severity}`, data: { severity }, at: clock.now() })
      await publishTask(t.id, 'task.updated')
    }
  }

  function publishAlert (row: AlertRow, event: 'alert.created' | 'alert.updated'): AlertView {
    const view = alertView(row)
    events.emit(event, view)
    return view
  }

  async function publishTask (id: string, event: 'task.created' | 'task.updated'): Promise<TaskView> {
    const found = await getTask(id)
    const view = found!.view
    events.emit(event, view)
    if (view.workerId && deps.notifyWorker) {
      await deps.notifyWorker(view.workerId, view).catch((err) => log.warn({ err: (err as Error).message }, 'worker notification failed'))
    }
    return view
  }

  async function getTask (id: string): Promise<{ view: TaskView, path: string[] } | null> {
    const row = (await db.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks t JOIN alerts a ON a.id = t.alert_id WHERE t.id = $1`, [id])).rows[0]
    return row ? { view: (await withHistory([row]))[0]!, path: row.path } : null
  }

  /** Task rows as views, with their histories read in one query. */
  async function withHistory (rows: TaskRow[]): Promise<TaskView[]> {
    if (rows.length === 0) return []
    const h = await db.query<Record<string, unknown> & { task_id: string }>(
      'SELECT task_id, at, actor, action, from_state, to_state, note, data FROM task_history WHERE task_id = ANY($1) ORDER BY id', [rows.map((r) => r.id)])
    const byTask = new Map<string, ReturnType<typeof historyEntry>[]>()
    for (const e of h.rows) {
      const list = byTask.get(e.task_id) ?? []
      list.push(historyEntry(e))
      byTask.set(e.task_id, list)
    }
    return rows.map((r) => taskView(r, byTask.get(r.id) ?? []))
  }

  /** An absence declared ahead (a trip, a hospital stay): the detectors expect quiet then, and no alert is raised for it. */
  async function declareAbsence (input: { subjectId: string, from?: number, until: number, note?: string, actor: string }): Promise<AbsenceView> {
    const now = clock.now()
    const x = { ...input, from: input.from ?? now }
    if (!(x.until > x.from) || x.until <= now || x.until - x.from > MAX_ABSENCE_MS) {
      throw new GridcareError('ABSENCE_INVALID', 'an absence must end after it starts, end in the future and last at most 180 days')
    }
    const row = (await db.query<AbsenceRow>(`INSERT INTO absences (id, subject, starts_at, ends_at, note, declared_by, declared_at) VALUES ($1,$2,$3,$4,$5,$6,$7)
      RETURNING id, subject, starts_at, ends_at, note, declared_by, declared_at, cancelled_at`,
    [randomUUID(), x.subjectId, iso(x.from), iso(x.until), x.note ?? null, x.actor, iso(now)])).rows[0]!
    await syncAway(x.subjectId)
    log.info({ subject: x.subjectId, from: iso(x.from), until: iso(x.until), by: x.actor }, 'absence declared')
    return absenceView(row)
  }

  /** Absences of a subject not yet over, and those that ended in the last 30 days; newest first. */
  async function listAbsences (subjectId: string): Promise<AbsenceView[]> {
    const { rows } = await db.query<AbsenceRow>(`SELECT id, subject, starts_at, ends_at, note, declared_by, declared_at, cancelled_at FROM absences
      WHERE subject = $1 AND ends_at > $2 ORDER BY starts_at DESC`, [subjectId, iso(clock.now() - 30 * 86_400_000)])
    return rows.map(absenceView)
  }

  /** Cancels an absence (the trip was called off): the detectors watch as usual again. */
  async function cancelAbsence (subjectId: string, id: string): Promise<AbsenceView> {
    const row = (await db.query<AbsenceRow>(`UPDATE absences SET cancelled_at = $3 WHERE id = $1 AND subject = $2 AND cancelled_at IS NULL
      RETURNING id, subject, starts_at, ends_at, note, declared_by, declared_at, cancelled_at`, [id, subjectId, iso(clock.now())])).rows[0]
    if (!row) throw new GridcareError('NOT_FOUND', `no open absence "${id}" for subject "${subjectId}"`)
    await syncAway(subjectId)
    return absenceView(row)
  }

  /**
   * The detectors hold one away window per subject: tell them the one that matters now, the
   * current or next declared absence, else an away told when a task was resolved, else none.
   * Called on every declaration and cancel, when an absence ends (sweep) and at start.
   */
  async function syncAway (subjectId: string, now = clock.now()) {
    if (!deps.onFeedback) return
    // An absence that ended less than AWAY_GRACE_MS ago still counts: the detectors apply it in
    // event time, and concentrator meters upload the last day of a trip the day after. Windows
    // that follow within that grace are sent as one.
    const { rows } = await db.query<{ starts_at: Date, ends_at: Date }>(`SELECT starts_at, ends_at FROM absences
      WHERE subject = $1 AND cancelled_at IS NULL AND ends_at > $2 ORDER BY starts_at`, [subjectId, iso(now - AWAY_GRACE_MS)])
    if (rows.length > 0) {
      const from = rows[0]!.starts_at.getTime()
      let until = rows[0]!.ends_at.getTime()
      for (const r of rows.slice(1)) if (r.starts_at.getTime() <= until + AWAY_GRACE_MS) until = Math.max(until, r.ends_at.getTime())
      return deps.onFeedback({ subjectId, outcome: 'away', awayFrom: from, awayUntil: until })
    }
    const told = (await db.query<{ away_until: Date | null }>('SELECT away_until FROM subjects WHERE id = $1', [subjectId])).rows[0]?.away_until?.getTime() ?? 0
    deps.onFeedback({ subjectId, outcome: 'away', awayFrom: 0, awayUntil: told > now ? told : 0 })
  }

  /** Subjects whose declared absences ended in (from, to] (a grace ago): their next window is due. */
  async function syncEndedAbsences (from: number, to: number, now: number) {
    const { rows } = await db.query<{ subject: string }>(`SELECT DISTINCT subject FROM absences
      WHERE cancelled_at IS NULL AND ends_at > $1 AND ends_at <= $2`, [iso(from), iso(to)])
    for (const r of rows) await syncAway(r.subject, now)
  }

  /** Moves a task on; every change is kept with actor and time. */
  async function transition (id: string, action: TaskAction, actor: string, body: { outcome?: Outcome, note?: string, awayUntil?: string } = {}): Promise<TaskView> {
    const rule = TRANSITIONS[action]
    const now = clock.now()
    const fb = await db.transaction(async (tx) => {
      const t = (await tx.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks t JOIN alerts a ON a.id = t.alert_id WHERE t.id = $1 FOR UPDATE OF t`, [id])).rows[0]
      if (!t) throw new GridcareError('NOT_FOUND', `no task "${id}"`)
      if (!(rule.from as readonly string[]).includes(t.state)) {
        throw new GridcareError('TASK_BAD_TRANSITION', `cannot ${action} a task that is ${t.state} (allowed from ${rule.from.join(', ')})`)
      }
      let feedback: OutcomeFeedback | null = null
      if (action === 'resolve') {
        if (!body.outcome) throw new GridcareError('TASK_BAD_OUTCOME', 'resolve needs an outcome')
        const awayUntil = body.awayUntil ? Date.parse(body.awayUntil) : undefined
        if (body.outcome === 'away' && !awayUntil) throw new GridcareError('TASK_BAD_OUTCOME', 'outcome "away" needs awayUntil')
        if (awayUntil !== undefined && body.outcome !== 'away') throw new GridcareError('TASK_BAD_OUTCOME', 'awayUntil goes only with outcome "away"')
        if (awayUntil !== undefined && awayUntil <= now) throw new GridcareError('TASK_BAD_OUTCOME', 'awayUntil must be in the future')
        await tx.query(`UPDATE tasks SET state = 'resolved', outcome = $2, note = $3, away_until = $4, updated_at = $5 WHERE id = $1`,
          [id, body.outcome, body.note ?? null, awayUntil ? iso(awayUntil) : null, iso(now)])
        await tx.query(`UPDATE alerts SET status = 'closed', updated_at = now() WHERE id = $1 AND status <> 'closed'`, [t.alert_id])
        if (t.subject && awayUntil) await tx.query('UPDATE subjects SET away_until = $2 WHERE id = $1', [t.subject, iso(awayUntil)])
        if (t.subject) feedback = { subjectId: t.subject, kind: t.kind as string, outcome: body.outcome, ...(awayUntil ? { awayUntil } : {}) }
      } else {
        await tx.query('UPDATE tasks SET state = $2, note = coalesce($3, note), updated_at = $4 WHERE id = $1', [id, rule.to, body.note ?? null, iso(now)])
      }
      await history(tx, id, { actor, action, from: t.state, to: rule.to, note: body.note ?? null, data: body.outcome ? { outcome: body.outcome, awayUntil: body.awayUntil } : undefined, at: now })
      return feedback
    })
    if (fb) deps.onFeedback?.(fb)
    const view = await publishTask(id, 'task.updated')
    const alert = (await db.query<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE id = $1`, [view.alertId])).rows[0]
    if (alert && action === 'resolve') publishAlert(alert, 'alert.updated')
    return view
  }

  /**
   * Acts on what is due at `now`: tasks not acknowledged, or not reached, by
   * their deadline are escalated one severity step and their deadline renewed.
   */
  async function sweep (now = clock.now()): Promise<{ escalated: number }> {
    await syncEndedAbsences(lastSweep - AWAY_GRACE_MS, now - AWAY_GRACE_MS, now)
    lastSweep = now
    const { rows } = await db.query<{ id: string, state: string, severity: Severity, worker_id: string | null }>(`SELECT id, state, severity, worker_id FROM tasks
      WHERE (state = 'open' AND ack_due <= $1) OR (state = 'acknowledged' AND arrive_due <= $1)`, [iso(now)])
    let escalated = 0
    for (const t of rows) {
      const severity = raise(t.severity)
      const d = DEADLINES[severity]
      const missed = t.state === 'open' ? 'not acknowledged' : 'nobody on site'
      const done = await db.transaction(async (tx) => {
        // Several workers sweep one database: the row lock makes one of them escalate; the
        // others find it no longer due (its deadline renewed) once the lock is theirs.
        const due = await tx.query(`SELECT 1 FROM tasks WHERE id = $1 AND state = $2
          AND ((state = 'open' AND ack_due <= $3) OR (state = 'acknowledged' AND arrive_due <= $3)) FOR UPDATE`, [t.id, t.state, iso(now)])
        if (due.rows.length === 0) return false
        const reassigned = t.state === 'open' ? await reassign(tx, t.id, t.worker_id) : null
        await tx.query(`UPDATE tasks SET severity = $2, escalation_level = escalation_level + 1, updated_at = $5,
          ack_due = CASE WHEN state = 'open' THEN $3::timestamptz ELSE ack_due END, arrive_due = $4 WHERE id = $1`,
        [t.id, severity, iso(now + d.ackMs), iso(now + d.arriveMs), iso(now)])
        await history(tx, t.id, { actor: 'system', action: 'escalated', note: `${missed} by the deadline; severity ${severity}${reassigned ? `; reassigned to ${reassigned}` : ''}`, data: { severity, workerId: reassigned ?? t.worker_id }, at: now })
        return true
      })
      if (!done) continue
      escalated++
      await publishTask(t.id, 'task.updated')
    }
    if (escalated > 0) log.info({ escalated }, 'deadline sweep escalated tasks')
    return { escalated }
  }

  /** An unacknowledged task goes to another on-duty worker of its grid, if there is one. */
  async function reassign (tx: Queryable, taskId: string, current: string | null): Promise<string | null> {
    const { rows } = await tx.query<{ grid: string | null }>('SELECT grid FROM tasks WHERE id = $1', [taskId])
    const grid = rows[0]?.grid
    if (!grid) return null
    const next = await onDutyWorker(tx, grid, current)
    if (!next) return null
    await tx.query('UPDATE tasks SET worker_id = $2 WHERE id = $1', [taskId, next])
    return next
  }

  /** A resident's report enters the same routing as a sensor's alert. */
  async function createReport (r: { category: string, address?: string, lat?: number, lon?: number, text: string, contact?: string }): Promise<{ alert: AlertView, taskId: string | null }> {
    let address = r.address
    if (address && !(await addresses.get(address))) throw new GridcareError('ADDRESS_UNKNOWN', `address "${address}" is not in the address base`)
    if (!address && r.lat !== undefined && r.lon !== undefined) address = (await addresses.locate(r.lat, r.lon)) ?? undefined
    if (!address) throw new GridcareError('REPORT_UNROUTABLE')
    const now = clock.now()
    const alert = await createAlertAndTask({
      source: 'report', subject: null, address, kind: `report.${r.category}`, detector: null,
      severity: REPORT_SEVERITY[r.category] ?? 'medium', startedAt: now, raisedAt: now,
      evidence: { category: r.category, text: r.text, ...(r.contact ? { contact: r.contact } : {}), ...(r.lat !== undefined ? { lat: r.lat, lon: r.lon } : {}) },
    })
    const t = (await db.query<{ id: string }>('SELECT id FROM tasks WHERE alert_id = $1', [alert.id])).rows[0]
    return { alert, taskId: t?.id ?? null }
  }

  return {
    events,
    handleAnomaly,
    declareAbsence,
    listAbsences,
    cancelAbsence,
    createReport,
    transition,
    getTask,
    withHistory,
    sweep,
    syncAway,
    /** Waits for anomalies already handed over. */
    async idle () { await chain },
    async start () {
      // Detector snapshots may predate a declaration or a cancel: give them today's windows.
      const { rows } = await db.query<{ subject: string }>('SELECT DISTINCT subject FROM absences WHERE ends_at > $1', [iso(clock.now())])
      for (const r of rows) await syncAway(r.subject)
      // A sweep missed while the process was busy is harmless: the next tick catches up.
      setLogger({ info: (m) => log.debug(m), warn: (m) => log.debug(m), error: (m) => log.error(String(m)), debug: (m) => log.debug(String(m)) })
      job = schedule(deps.sweepSchedule ?? '* * * * *', () => {
        sweep().catch((err) => log.error({ err: (err as Error).message }, 'deadline sweep failed'))
      })
    },
    async stop () {
      await job?.destroy()
      job = undefined
      await chain
    },
  }
}

export type Alerts = ReturnType<typeof createAlerts>
