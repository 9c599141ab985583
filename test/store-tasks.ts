/** Store tasks (store/task.ts) for test/embedded-store.test.ts: the store's thread imports this module by name. */
import { isMainThread } from 'node:worker_threads'
import type { Transaction } from '../store/types.ts'

/** Where the task ran, and that its transaction answers. */
export async function whereRun (tx: Transaction, arg: { n: number }): Promise<{ mainThread: boolean, n: number }> {
  const { rows } = await tx.query<{ n: number }>('SELECT $1::int + 1 AS n', [arg.n])
  return { mainThread: isMainThread, n: rows[0]!.n }
}

/** Writes `k` twice: the second write fails on the primary key, so the task's transaction must roll back. */
export async function writeTwice (tx: Transaction, k: number): Promise<void> {
  await tx.query('INSERT INTO task_probe (k) VALUES ($1)', [k])
  await tx.copyRows!('task_probe', [{ name: 'k', type: 'int4' }], [[k]])
}

/** Ends the store's thread (process.exit in a worker ends that thread) a moment after the answers before it were sent. */
export async function endThread (): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 100))
  process.exit(3)
}
