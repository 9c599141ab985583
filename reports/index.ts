import { randomUUID } from 'node:crypto'
import { schedule, type ScheduledTask } from 'node-cron'
import type { Logger } from 'pino'
import type { Db } from '../store/index.ts'
import type { Area, Report } from './export.ts'
import { figuresOf, type CaseRow } from './figures.ts'
import { monthOf, monthRange, periodBefore, rangeOf, localDate, type Period, type Range } from './period.ts'
import { loadCases } from './query.ts'
import { checkThresholds, DEFAULT_THRESHOLDS, DEFAULT_WEIGHTS, indexFigures, score, type Colour, type IndexFigures, type IndexSettings } from './safety-index.ts'

export { toCsv, toXlsx, fileName, XLSX_TYPE, type Report, type Area } from './export.ts'
export { DEFAULT_THRESHOLDS, DEFAULT_WEIGHTS, INDEX_FIGURES, Thresholds, Weights, type IndexSettings } from './safety-index.ts'
export type { Period } from './period.ts'

export interface ReportsDeps {
  db: Db
  logger: Logger
  /** Local time for period boundaries (config.utcOffsetHours). */
  utcOffsetHours: number
  clock?: { now (): number }
  /** node-cron expression for making the scheduled reports and closing the index's month; default hourly. */
  tickSchedule?: string
}

export interface StoredReportMeta { id: string, period: Period, start: string, scope: string, madeAt: string }
export interface IndexEntry { grid: string, name: string, colour: Colour, score: number, figures: IndexFigures, /** From the stored history of a closed month (scored with the weights then). */ closed: boolean }
export interface IndexHistoryEntry { month: string, colour: Colour, score: number, figures: IndexFigures, /** The weights and thresholds it was scored with. */ settings: IndexSettings, computedAt: string }

const HOUR = 3_600_000
/** A period's scheduled report is made this long after it ends (Monday and the 1st at 01:00 local): late data gets an hour. */
const GRACE_MS = HOUR
const SCHEDULED_LEVELS = ['street', 'community', 'grid']
const iso = (ms: number) => new Date(ms).toISOString()

/**
 * Weekly and monthly reports per street, community and grid, on request and on schedule, and
 * the monthly four-colour safety index per grid with its history.
 */
export function createReports (deps: ReportsDeps) {
  const { db, utcOffsetHours: off } = deps
  const log = deps.logger.child({ module: 'reports' })
  const clock = deps.clock ?? { now: () => Date.now() }
  let job: ScheduledTask | undefined
  let running: Promise<unknown> = Promise.resolve()

  const under = (rows: readonly CaseRow[], code: string) => rows.filter((r) => r.path.includes(code))

  function assemble (range: Range, scope: Area | null, rows: readonly CaseRow[], areas: readonly Area[]): Report {
    return {
      period: range.period, start: range.start, from: iso(range.from), to: iso(range.to), utcOffsetHours: off,
      scope, figures: figuresOf(rows, range.to),
      areas: areas.map((a) => ({ ...a, figures: figuresOf(under(rows, a.code), range.to) })),
    }
  }

  async function areasUnder (scope: string | null, scopes: readonly string[] | null): Promise<Area[]> {
    const { rows } = scope !== null
      ? await db.query<Area>(`SELECT code, name, level FROM addresses WHERE parent = $1 AND level = ANY($2) ORDER BY code`, [scope, SCHEDULED_LEVELS])
      : scopes !== null
        ? await db.query<Area>('SELECT code, name, level FROM addresses WHERE code = ANY($1) ORDER BY code', [scopes])
        : await db.query<Area>(`SELECT code, name, level FROM addresses WHERE level = 'street' ORDER BY code`)
    return rows
  }

  /**
   * The report of the week or month containing `date` (default today, local) for `scope`, or,
   * without one, for `scopes` (a worker's part of the tree; null: everything).
   */
  async function build (period: Period, date: string | undefined, scope: Area | null, scopes: readonly string[] | null): Promise<Report> {
    const range = rangeOf(period, date ?? localDate(clock.now(), off), off)
    const rows = await loadCases(db, range.from, range.to, scope ? [scope.code] : scopes)
    return assemble(range, scope, rows, await areasUnder(scope?.code ?? null, scope ? null : scopes))
  }

  /** Stored reports, newest first, limited to paths through `scopes` (null: all). */
  async function listStored (q: { period?: Period, scope?: string, limit: number }, scopes: readonly string[] | null): Promise<StoredReportMeta[]> {
    const { rows } = await db.query<{ id: string, period: Period, start_date: string, scope: string, made_at: Date }>(
      `SELECT r.id, r.period, r.start_date, r.scope, r.made_at FROM periodic_reports r JOIN addresses a ON a.code = r.scope
       WHERE ($1::text IS NULL OR r.period = $1) AND ($2::text IS NULL OR r.scope = $2) AND ($3::text[] IS NULL OR a.path && $3)
       ORDER BY r.start_date DESC, r.period, r.scope LIMIT $4`, [q.period ?? null, q.scope ?? null, scopes, q.limit])
    return rows.map((r) => ({ id: r.id, period: r.period, start: r.start_date, scope: r.scope, madeAt: r.made_at.toISOString() }))
  }

  async function getStored (id: string): Promise<{ report: Report, path: string[], madeAt: string } | null> {
    const { rows } = await db.query<{ report: Report, path: string[], made_at: Date }>(
      'SELECT r.report, a.path, r.made_at FROM periodic_reports r JOIN addresses a ON a.code = r.scope WHERE r.id = $1', [id])
    const r = rows[0]
    return r ? { report: r.report, path: r.path, madeAt: r.made_at.toISOString() } : null
  }

  /** Makes and stores the period's report for every street, community and grid that has none yet. */
  async function makeScheduled (range: Range, now: number): Promise<number> {
    const all = (await db.query<Area & { parent: string | null }>('SELECT code, name, level, parent FROM addresses WHERE level = ANY($1) ORDER BY code', [SCHEDULED_LEVELS])).rows
    const done = new Set((await db.query<{ scope: string }>('SELECT scope FROM periodic_reports WHERE period = $1 AND start_date = $2', [range.period, range.start])).rows.map((r) => r.scope))
    const missing = all.filter((a) => !done.has(a.code))
    if (missing.length === 0) return 0
    const rows = await loadCases(db, range.from, range.to, null)
    for (const a of missing) {
      const scope = { code: a.code, name: a.name, level: a.level }
      const report = assemble(range, scope, under(rows, a.code), all.filter((c) => c.parent === a.code).map((c) => ({ code: c.code, name: c.name, level: c.level })))
      await db.query(`INSERT INTO periodic_reports (id, period, start_date, scope, made_at, report) VALUES ($1,$2,$3,$4,$5,$6)
        ON CONFLICT (period, start_date, scope) DO NOTHING`, [randomUUID(), range.period, range.start, a.code, iso(now), JSON.stringify(report)])
    }
    log.info({ period: range.period, start: range.start, reports: missing.length }, 'scheduled reports made')
    return missing.length
  }

  async function settings (): Promise<IndexSettings & { updatedBy: string | null, updatedAt: string | null }> {
    const row = (await db.query<{ weights: Record<string, number>, thresholds: IndexSettings['thresholds'], updated_by: string, updated_at: Date }>(
      'SELECT weights, thresholds, updated_by, updated_at FROM index_settings WHERE id = 1')).rows[0]
    return {
      weights: { ...DEFAULT_WEIGHTS, ...(row?.weights ?? {}) },
      thresholds: row?.thresholds ?? { ...DEFAULT_THRESHOLDS },
      updatedBy: row?.updated_by ?? null,
      updatedAt: row?.updated_at.toISOString() ?? null,
    }
  }

  /** Changes weights (merged over the current ones) and thresholds; months already closed keep their scores. */
  async function setSettings (input: { weights?: Partial<IndexSettings['weights']>, thresholds?: IndexSettings['thresholds'] }, actor: string) {
    const cur = await settings()
    const weights = { ...cur.weights, ...Object.fromEntries(Object.entries(input.weights ?? {}).filter(([, v]) => v !== undefined)) }
    const thresholds = input.thresholds ?? cur.thresholds
    checkThresholds(thresholds)
    await db.query(`INSERT INTO index_settings (id, weights, thresholds, updated_by, updated_at) VALUES (1,$1,$2,$3,$4)
      ON CONFLICT (id) DO UPDATE SET weights = $1, thresholds = $2, updated_by = $3, updated_at = $4`,
    [JSON.stringify(weights), JSON.stringify(thresholds), actor, iso(clock.now())])
    return settings()
  }

  function entries (grids: readonly Area[], rows: readonly CaseRow[], range: Range, s: IndexSettings): IndexEntry[] {
    return grids.map((g) => {
      const figures = indexFigures(figuresOf(under(rows, g.code), range.to))
      return { grid: g.code, name: g.name, ...score(figures, s), figures, closed: false }
    })
  }

  /** One entry per grid under `scope` (or `scopes`): from the history once the month is closed, else computed now. */
  async function safetyIndex (month: string, scope: string | null, scopes: readonly string[] | null): Promise<IndexEntry[]> {
    const range = monthRange(month, off)
    const grids = (await db.query<Area>(`SELECT code, name, level FROM addresses WHERE level = 'grid'
      AND ($1::text IS NULL OR $1 = ANY(path)) AND ($2::text[] IS NULL OR path && $2) ORDER BY code`, [scope, scope ? null : scopes])).rows
    const stored = new Map((await db.query<{ grid: string, colour: Colour, score: number, figures: IndexFigures }>(
      'SELECT grid, colour, score, figures FROM safety_index WHERE month = $1 AND grid = ANY($2)', [month, grids.map((g) => g.code)])).rows.map((r) => [r.grid, r]))
    const open = grids.filter((g) => !stored.has(g.code))
    const live = open.length ? entries(open, await loadCases(db, range.from, range.to, open.map((g) => g.code)), range, await settings()) : []
    const byGrid = new Map(live.map((e) => [e.grid, e]))
    return grids.map((g) => {
      const s = stored.get(g.code)
      return s ? { grid: g.code, name: g.name, colour: s.colour, score: Number(s.score), figures: s.figures, closed: true } : byGrid.get(g.code)!
    })
  }

  /** Scores and stores the closed month for every grid that has no score for it yet. */
  async function closeMonth (range: Range, now: number): Promise<number> {
    const month = monthOf(range)
    const grids = (await db.query<Area>(`SELECT code, name, level FROM addresses WHERE level = 'grid'
      AND code NOT IN (SELECT grid FROM safety_index WHERE month = $1) ORDER BY code`, [month])).rows
    if (grids.length === 0) return 0
    const s = await settings()
    const list = entries(grids, await loadCases(db, range.from, range.to, null), range, s)
    for (const e of list) {
      await db.query(`INSERT INTO safety_index (grid, month, colour, score, figures, weights, computed_at) VALUES ($1,$2,$3,$4,$5,$6,$7)
        ON CONFLICT (grid, month) DO NOTHING`, [e.grid, month, e.colour, e.score, JSON.stringify(e.figures), JSON.stringify({ weights: s.weights, thresholds: s.thresholds }), iso(now)])
    }
    log.info({ month, grids: list.length }, 'safety index month closed')
    return list.length
  }

  async function history (grid: string): Promise<IndexHistoryEntry[]> {
    const { rows } = await db.query<{ month: string, colour: Colour, score: number, figures: IndexFigures, weights: IndexSettings, computed_at: Date }>(
      'SELECT month, colour, score, figures, weights, computed_at FROM safety_index WHERE grid = $1 ORDER BY month DESC', [grid])
    return rows.map((r) => ({ month: r.month, colour: r.colour, score: Number(r.score), figures: r.figures, settings: r.weights, computedAt: r.computed_at.toISOString() }))
  }

  /**
   * Makes what is due at `now`: the last two weeks' and months' reports an hour after each ends
   * (so a restart, or a tick missed, catches up), and closes the index's last two months.
   */
  async function doTick (now: number): Promise<{ reports: number, indexed: number }> {
    let reports = 0
    let indexed = 0
    for (const period of ['week', 'month'] as const) {
      for (const back of [2, 1]) {
        const range = periodBefore(period, now, off, back)
        if (now < range.to + GRACE_MS) continue
        reports += await makeScheduled(range, now)
        if (period === 'month') indexed += await closeMonth(range, now)
      }
    }
    return { reports, indexed }
  }

  /** Runs one tick at `now` (default the clock) after any running one. */
  function tick (now = clock.now()): Promise<{ reports: number, indexed: number }> {
    const next = running.then(() => doTick(now))
    running = next.catch((err) => log.error({ err: (err as Error).message }, 'reports tick failed'))
    return next
  }

  return {
    build,
    listStored,
    getStored,
    settings,
    setSettings,
    safetyIndex,
    history,
    tick,
    /** Waits for a running tick. */
    async idle () { await running },
    async start () {
      job = schedule(deps.tickSchedule ?? '7 * * * *', () => { void tick().catch(() => {}) })
      void tick().catch(() => {})
    },
    async stop () {
      await job?.destroy()
      job = undefined
      await running
    },
  }
}

export type Reports = ReturnType<typeof createReports>
