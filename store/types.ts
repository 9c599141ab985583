import type { StoreTask } from './task.ts'

/** The one small interface every stage uses to reach the store. */
export interface QueryResult<T> { rows: T[], rowCount: number }

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>>
}

/** One row of column values, in the columns' order; null or undefined for NULL. */
export type CopyRow = readonly unknown[]

/**
 * Rows already in COPY's binary format, header to trailer (encodeCopy in store/copy.ts), in one
 * buffer of their own: what a batch is handed to the embedded store's thread as (moved, not
 * copied). `length` is the number of rows.
 */
export interface EncodedRows { readonly encoded: Uint8Array, readonly length: number }

/** What a COPY takes: rows of values, or rows encoded already. */
export type CopyRows = readonly CopyRow[] | EncodedRows

/**
 * A column of a binary COPY and the values it takes: text a string, float8 a
 * number, int8 and int4 an integer, bool a boolean, timestamptz epoch ms or a
 * Date, jsonb anything JSON.stringify takes. The type must be the table's own:
 * the binary format carries none, so a mismatch is misread, not converted.
 */
export interface CopyColumn {
  name: string
  type: 'text' | 'float8' | 'int8' | 'int4' | 'bool' | 'timestamptz' | 'jsonb'
}

/** What a transaction's callback gets: queries on the transaction's one connection. */
export interface Transaction extends Queryable {
  /**
   * Bulk load with binary COPY, where the store offers it. Plain COPY: no
   * conflict handling, a duplicate key fails the whole statement. Offered only
   * inside a transaction, so a savepoint or staging table and the statements
   * around the COPY share its one connection.
   */
  copyRows?(table: string, columns: readonly CopyColumn[], rows: CopyRows): Promise<void>
  /**
   * COPY that writes all the rows, or none when one of them would break a unique key:
   * then it answers false and the transaction goes on, as if it had not run (a savepoint
   * around it). Offered wherever copyRows is, as one step: on the embedded store one call.
   */
  copyNewRows?(table: string, columns: readonly CopyColumn[], rows: CopyRows): Promise<boolean>
}

export interface Db extends Queryable {
  /** `embedded` (PGlite in DATA_DIR) or `server` (DATABASE_URL). */
  readonly kind: 'embedded' | 'server'
  /** True when the timescaledb extension is loaded. */
  readonly timescale: boolean
  /** Runs several statements separated by `;` (no parameters). */
  exec(sql: string): Promise<void>
  /** Runs fn in one transaction; rolls back when it throws. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>
  /** Runs a task's function in one transaction where the store is (store/task.ts); rolls back when it throws. */
  run<A, R>(task: StoreTask<A, R>, arg: A): Promise<R>
  close(): Promise<void>
  /**
   * Settles now the answers that have come from a store on another thread (the embedded
   * store's thread), without waiting for the event loop's turn; cheap when none has come.
   */
  poll?(): void
}
