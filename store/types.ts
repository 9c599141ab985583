/** The one small interface every stage uses to reach the store. */
export interface QueryResult<T> { rows: T[], rowCount: number }

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>>
}

export interface Db extends Queryable {
  /** `embedded` (PGlite in DATA_DIR) or `server` (DATABASE_URL). */
  readonly kind: 'embedded' | 'server'
  /** True when the timescaledb extension is loaded. */
  readonly timescale: boolean
  /** Runs several statements separated by `;` (no parameters). */
  exec(sql: string): Promise<void>
  /** Runs fn in one transaction; rolls back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>
  close(): Promise<void>
}
