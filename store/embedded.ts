import { mkdirSync } from 'node:fs'
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads'
import { copyData, copySql } from './copy.ts'
import type { ErrorData, StoreReady, StoreReply, StoreRequest, StoreWorkerData } from './embedded-worker.ts'
import { fsmKeeper, openPglite, pgliteQueryable, pgliteTransaction } from './pglite.ts'
import type { CopyColumn, CopyRows, Db, QueryResult } from './types.ts'

export interface EmbeddedOptions {
  /**
   * Runs PGlite on a thread of its own (store/embedded-worker.ts); default false here, on in
   * gridcare (config EMBEDDED_STORE_THREAD). PGlite's queries are synchronous WASM: on the calling
   * thread they took a quarter to a third of the main thread's time under load. On its own thread
   * they take none of it; its answers are heard at poll() (ingest asks between two MQTT messages)
   * or at the next turn of the event loop, whichever is first. GRIDCARE_STORE_PROF=DIR writes the
   * thread's CPU profile there when it ends (the bench's `--profile`).
   */
  worker?: boolean
}

/**
 * The embedded store: PGlite with the timescaledb extension, data in dataDir
 * (`memory://` keeps it in memory). One connection; PGlite queues queries.
 */
export async function createEmbeddedDb (dataDir: string, { worker = false }: EmbeddedOptions = {}): Promise<Db> {
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true })
  return worker ? openInWorker(dataDir) : openHere(dataDir)
}

async function openHere (dataDir: string): Promise<Db> {
  const pg = await openPglite(dataDir)
  let closed = false
  const fsm = fsmKeeper(dataDir)
  const transaction: Db['transaction'] = (fn) => pg.transaction((tx) => fn(pgliteTransaction(pg, tx, fsm)))
  return {
    kind: 'embedded',
    timescale: true,
    ...pgliteQueryable(pg),
    async exec (sql) { await pg.exec(sql) },
    transaction,
    run: (task, arg) => transaction((tx) => task.fn(tx, arg)),
    async close () {
      if (closed) return
      closed = true
      await pg.close()
    },
  }
}

/** The store thread's entry: it registers tsx (Node 20 does not hand loaders to threads), then loads embedded-worker.ts. */
const workerFile = new URL('./embedded-worker.mjs', import.meta.url)

type Pending = { resolve: (v: unknown) => void, reject: (err: Error) => void }
const settle = (p: Pending, m: StoreReply) => 'err' in m ? p.reject(fromData(m.err)) : p.resolve(m.ok)

type Body = StoreRequest extends infer R ? R extends StoreRequest ? Omit<R, 'id'> : never : never

/**
 * COPY data in one piece, whose memory is handed over to the store's thread: rows encoded
 * already are copied first (one copy of bytes), as the caller may use them again (staging
 * after a duplicate).
 */
const copyBytes = (columns: readonly CopyColumn[], rows: CopyRows): Uint8Array => {
  const data = copyData(columns, rows)
  return Array.isArray(rows) ? data : new Uint8Array(data) // not Buffer's slice(), a view
}

async function openInWorker (dataDir: string): Promise<Db> {
  const sync = new MessageChannel()
  const replies = new MessageChannel()
  const flag = new Int32Array(new SharedArrayBuffer(12))
  const thread = new Worker(workerFile, {
    workerData: { gridcareStore: true, dataDir, syncPort: sync.port2, replyPort: replies.port2, syncFlag: flag } satisfies StoreWorkerData,
    transferList: [sync.port2, replies.port2],
    // The thread needs none of this process's flags (--input-type, loaders it cannot take): its entry registers tsx.
    execArgv: process.env.GRIDCARE_STORE_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.GRIDCARE_STORE_PROF}`, '--cpu-prof-interval=1000'] : [],
  })
  const pending = new Map<number, Pending>()
  let nextId = 1
  let gone: Error | undefined
  const failAll = (err: Error) => {
    gone ??= err
    for (const p of pending.values()) p.reject(gone)
    pending.clear()
  }
  function drain () {
    for (let got = receiveMessageOnPort(replies.port1); got; got = receiveMessageOnPort(replies.port1)) onReply(got.message as StoreReply)
  }
  const poll = () => {
    if (Atomics.load(flag, 2) === 0) return
    Atomics.store(flag, 2, 0)
    drain()
  }
  // Answers the thread sent before it ended are settled first: they come on replyPort, which
  // Node does not read before the thread's 'error' and 'exit' (it does read the thread's own channel).
  thread.on('error', (err) => { drain(); failAll(new Error(`embedded store thread failed: ${err.message}`)) })
  thread.on('exit', (code) => { drain(); failAll(new Error(`embedded store thread exited (code ${code})`)) })
  await new Promise<void>((resolve, reject) => {
    const onExit = () => reject(gone)
    thread.once('exit', onExit)
    thread.once('message', (m: StoreReady) => {
      thread.off('exit', onExit)
      if (m.ready) return resolve()
      void thread.terminate()
      reject(fromData(m.err))
    })
  })
  function onReply (m: StoreReply) {
    const p = pending.get(m.id)
    if (!p) return
    pending.delete(m.id)
    if (pending.size === 0) { thread.unref(); replies.port1.unref() }
    settle(p, m)
  }
  replies.port1.on('message', onReply)
  replies.port1.unref()

  // The thread keeps the process alive only while a request waits, as an in-thread PGlite would.
  thread.unref()

  const call = <T>(body: Body, transfer?: ArrayBuffer[]): Promise<T> => {
    if (gone) return Promise.reject(gone)
    const id = nextId++
    if (pending.size === 0) { thread.ref(); replies.port1.ref() }
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      thread.postMessage({ ...body, id }, transfer)
    })
  }
  /**
   * A transaction holds the store's one connection from BEGIN to COMMIT. Its statements come
   * from the main thread, whose event loop under load takes a long turn (hundreds of ms) to
   * hear an answer: a transaction of ten statements held the store for seconds, and the
   * ingest writes behind it. So the main thread waits for each statement of a transaction
   * synchronously, as it would with PGlite on its own thread: only for the statement's time.
   * The answers come on the sync port, each followed by `flag[0]` set to 1.
   */
  let nextSync = -1
  const callSync = <T>(body: Body, transfer?: ArrayBuffer[]): T => {
    if (gone) throw gone
    const id = nextSync--
    sync.port1.postMessage({ ...body, id }, transfer)
    for (;;) {
      // The flag is cleared before the port is read: an answer posted after the read sets it again, so the wait returns.
      Atomics.store(flag, 0, 0)
      const got = receiveMessageOnPort(sync.port1)?.message as StoreReply | undefined
      if (got?.id === id) {
        if ('err' in got) throw fromData(got.err)
        return got.ok as T
      }
      if (got) continue // an answer to an earlier call: read on
      if (Atomics.load(flag, 1) === 1) throw (gone ??= new Error('embedded store thread exited'))
      Atomics.wait(flag, 0, 0, 1000)
    }
  }
  /** A COPY in transaction `tx`, its data handed over to the store's thread; whether it wrote (onlyNew: Transaction.copyNewRows). */
  const copy = (tx: number, table: string, columns: readonly CopyColumn[], rows: CopyRows, onlyNew: boolean): boolean => {
    const bytes = copyBytes(columns, rows)
    return callSync<boolean>({ op: 'copy', tx, table, sql: copySql(table, columns, 'STDIN'), bytes, onlyNew }, [bytes.buffer as ArrayBuffer])
  }
  const query = <T>(sql: string, params?: unknown[]) => call<QueryResult<T>>({ op: 'query', sql, ...(params ? { params } : {}) })
  let closing: Promise<void> | undefined
  return {
    kind: 'embedded',
    timescale: true,
    query: (sql, params) => query(sql, params),
    async exec (sql) { await call({ op: 'exec', sql }) },
    // BEGIN waits its turn like any query; the statements after it are waited for synchronously
    // (callSync). Hot paths use run() instead: one message for the whole transaction.
    async transaction (fn) {
      const tx = await call<number>({ op: 'begin' })
      let result
      try {
        result = await fn({
          query: async (sql, params) => callSync({ op: 'query', sql, ...(params ? { params } : {}), tx }),
          async copyRows (table, columns, rows) {
            if (rows.length > 0) copy(tx, table, columns, rows, false)
          },
          async copyNewRows (table, columns, rows) {
            return rows.length === 0 || copy(tx, table, columns, rows, true)
          },
        })
      } catch (err) {
        try { callSync({ op: 'end', tx, commit: false }) } catch {}
        throw err
      }
      callSync({ op: 'end', tx, commit: true })
      return result
    },
    poll,
    run: (task, arg) => call({ op: 'run', module: task.module, name: task.name, arg }, task.transfer?.(arg)),
    close () {
      closing ??= (async () => {
        if (!gone) await call({ op: 'close' }).catch(() => {})
        await thread.terminate()
      })()
      return closing
    },
  }
}

/** An error from the store's thread, with its fields (code, detail, ...) as PGlite gave them. */
function fromData (data: ErrorData): Error {
  const { stack, ...fields } = data
  const err = Object.assign(new Error(data.message), fields)
  if (typeof stack === 'string') err.stack = `${err.stack}\n    in the embedded store's thread: ${stack.split('\n').slice(1, 4).join(' ').replace(/\s+/g, ' ')}`
  return err
}
