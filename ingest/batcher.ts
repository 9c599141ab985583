import type { Logger } from 'pino'

export interface BatcherOptions<T> {
  /** Writes one batch; throws to signal failure. */
  write: (items: T[]) => Promise<void>
  /** Flush when this many items wait; default 1000. */
  maxSize?: number
  /** Flush at the latest this long after the first item waits, ms; default 20. */
  maxDelayMs?: number
  /** add() and addWaiting() wait while more than this many items are queued or in flight; default 20000. */
  maxPending?: number
  /**
   * Batches written at once; default 1. More overlap one batch's commit with the next
   * one's transfer on a server store; acks are still given batch by batch in order.
   */
  maxWrites?: number
  /** Whether a failed write may be tried again; default never. */
  isTransient?: (err: unknown) => boolean
  /** Attempts for a transient failure before giving up; default 6 (about 6 s of backoff); Infinity holds on until close(). */
  attempts?: number
  /** Told of each failed attempt that will be retried (the store is away). */
  onRetry?: (err: unknown) => void
  logger: Logger
}

/**
 * A caller's items in the queue, told once whether they were written. addWaiting() takes one such
 * record as it is (an object whose methods are on its class: nothing else is kept per caller).
 */
export interface Waiting<T> {
  readonly items: T[]
  stored (): void
  failed (err: unknown): void
}

/**
 * The one batcher every batch write goes through: size and delay triggers,
 * backpressure on add(), retry with backoff on transient store errors, and a
 * stop() that drains what is queued before it returns.
 */
export function createBatcher<T> (opts: BatcherOptions<T>) {
  const maxSize = opts.maxSize ?? 1000
  const maxDelay = opts.maxDelayMs ?? 20
  const maxPending = opts.maxPending ?? 20_000
  const attempts = opts.attempts ?? 6
  let queue: Waiting<T>[] = []
  let queued = 0
  let inFlight = 0
  let timer: NodeJS.Timeout | undefined
  const maxWrites = opts.maxWrites ?? 1
  const writing = new Set<Promise<void>>()
  /** Settles once the acks of the last batch started have been given: the next batch's wait for it. */
  let lastAcked: Promise<void> = Promise.resolve()
  const roomWaiters: Array<() => void> = []
  let closed = false
  const wakers = new Set<() => void>()

  const schedule = () => {
    if (queued >= maxSize) return flush()
    timer ??= setTimeout(flush, maxDelay)
  }

  // With every write slot taken, what comes in waits in the queue and goes out as
  // one batch when a write ends: batches grow with the load instead of queueing up.
  function flush (): void {
    if (timer) { clearTimeout(timer); timer = undefined }
    if (queue.length === 0 || writing.size >= maxWrites) return
    const batch = queue
    const count = queued
    queue = []
    queued = 0
    inFlight += count
    const write: Promise<void> = writeGroups(batch, lastAcked).finally(() => {
      writing.delete(write)
      inFlight -= count
      while (roomWaiters.length > 0 && queued + inFlight < maxPending) roomWaiters.shift()!()
      // The next batch after a turn of the event loop, not at once: a write on the embedded
      // store (PGlite on this thread) and the acks after it run in microtasks, so batch after
      // batch (a big message's slices) would starve the sockets, and every other device's
      // messages and acks would wait for the last one. The turn lets them in with the next batch.
      if (queue.length > 0) setImmediate(flush)
    })
    writing.add(write)
    lastAcked = write
  }

  /**
   * Writes the batch; when it fails for good (not a transient error), one
   * caller's items may be to blame: each caller's items are then written on
   * their own, so only the poisoned ones fail.
   */
  async function writeGroups (batch: Waiting<T>[], before: Promise<void>) {
    try {
      await writeWithRetry(batch.flatMap((w) => w.items))
      // A batch's callers hear of it only after those of every batch before it, and in the
      // order they were queued, so a device's samples to the detectors keep their order.
      await before
      for (const w of batch) tell(w, true)
    } catch (err) {
      await before
      if (batch.length === 1 || opts.isTransient?.(err) || closed) return batch.forEach((w) => tell(w, false, err))
      for (const w of batch) await writeWithRetry(w.items).then(() => tell(w, true), (e) => tell(w, false, e))
    }
  }

  /**
   * Tells a caller; what its callback throws is logged, not taken for the write's failure (the
   * others of the batch were stored) nor left to stop the batches after it.
   */
  function tell (w: Waiting<T>, stored: boolean, err?: unknown) {
    try {
      if (stored) w.stored()
      else w.failed(err)
    } catch (thrown) {
      opts.logger.error({ err: (thrown as Error)?.message ?? String(thrown) }, 'a batch caller\'s callback threw')
    }
  }

  async function writeWithRetry (items: T[]) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await opts.write(items)
      } catch (err) {
        if (!opts.isTransient?.(err) || attempt >= attempts || closed) throw err
        const wait = Math.min(4000, 100 * 2 ** attempt)
        opts.logger.warn({ attempt, waitMs: wait, err: (err as Error).message, rows: items.length }, 'batch write failed; retrying')
        opts.onRetry?.(err)
        await new Promise<void>((r) => {
          const wake = () => { clearTimeout(t); wakers.delete(wake); r() }
          const t = setTimeout(wake, wait)
          wakers.add(wake)
        })
      }
    }
  }

  /** Not async: with room, no promise but the one the caller waits on (this runs per message). */
  function add (items: T[]): Promise<void> {
    return new Promise<void>((resolve, reject) => addWaiting({ items, stored: resolve, failed: reject }))
  }

  /** Queues a caller's record; it is told once its items are written, or failed for good. */
  function addWaiting (w: Waiting<T>): void {
    if (queued + inFlight >= maxPending) return void roomWaiters.push(() => addWaiting(w))
    queue.push(w)
    queued += w.items.length
    schedule()
  }

  return {
    /** Queues items; resolves once they are written, rejects when the write failed for good. */
    add,
    /** add() for a caller that keeps no promise per call: `w` is told stored() or failed(err). */
    addWaiting,
    /** Writes what is queued now and waits for every write started so far. */
    async drain (): Promise<void> {
      flush()
      while (writing.size > 0 || queue.length > 0) {
        await Promise.allSettled([...writing])
        flush()
      }
      await lastAcked.catch(() => {})
    },
    /** Stops retrying: writes waiting on a transient failure fail now, so stop() is never held by a store that is away. */
    close () { closed = true; for (const wake of [...wakers]) wake() },
    get pending () { return queued + inFlight },
  }
}

export type Batcher<T> = ReturnType<typeof createBatcher<T>>
