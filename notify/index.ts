import { schedule, type ScheduledTask } from 'node-cron'
import type { Logger } from 'pino'
import type { EventBus } from '../alerts/events.ts'
import type { Db } from '../store/index.ts'
import { WEBHOOK_EVENTS } from './events.ts'
import { createOutbox, type TickResult } from './outbox.ts'
import { createWebhookStore } from './webhooks.ts'

export { WEBHOOK_EVENTS, type WebhookEvent } from './events.ts'
export { RETRY_DELAYS_MS, RETRY_WINDOW_MS, signature } from './outbox.ts'
export type { DeliveryView, WebhookView } from './webhooks.ts'

export interface NotifyDeps {
  db: Db
  logger: Logger
  events: EventBus
  clock?: { now (): number }
  /** node-cron expression (with seconds) for the delivery tick; default every 5 seconds. */
  tickSchedule?: string
  /** How long one webhook POST may take, ms; default 10 s. */
  timeoutMs?: number
}

type Listener = (payload: never) => void
type LooseBus = { on (e: string, fn: Listener): unknown, off (e: string, fn: Listener): unknown }

/**
 * Outgoing webhooks for SMS, voice and WeCom gateways: a durable outbox written when an event
 * happens, sent and retried by a tick that takes the time. (The worker's own MQTT topic is fed
 * by alerts/, escalations and reminders included, to whoever holds the task.)
 */
export function createNotify (deps: NotifyDeps) {
  const { db } = deps
  const log = deps.logger.child({ module: 'notify' })
  const clock = deps.clock ?? { now: () => Date.now() }
  const webhooks = createWebhookStore({ db, now: () => clock.now() })
  const outbox = createOutbox({ db, logger: deps.logger, ...(deps.timeoutMs !== undefined ? { timeoutMs: deps.timeoutMs } : {}) })
  const bus = deps.events as unknown as LooseBus
  const subscriptions: Array<[string, Listener]> = []
  let enqueued: Promise<unknown> = Promise.resolve()
  let running: Promise<unknown> = Promise.resolve()
  let job: ScheduledTask | undefined
  let stopped = false

  /** Written in event order; the delivery is tried at once, retried by the tick. */
  function onEvent (event: string, payload: unknown) {
    const at = clock.now()
    const next = enqueued.then(() => outbox.enqueue(event, payload, at))
    enqueued = next.then((n) => { if (n > 0 && !stopped) void tick().catch(() => {}) }, (err) => log.error({ err: (err as Error).message, event }, 'webhook outbox write failed'))
  }

  /** Sends what is due at `now` (default the clock); ticks run one after another. */
  function tick (now = clock.now()): Promise<TickResult> {
    const next = running.then(() => outbox.tick(now))
    running = next.catch((err) => log.error({ err: (err as Error).message }, 'webhook tick failed'))
    return next
  }

  return {
    webhooks,
    tick,
    /** Waits for events already handed over to be written and the ticks they started to finish. */
    async idle () { await enqueued; await running },
    async start () {
      for (const event of WEBHOOK_EVENTS) {
        const fn = ((payload: unknown) => onEvent(event, payload)) as Listener
        bus.on(event, fn)
        subscriptions.push([event, fn])
      }
      job = schedule(deps.tickSchedule ?? '*/5 * * * * *', () => { void tick().catch(() => {}) })
      // What was due while gridcare was down goes now.
      void tick().catch(() => {})
    },
    async stop () {
      if (stopped) return
      stopped = true
      for (const [event, fn] of subscriptions.splice(0)) bus.off(event, fn)
      await job?.destroy()
      job = undefined
      await enqueued
      await running
    },
  }
}

export type Notify = ReturnType<typeof createNotify>
