import type { Logger } from 'pino'
import type { Config } from '../config/index.ts'
import { createEmbeddedDb, type EmbeddedOptions } from './embedded.ts'
import { migrate } from './migrations.ts'
import { placeStore } from './place.ts'
import { createServerDb } from './server.ts'
import type { Db } from './types.ts'

export type { CopyColumn, CopyRow, CopyRows, Db, EncodedRows, Queryable, QueryResult, Transaction } from './types.ts'
export type { EmbeddedOptions } from './embedded.ts'
export { storeTask, type StoreTask } from './task.ts'
export { isTransient } from './server.ts'
export { encodeCopy, UNIQUE_VIOLATION } from './copy.ts'
export { createMaintenance } from './maintenance.ts'
export { createStoreWatch, type StoreWatch } from './health.ts'

/**
 * Opens the store the config names (DATABASE_URL, else the embedded store in
 * DATA_DIR), applies migrations and logs one line saying which mode runs.
 * The embedded store runs on its own thread when `embedded.worker` says so, else
 * as the config's EMBEDDED_STORE_THREAD says (on unless 0).
 */
export async function openStore (config: Pick<Config, 'databaseUrl' | 'dataDir' | 'compressAfterDays' | 'retainRawDays' | 'dbConnectTimeoutS'> & Partial<Pick<Config, 'embeddedStoreThread'>>, logger: Logger, embedded: EmbeddedOptions = {}): Promise<Db> {
  const log = logger.child({ module: 'store' })
  const db = config.databaseUrl
    ? await createServerDb({ url: config.databaseUrl, logger: log, connectTimeoutMs: config.dbConnectTimeoutS * 1000 })
    : await openEmbedded(config.dataDir, log, { ...embedded, worker: embedded.worker ?? config.embeddedStoreThread ?? true })
  await migrate(db, log)
  log.info({ kind: db.kind, timescale: db.timescale }, describeMode(db, config))
  return db
}

export function describeMode (db: Pick<Db, 'kind' | 'timescale' | 'poll'>, config?: Pick<Config, 'compressAfterDays' | 'retainRawDays'>): string {
  // Only the embedded store on a thread of its own has answers to poll for.
  const where = db.kind === 'server' ? 'server store' : db.poll ? 'embedded store (PGlite, on its own thread)' : 'embedded store (PGlite)'
  if (!db.timescale) {
    return `store: ${where}, plain PostgreSQL without timescaledb: degraded: readings in ordinary tables, hourly/daily energy are plain views over them, no compression, no retention policy`
  }
  const compress = config?.compressAfterDays ? `compression after ${config.compressAfterDays} d` : 'compression off'
  const retain = config?.retainRawDays ? `raw readings kept ${config.retainRawDays} d` : 'raw readings kept for ever'
  const jobs = db.kind === 'embedded' ? 'jobs run by gridcare' : 'policies run by the server'
  return `store: ${where} with TimescaleDB: hypertables, continuous aggregates (hourly, daily), ${compress}, ${retain} (${jobs})`
}

/**
 * The embedded store in DATA_DIR/store; on first start it is created and
 * migrated elsewhere and moved into place when complete (store/place.ts).
 */
async function openEmbedded (dataDir: string, log: Logger, options: EmbeddedOptions): Promise<Db> {
  if (dataDir.startsWith('memory://')) return createEmbeddedDb(dataDir, options)
  const place = placeStore(dataDir, log)
  if (place.kind === 'fresh') {
    log.info({ path: place.path }, 'store: first start: creating the embedded store')
    // On this thread even when the store is to run on its own: a thread of its own for the
    // migrations alone would be one more to start (a new JavaScript heap, its modules loaded).
    const made = await createEmbeddedDb(place.temp, { ...options, worker: false })
    try { await migrate(made, log) } finally { await made.close() }
    place.finish()
  }
  try {
    return await createEmbeddedDb(place.path, options)
  } catch (err) {
    throw new Error(`DATA_DIR: the embedded store in "${place.path}" cannot be opened (${oneLine(err)}); move that folder aside (gridcare then makes a fresh store) or restore it from a backup`)
  }
}

const oneLine = (err: unknown) => String((err as Error)?.message ?? err).split('\n')[0]!.slice(0, 200)
