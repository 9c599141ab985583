import type { Logger } from 'pino'
import type { Db } from './types.ts'

export interface StoreWatchOptions {
  db: Pick<Db, 'query'>
  logger: Logger
  /** How often the store is asked, ms; default 2000. */
  intervalMs?: number
  /** A probe that takes longer than this counts as a failure, ms; default 3000. */
  timeoutMs?: number
}

/**
 * Whether the store answers now: a probe on a tick, and any failed write
 * reported by ingest, mark it down at once; the next probe that answers marks
 * it up. /healthz reads it, so an outage shows as one.
 */
export function createStoreWatch ({ db, logger, intervalMs = 2000, timeoutMs = 3000 }: StoreWatchOptions) {
  const log = logger.child({ module: 'store' })
  let down: string | null = null
  let timer: NodeJS.Timeout | undefined
  let probing = false

  const mark = (reason: string | null) => {
    if (reason && !down) log.warn({ err: reason }, 'store down: acks are held until it is back')
    if (!reason && down) log.info('store back: ingest resumes')
    down = reason
  }

  async function probe () {
    if (probing) return
    probing = true
    let t: NodeJS.Timeout | undefined
    try {
      await Promise.race([db.query('SELECT 1'), new Promise((_r, reject) => { t = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs) })])
      mark(null)
    } catch (err) {
      mark((err as Error).message)
    } finally {
      clearTimeout(t)
      probing = false
    }
  }

  return {
    start () { timer = setInterval(() => { void probe() }, intervalMs); timer.unref() },
    stop () { clearInterval(timer) },
    probe,
    /** A write failed for a reason worth retrying: the store is away. */
    failed (err: unknown) { mark((err as Error)?.message ?? String(err)) },
    /** Why the store is down, or null when it answers. */
    get down () { return down },
  }
}

export type StoreWatch = ReturnType<typeof createStoreWatch>
