/**
 * Several workers behind one load balancer: what happens on one is seen on all. Alert and task
 * events, detector feedback and registry changes go through PostgreSQL LISTEN/NOTIFY (ids only:
 * a NOTIFY payload is capped at 8 kB); each worker loads the row and emits it on its own bus, so a
 * feed subscriber on any worker sees every worker's events, and a device removed or a token
 * revoked through one worker is forgotten by the caches and ends the feeds of all.
 */
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import type { Logger } from 'pino'
import type { EventBus, AlertView, TaskView } from '../alerts/index.ts'
import type { GridcareEvents } from '../alerts/events.ts'
import type { Feedback } from '../detectors/types.ts'
import type { RegistryChange } from '../registry/index.ts'
import type { Db } from '../store/index.ts'

const EVENTS = 'gridcare_events'
const FEEDBACK = 'gridcare_feedback'
const REGISTRY = 'gridcare_registry'
const NAMES: Array<keyof GridcareEvents> = ['alert.created', 'alert.updated', 'task.created', 'task.updated']

export interface FeedBridgeDeps {
  url: string
  db: Db
  logger: Logger
  events: EventBus
  loadAlert: (id: string) => Promise<AlertView | null>
  loadTask: (id: string) => Promise<TaskView | null>
  onFeedback: (fb: Feedback) => void
  /** A change made through another worker, to be acted on here as if made here. */
  onRegistryChange: (r: RegistryChange) => void
}

export function createFeedBridge (deps: FeedBridgeDeps) {
  const log = deps.logger.child({ module: 'feed-bridge' })
  const origin = randomUUID()
  let client: pg.Client | undefined
  let relaying = false
  let stopped = false
  let retry: NodeJS.Timeout | undefined
  const offs: Array<() => void> = []

  const notify = (channel: string, payload: unknown) =>
    deps.db.query('SELECT pg_notify($1, $2)', [channel, JSON.stringify(payload)]).catch((err) => log.warn({ err: (err as Error).message }, 'notify failed'))

  async function onNotification (channel: string, payload: string | undefined) {
    const m = JSON.parse(payload ?? '{}') as { o?: string, e?: keyof GridcareEvents, id?: string, fb?: Feedback, r?: RegistryChange }
    if (m.o === origin) return
    if (channel === FEEDBACK && m.fb) return deps.onFeedback(m.fb)
    if (channel === REGISTRY && m.r) return deps.onRegistryChange(m.r)
    if (!m.e || !m.id) return
    const view = m.e.startsWith('alert.') ? await deps.loadAlert(m.id) : await deps.loadTask(m.id)
    if (!view) return
    relaying = true
    try { (deps.events.emit as (e: string, v: unknown) => boolean)(m.e, view) } finally { relaying = false }
  }

  async function listen () {
    const c = new pg.Client({ connectionString: deps.url })
    c.on('error', (err) => log.warn({ err: err.message }, 'listen connection error'))
    c.on('end', () => { if (!stopped && client === c) { client = undefined; retry = setTimeout(() => { listen().catch(() => {}) }, 1000) } })
    c.on('notification', (n) => { onNotification(n.channel, n.payload).catch((err) => log.warn({ err: (err as Error).message }, 'relayed event not loaded')) })
    await c.connect()
    await c.query(`LISTEN ${EVENTS}`)
    await c.query(`LISTEN ${FEEDBACK}`)
    await c.query(`LISTEN ${REGISTRY}`)
    client = c
  }

  return {
    async start () {
      for (const e of NAMES) {
        const fn = (view: { id: string }) => { if (!relaying) notify(EVENTS, { o: origin, e, id: view.id }) }
        deps.events.on(e, fn)
        offs.push(() => deps.events.off(e, fn))
      }
      await listen()
    },
    /** Sends feedback to the worker that holds the subject's partition. */
    feedback (fb: Feedback) { notify(FEEDBACK, { o: origin, fb }) },
    /** Tells the other workers of a change made here. */
    registryChanged (r: RegistryChange) { notify(REGISTRY, { o: origin, r }) },
    async stop () {
      stopped = true
      clearTimeout(retry)
      offs.splice(0).forEach((f) => f())
      await client?.end().catch(() => {})
    },
  }
}
