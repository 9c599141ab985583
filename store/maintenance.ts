import type { Logger } from 'pino'
import { setTimeout as sleep } from 'node:timers/promises'
import { schedule, type ScheduledTask } from 'node-cron'
import type { Config } from '../config/index.ts'
import type { Db } from './types.ts'

const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000
/** PostgreSQL's SQLSTATE for a function that does not exist. */
const UNDEFINED_FUNCTION = '42883'
/** Runs one housekeeping statement and says how long it took, ms (stepper). */
type Step = (statement: () => Promise<unknown>) => Promise<number>
/** How long one slice of a refresh should hold the embedded store (refreshInSlices). */
const SLICE_MS = 50
const MAX_SLICE_MS = 32 * DAY_MS

/**
 * Keeps the store's time-series housekeeping in step with the configuration.
 * A TimescaleDB server runs its policies in background workers; the embedded
 * store has none, so the product runs the same jobs itself on a tick. Both
 * refresh aggregates whose raw rows changed (replays and late readings land
 * below the policies' window).
 */
export function createMaintenance ({ db, config, logger }: { db: Db, config: Pick<Config, 'compressAfterDays' | 'retainRawDays'>, logger: Logger }) {
  const log = logger.child({ module: 'maintenance' })
  let job: ScheduledTask | undefined
  let running: Promise<void> | undefined

  /** Sets the compression and retention policies from the config (server with TimescaleDB). */
  async function applyPolicies () {
    if (!db.timescale) return
    await db.query("SELECT remove_compression_policy('readings', if_exists => true)")
    if (config.compressAfterDays > 0) await db.query(`SELECT add_compression_policy('readings', make_interval(days => $1::int))`, [Math.ceil(config.compressAfterDays)])
    await db.query("SELECT remove_retention_policy('readings', if_exists => true)")
    if (config.retainRawDays > 0) await db.query(`SELECT add_retention_policy('readings', make_interval(days => $1::int))`, [Math.ceil(config.retainRawDays)])
  }

  /** The hour the daily aggregate was last refreshed in (refresh()). */
  let dailyHour: number | undefined

  /**
   * Brings the continuous aggregates up to date with rows written below their watermark, up to
   * the closed buckets at wall time `now`: the hourly up to the start of the current hour, the
   * daily up to the start of the day an hour ago. What is newer stays with the views' real-time
   * part (`materialized_only = false`), so a reading a minute old is in both, and live writes
   * (past the invalidation threshold, where a refresh ends) log no invalidation. Refreshing up to
   * the newest data instead aggregated the whole open hour again at every tick (0.1-0.6 s of the
   * embedded store's thread at 20k-220k readings in that hour, 2.2 s at 660k: bench/tick.ts), and
   * the open hour then stayed as that tick left it until the next. One gap is left: a reading of
   * the hour before that arrives after the tick on the hour closed it is below the watermark, so it
   * is in neither view until the next tick (5 minutes) aggregates it again, as any late reading.
   * The hourly goes first, so the daily finds the hours of a closed day materialized. The daily is
   * refreshed once an hour, at the first refresh in it (the tick on the hour, when the open hour
   * holds the fewest readings): its refresh reads the hourly view, and that view's real-time part
   * there tests the hourly's watermark, looked up again, on every raw reading of the open hour
   * (about 15 µs a reading on the embedded store: 3.5-4 s for a late reading of yesterday during
   * a burst of 140k-220k readings an hour). A closed day is materialized an hour after midnight,
   * when the readings in flight at midnight are in. So a late reading reaches the hourly at the
   * next tick and the daily within the hour (the server's daily policy runs hourly too).
   */
  async function refresh (now = Date.now(), { paced = false } = {}) {
    if (!db.timescale) return
    const step = stepper(paced)
    await step(summarizeBrin)
    // The bounds as literals made here from numbers, sent by the simple protocol (exec) as psql
    // would: a CALL of this procedure, which commits, with bound parameters (the extended protocol)
    // ran on PGlite but was never tried on a TimescaleDB server (none on these machines).
    const hour = Math.floor(now / HOUR_MS) * HOUR_MS
    // The hourly is refreshed only where raw readings still are: from the oldest chunk of them.
    // Retention's drop_chunks marks the span it dropped as changed, and a refresh over it (from
    // NULL, as before) found no readings there and deleted the hours it held (the hourly of
    // readings past RETAIN_RAW_DAYS, which the aggregates are there to keep).
    // With none (a new store), the hour before: the refresh then only moves the watermark to `hour`,
    // so that what is written below it from then on is recorded as late (and refreshed in slices).
    // And never below the retention horizon: a stray reading there (a meter's clock reset, a
    // replay) makes a chunk again among the dropped ones, and a refresh from it deleted theirs. A
    // reading older than RETAIN_RAW_DAYS reaches no aggregate, and its chunk goes at the next drop.
    const first = (await db.query<{ at: Date | null }>("SELECT min(range_start) AS at FROM timescaledb_information.chunks WHERE hypertable_name = 'readings'")).rows[0]?.at
    const horizon = config.retainRawDays > 0 ? Math.ceil((now - config.retainRawDays * DAY_MS) / HOUR_MS) * HOUR_MS : -Infinity
    const from = Math.min(Math.max(first ? new Date(first).getTime() : hour - HOUR_MS, horizon), hour - HOUR_MS)
    if (db.kind === 'embedded') await refreshInSlices(from, hour, step)
    else await refreshHourly(from, hour)
    if (dailyHour === hour || stopping) return
    // The daily reads the hourly view, whose real-time part reads the raw readings past the hourly's
    // watermark: the BRIN skips the ranges of older ones only once summarized, and what was written
    // while the slices went is not. Unsummarized, a bench tick on the hour read all 700k-800k late
    // readings of the run there: 0.95-1.13 s of the store (p99 1.0-1.2 s); summarized again here,
    // 32-97 ms (p99 205-218 ms), `--tick-at 5`, 2026-12-02.
    await step(summarizeBrin)
    // The daily reads the hourly, which no retention drops: from NULL.
    await step(() => db.exec(`CALL refresh_continuous_aggregate('energy_daily', NULL, '${new Date(Math.floor((now - HOUR_MS) / DAY_MS) * DAY_MS).toISOString()}')`))
    dailyHour = hour
  }

  /** False once this TimescaleDB was found without the functions refreshInSlices reads its record with. */
  let slicing = true
  /** Set by stop(): a paced refresh ends at its next slice (what is left stays invalidated for the next start). */
  let stopping = false

  /**
   * The hourly aggregate refreshed over [from, end) with what was written below its watermark taken
   * a slice at a time, so that the embedded store's one connection answers the writes waiting
   * between two slices: one CALL over every invalidated hour held them all for as long as it took
   * (about 1.3 µs a reading: a day's backlog from concentrators, 0.4-1 s and more at the next
   * tick). The slices follow TimescaleDB's own record of what was invalidated (the hypertable's log
   * moved into the aggregate's, then read: internal functions of TimescaleDB 2.23, which
   * package-lock.json fixes for the embedded store). Each range starts an hour wide, doubling while
   * a full-width slice takes under SLICE_MS / 2 and halving (never below the hour) when one takes
   * over 2 x SLICE_MS, so sparse history goes in a few calls and a dense hour in one. Each slice is a `step`, which in
   * the tick's run waits as long as the slice took before the next (stepper): meters' bench runs
   * holding a tick over ~7 late hours (`--tick-at 5`), p99 328, 285, 243 ms unpaced against 217,
   * 193, 230 paced (waiting twice as long: 220). The last CALL, up to `end`, then finds those ranges done
   * and aggregates what lies above the watermark: the hour just closed (one bucket, so still one
   * statement) or, after a start with nothing aggregated yet, everything. If the record cannot be
   * read, that last CALL does it all.
   */
  async function refreshInSlices (from: number, end: number, step: Step) {
    let ranges: Array<{ lo: number, hi: number }> = []
    if (slicing) {
      try {
        await db.exec("CALL _timescaledb_functions.process_hypertable_invalidations('readings'::regclass)")
        ranges = (await db.query<{ lo: number, hi: number }>(`SELECT extract(epoch FROM lower(r))::float8 * 1000 AS lo, extract(epoch FROM upper(r))::float8 * 1000 AS hi
          FROM unnest((SELECT invalidations FROM _timescaledb_functions.get_materialization_invalidations('energy_hourly'::regclass,
            tstzrange($1::timestamptz, $2::timestamptz)))) r ORDER BY 1`, [new Date(from).toISOString(), new Date(end).toISOString()])).rows
      } catch (err) {
        // A TimescaleDB without these functions: said once, and not asked again. Anything else: this tick only.
        if ((err as { code?: string }).code === UNDEFINED_FUNCTION) slicing = false
        log.warn({ err: (err as Error).message, again: slicing }, 'invalidated ranges unreadable: the hourly refreshed in one call')
      }
    }
    for (const r of ranges) {
      if (!Number.isFinite(r.lo) || !Number.isFinite(r.hi)) continue
      let at = Math.max(from, Math.floor(r.lo / HOUR_MS) * HOUR_MS)
      const to = Math.min(end, Math.ceil(r.hi / HOUR_MS) * HOUR_MS)
      let width = HOUR_MS
      while (at < to) {
        if (stopping) return
        const next = Math.min(to, at + width)
        const ms = await step(() => refreshHourly(at, next))
        if (ms < SLICE_MS / 2 && next - at === width) width = Math.min(width * 2, MAX_SLICE_MS)
        else if (ms > SLICE_MS * 2) width = Math.max(HOUR_MS, Math.floor(width / 2 / HOUR_MS) * HOUR_MS)
        at = next
      }
    }
    if (stopping) return
    await step(() => refreshHourly(from, end))
  }

  /**
   * One statement of the housekeeping, timed (ms back): `paced` (the tick's run, while devices
   * publish; not start-up's refresh) then waits as long as it took, at most 2 x SLICE_MS (the time
   * is the main thread's, queued writes included), so the writes waiting on the embedded store's one
   * connection have it about half the time. Back to back, the tick's last statements after the
   * slices (the last hourly CALL, the BRIN, the daily on the hour, the checkpoint: 60-90 ms each)
   * held a wave of acks for ~300 ms in a bench run.
   */
  function stepper (paced: boolean): Step {
    return async (statement) => {
      const t = performance.now()
      await statement()
      const ms = performance.now() - t
      if (paced && db.kind === 'embedded') await sleep(Math.min(ms, 2 * SLICE_MS))
      return ms
    }
  }

  /**
   * The BRIN index on readings.ts (migration 15) skips only summarized page ranges: the new ones
   * summarized (on a server autovacuum does too; the embedded store has no autovacuum).
   */
  const summarizeBrin = () => db.query(`SELECT count(brin_summarize_new_values(i.indexrelid)) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE c.relam = (SELECT oid FROM pg_am WHERE amname = 'brin') AND i.indrelid IN (SELECT format('%I.%I', chunk_schema, chunk_name)::regclass
      FROM timescaledb_information.chunks WHERE hypertable_name = 'readings' AND NOT is_compressed)`)

  /** The hourly aggregate refreshed over [from, to), epoch ms (its buckets wholly inside). */
  const refreshHourly = (from: number, to: number) => db.exec(`CALL refresh_continuous_aggregate('energy_hourly', '${new Date(from).toISOString()}', '${new Date(to).toISOString()}')`)

  /** One pass of housekeeping at wall time `now`. */
  async function run (now = Date.now()): Promise<{ compressed: number, dropped: number }> {
    if (!db.timescale) return { compressed: 0, dropped: 0 }
    await refresh(now, { paced: true })
    const step = stepper(true)
    if (stopping) return { compressed: 0, dropped: 0 }
    let compressed = 0
    let dropped = 0
    if (db.kind === 'embedded') {
      // PGlite is Postgres in single-user mode: no checkpointer, and XLogWrite asks for a
      // checkpoint only under a postmaster. Without this the WAL grew for as long as gridcare
      // ran (about 180 bytes a reading, none ever recycled) and a restart after a kill replayed
      // all of it. A server checkpoints every 5 minutes by default; so does this tick.
      await step(() => db.exec('CHECKPOINT'))
      if (config.retainRawDays > 0) {
        await step(async () => {
          const r = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM drop_chunks('readings', older_than => $1::timestamptz)", [new Date(now - config.retainRawDays * DAY_MS).toISOString()])
          dropped = r.rows[0]?.n ?? 0
        })
      }
      if (config.compressAfterDays > 0) {
        await step(async () => {
          const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM (SELECT compress_chunk(c, if_not_compressed => true)
            FROM show_chunks('readings', older_than => $1::timestamptz) c) done`, [new Date(now - config.compressAfterDays * DAY_MS).toISOString()])
          compressed = r.rows[0]?.n ?? 0
        })
      }
    }
    if (compressed + dropped > 0) log.info({ compressed, dropped }, 'store housekeeping')
    return { compressed, dropped }
  }

  return {
    applyPolicies,
    refresh,
    run,
    start () {
      job = schedule('*/5 * * * *', () => {
        running ??= run().then(() => {}, (err) => log.error({ err: (err as Error).message }, 'store housekeeping failed')).finally(() => { running = undefined })
      })
    },
    async stop () {
      stopping = true
      await job?.destroy()
      await running
    },
  }
}
