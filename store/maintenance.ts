import type { Logger } from 'pino'
import { schedule, type ScheduledTask } from 'node-cron'
import type { Config } from '../config/index.ts'
import type { Db } from './types.ts'

const DAY_MS = 86_400_000

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

  /** Brings the continuous aggregates up to date with rows written below their watermark. */
  async function refresh () {
    if (!db.timescale) return
    // The BRIN index on readings.ts (migration 15) skips only summarized page ranges: summarize
    // the new ones (on a server autovacuum does too; the embedded store has no autovacuum).
    await db.query(`SELECT count(brin_summarize_new_values(i.indexrelid)) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE c.relam = (SELECT oid FROM pg_am WHERE amname = 'brin') AND i.indrelid IN (SELECT format('%I.%I', chunk_schema, chunk_name)::regclass
        FROM timescaledb_information.chunks WHERE hypertable_name = 'readings' AND NOT is_compressed)`)
    await db.exec("CALL refresh_continuous_aggregate('energy_hourly', NULL, NULL)")
    await db.exec("CALL refresh_continuous_aggregate('energy_daily', NULL, NULL)")
  }

  /** One pass of housekeeping at wall time `now`. */
  async function run (now = Date.now()): Promise<{ compressed: number, dropped: number }> {
    if (!db.timescale) return { compressed: 0, dropped: 0 }
    await refresh()
    let compressed = 0
    let dropped = 0
    if (db.kind === 'embedded') {
      // PGlite is Postgres in single-user mode: no checkpointer, and XLogWrite asks for a
      // checkpoint only under a postmaster. Without this the WAL grew for as long as gridcare
      // ran (about 180 bytes a reading, none ever recycled) and a restart after a kill replayed
      // all of it. A server checkpoints every 5 minutes by default; so does this tick.
      await db.exec('CHECKPOINT')
      if (config.retainRawDays > 0) {
        const r = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM drop_chunks('readings', older_than => $1::timestamptz)", [new Date(now - config.retainRawDays * DAY_MS).toISOString()])
        dropped = r.rows[0]?.n ?? 0
      }
      if (config.compressAfterDays > 0) {
        const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM (SELECT compress_chunk(c, if_not_compressed => true)
          FROM show_chunks('readings', older_than => $1::timestamptz) c) done`, [new Date(now - config.compressAfterDays * DAY_MS).toISOString()])
        compressed = r.rows[0]?.n ?? 0
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
      await job?.destroy()
      await running
    },
  }
}
