import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import type { Logger } from 'pino'
import { COPY_SAVEPOINT, copyPieces, copySql, UNIQUE_VIOLATION } from './copy.ts'
import type { CopyColumn, CopyRows, Db, Queryable, QueryResult, Transaction } from './types.ts'

/** Postgres error codes worth another try: connection loss, shutdown, serialization. */
export const TRANSIENT_PG_CODES = new Set(['08000', '08003', '08006', '08001', '08004', '57P01', '57P02', '57P03', '40001', '40P01', '53300'])
const TRANSIENT_NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN'])

export function isTransient (err: unknown): boolean {
  const e = err as { code?: string, message?: string }
  if (e?.code && (TRANSIENT_PG_CODES.has(e.code) || TRANSIENT_NET_CODES.has(e.code))) return true
  return /Connection terminated|connection is closed|Client has encountered a connection error/i.test(e?.message ?? '')
}

const wrap = (c: pg.Pool | pg.PoolClient): Queryable => ({
  async query<T> (sql: string, params?: unknown[]): Promise<QueryResult<T>> {
    const r = await c.query(sql, params as unknown[])
    return { rows: r.rows as T[], rowCount: r.rowCount ?? r.rows.length }
  },
})

/** COPY ... FROM STDIN on one connection, streamed in pieces. */
async function copyInto (client: pg.PoolClient, table: string, columns: readonly CopyColumn[], rows: CopyRows): Promise<void> {
  if (rows.length === 0) return
  await pipeline(Readable.from(copyPieces(columns, rows), { objectMode: false }), client.query(copyFrom(copySql(table, columns, 'STDIN'))))
}

const wrapTransaction = (c: pg.PoolClient): Transaction => ({
  ...wrap(c),
  copyRows: (table, columns, rows) => copyInto(c, table, columns, rows),
  async copyNewRows (table, columns, rows) {
    if (rows.length === 0) return true
    await c.query(`SAVEPOINT ${COPY_SAVEPOINT}`)
    try {
      await copyInto(c, table, columns, rows)
    } catch (err) {
      if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err
      await c.query(`ROLLBACK TO SAVEPOINT ${COPY_SAVEPOINT}; RELEASE SAVEPOINT ${COPY_SAVEPOINT}`)
      return false
    }
    await c.query(`RELEASE SAVEPOINT ${COPY_SAVEPOINT}`)
    return true
  },
})


export interface ServerDbOptions {
  url: string
  logger: Logger
  /** Pool size; default 10. */
  max?: number
  /** Give up connecting at start after this long, ms; default 60000. */
  connectTimeoutMs?: number
}

/**
 * A PostgreSQL or TimescaleDB server through a pg pool. A server that is down at
 * start is retried with backoff and a clear log line, not a crash loop.
 */
export async function createServerDb (opts: ServerDbOptions): Promise<Db> {
  const pool = new pg.Pool({ connectionString: opts.url, max: opts.max ?? 10 })
  pool.on('error', (err) => opts.logger.warn({ err: err.message }, 'idle store connection lost'))
  const deadline = Date.now() + (opts.connectTimeoutMs ?? 60_000)
  for (let attempt = 1; ; attempt++) {
    try {
      await pool.query('SELECT 1')
      break
    } catch (err) {
      if (!isTransient(err) || Date.now() > deadline) {
        await pool.end().catch(() => {})
        throw new Error(`DATABASE_URL: cannot reach the store (${(err as Error).message})`)
      }
      const wait = Math.min(5000, 200 * 2 ** attempt)
      opts.logger.warn({ attempt, waitMs: wait, err: (err as Error).message }, 'store not reachable yet; retrying')
      await new Promise((r) => setTimeout(r, wait))
    }
  }
  const timescale = await enableTimescale(pool, opts.logger)
  let closed = false
  const transaction: Db['transaction'] = async (fn) => {
    const client = await pool.connect()
    // A connection killed while checked out emits 'error' on the client; without a
    // listener that would crash the process. The failing query rejects anyway.
    const onError = (err: Error) => opts.logger.warn({ err: err.message }, 'store connection lost in a transaction')
    client.on('error', onError)
    let failure: Error | undefined
    try {
      await client.query('BEGIN')
      const out = await fn(wrapTransaction(client))
      await client.query('COMMIT')
      return out
    } catch (err) {
      failure = err as Error
      await client.query('ROLLBACK').catch(() => {})
      throw err
    } finally {
      client.off('error', onError)
      // A broken connection goes back with its error so the pool discards it.
      client.release(failure && isTransient(failure) ? failure : undefined)
    }
  }
  return {
    kind: 'server',
    timescale,
    ...wrap(pool),
    async exec (sql) { await pool.query(sql) },
    transaction,
    run: (task, arg) => transaction((tx) => task.fn(tx, arg)),
    async close () {
      if (closed) return
      closed = true
      await pool.end()
    },
  }
}

async function enableTimescale (pool: pg.Pool, logger: Logger): Promise<boolean> {
  const { rows } = await pool.query("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
  if (rows.length === 0) return false
  try {
    await pool.query('CREATE EXTENSION IF NOT EXISTS timescaledb')
    return true
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'timescaledb is available but could not be enabled')
    return false
  }
}
