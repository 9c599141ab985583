import type { Transaction } from './types.ts'

/**
 * A function run in one transaction where the store is (Db.run): on the embedded store's own
 * thread it is one message there and back, where a transaction driven from the main thread
 * (Db.transaction) holds the main thread in a synchronous wait for each statement. `module` and `name` say where that thread finds `fn`; the argument
 * and the result cross threads, so they must be data (structured clone), not objects with methods.
 */
export interface StoreTask<A, R> {
  readonly module: string
  readonly name: string
  readonly fn: (tx: Transaction, arg: A) => Promise<R>
  /**
   * The buffers of an argument that are handed to the store's thread rather than copied (a
   * batch's COPY data): after run() the caller must not read them. Other stores ignore it.
   */
  readonly transfer?: (arg: A) => ArrayBuffer[]
}

/** `fn` must be exported from `module` under its own name. */
export function storeTask<A, R> (module: URL | string, fn: (tx: Transaction, arg: A) => Promise<R>, { transfer }: { transfer?: (arg: A) => ArrayBuffer[] } = {}): StoreTask<A, R> {
  if (!fn.name) throw new Error('a store task must be a named function exported from its module')
  return Object.freeze({ module: String(module), name: fn.name, fn, ...(transfer ? { transfer } : {}) })
}
