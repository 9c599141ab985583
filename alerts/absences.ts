import { randomUUID } from 'node:crypto'
import { GridcareError } from '../errors/index.ts'
import { iso, type AlertsContext } from './context.ts'

/** Longest absence, or away told at a resolve, that quiets a subject. */
export const MAX_ABSENCE_MS = 180 * 86_400_000
/** How long after an absence ends its window stays with the detectors: late data of its last day. */
const AWAY_GRACE_MS = 26 * 3_600_000

export interface AbsenceView { id: string, subjectId: string, from: string, until: string, note: string | null, declaredBy: string, declaredAt: string, cancelledAt: string | null }
type AbsenceRow = { id: string, subject: string, starts_at: Date, ends_at: Date, note: string | null, declared_by: string, declared_at: Date, cancelled_at: Date | null }
const absenceView = (r: AbsenceRow): AbsenceView => ({
  id: r.id, subjectId: r.subject, from: r.starts_at.toISOString(), until: r.ends_at.toISOString(), note: r.note,
  declaredBy: r.declared_by, declaredAt: r.declared_at.toISOString(), cancelledAt: r.cancelled_at?.toISOString() ?? null,
})
const COLUMNS = 'id, subject, starts_at, ends_at, note, declared_by, declared_at, cancelled_at'

/**
 * SQL: whether the subject (column `subject`) has a declared absence, not cancelled, at the time `at`
 * (both SQL expressions), read with the subject in the same query.
 */
export const absentAt = (subject: string, at: string) =>
  `EXISTS (SELECT 1 FROM absences b WHERE b.subject = ${subject} AND b.cancelled_at IS NULL AND b.starts_at <= ${at} AND b.ends_at > ${at})`

/** Why an inactivity or vacancy alert at `at` is not raised: an away told at a resolve, or a declared absence (`absentAt`); null when nothing explains the quiet. */
export function explainsQuiet (subject: { away_until: Date | null, absent: boolean }, at: number): string | null {
  if (subject.away_until && subject.away_until.getTime() > at) return 'quiet while away: no alert'
  return subject.absent ? 'quiet during a declared absence: no alert' : null
}

/** Absences declared ahead (a trip, a hospital stay) and the away windows the detectors hold. */
export function createAbsences (ctx: AlertsContext) {
  const { db, clock, log, deps } = ctx
  let lastSweep = clock.now()

  /** The detectors expect quiet in the window, and no alert is raised for it. */
  async function declareAbsence (input: { subjectId: string, from?: number, until: number, note?: string, actor: string }): Promise<AbsenceView> {
    const now = clock.now()
    const x = { ...input, from: input.from ?? now }
    if (!(x.until > x.from) || x.until <= now || x.until - x.from > MAX_ABSENCE_MS) {
      throw new GridcareError('ABSENCE_INVALID', 'an absence must end after it starts, end in the future and last at most 180 days')
    }
    const row = (await db.query<AbsenceRow>(`INSERT INTO absences (id, subject, starts_at, ends_at, note, declared_by, declared_at) VALUES ($1,$2,$3,$4,$5,$6,$7)
      RETURNING ${COLUMNS}`, [randomUUID(), x.subjectId, iso(x.from), iso(x.until), x.note ?? null, x.actor, iso(now)])).rows[0]!
    await syncAway(x.subjectId)
    log.info({ subject: x.subjectId, from: iso(x.from), until: iso(x.until), by: x.actor }, 'absence declared')
    return absenceView(row)
  }

  /** Absences of a subject not yet over, and those that ended in the last 30 days; newest first. */
  async function listAbsences (subjectId: string): Promise<AbsenceView[]> {
    const { rows } = await db.query<AbsenceRow>(`SELECT ${COLUMNS} FROM absences WHERE subject = $1 AND ends_at > $2 ORDER BY starts_at DESC`,
      [subjectId, iso(clock.now() - 30 * 86_400_000)])
    return rows.map(absenceView)
  }

  /** Cancels an absence (the trip was called off): the detectors watch as usual again. */
  async function cancelAbsence (subjectId: string, id: string): Promise<AbsenceView> {
    const row = (await db.query<AbsenceRow>(`UPDATE absences SET cancelled_at = $3 WHERE id = $1 AND subject = $2 AND cancelled_at IS NULL
      RETURNING ${COLUMNS}`, [id, subjectId, iso(clock.now())])).rows[0]
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

  /** Subjects whose declared absences ended since the last sweep (a grace ago): their next window is due. */
  async function sweep (now: number) {
    const { rows } = await db.query<{ subject: string }>(`SELECT DISTINCT subject FROM absences
      WHERE cancelled_at IS NULL AND ends_at > $1 AND ends_at <= $2`, [iso(lastSweep - AWAY_GRACE_MS), iso(now - AWAY_GRACE_MS)])
    lastSweep = now
    for (const r of rows) await syncAway(r.subject, now)
  }

  /** Detector snapshots may predate a declaration or a cancel: give them today's windows. */
  async function start () {
    const { rows } = await db.query<{ subject: string }>('SELECT DISTINCT subject FROM absences WHERE ends_at > $1', [iso(clock.now())])
    for (const r of rows) await syncAway(r.subject)
  }

  return { declareAbsence, listAbsences, cancelAbsence, sweep, start, syncAway }
}
