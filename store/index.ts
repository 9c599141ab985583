import type { Logger } from 'pino'
import type { Config } from '../config/index.ts'
import { createEmbeddedDb } from './embedded.ts'
import { migrate } from './migrations.ts'
import { createServerDb } from './server.ts'
import type { Db } from './types.ts'

export type { Db, Queryable, QueryResult } from './types.ts'
export { isTransient } from './server.ts'

/**
 * Opens the store the config names (DATABASE_URL, else the embedded store in
 * DATA_DIR), applies migrations and logs one line saying which mode runs.
 */
export async function openStore (config: Pick<Config, 'databaseUrl' | 'dataDir'>, logger: Logger): Promise<Db> {
  const log = logger.child({ module: 'store' })
  const db = config.databaseUrl
    ? await createServerDb({ url: config.databaseUrl, logger: log })
    : await createEmbeddedDb(config.dataDir)
  await migrate(db, log)
  log.info({ kind: db.kind, timescale: db.timescale }, describeMode(db))
  return db
}

export function describeMode (db: Pick<Db, 'kind' | 'timescale'>): string {
  const where = db.kind === 'embedded' ? 'embedded store (PGlite)' : 'server store'
  return db.timescale
    ? `store: ${where} with TimescaleDB: hypertables on`
    : `store: ${where}, plain PostgreSQL without timescaledb: degraded: readings in ordinary tables, no compression, no retention policy`
}
