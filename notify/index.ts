import { schedule, type ScheduledTask } from 'node-cron'
import type { Logger } from 'pino'
import type { EventBus } from '../alerts/events.ts'
import type { Db } from '../store/index.ts'
import { WEBHOOK_EVENTS } from './events.ts'
import { createOutbox, type TickResult } from './outbox.ts'
import { createWebhookStore } from './webhooks.ts'
import { workerMessages } from './workers.ts'

export { WEBHOOK_EVENTS, type WebhookEvent } from './events.ts'
export { RETRY_DELAYS_MS, RETRY_WINDOW_MS, signature } from './outbox.ts'
export type { DeliveryView, WebhookView } from './webhooks.ts'

export interface NotifyDeps {
  db: Db
  logger: Logger
  events: EventBus
  clock?: { now (): number }
  /** Publishes to a worker's MQTT topic (QoS 1); without it escalations and reminders reach webhooks and the feed only. */
  publishToWorker?: (workerId: string, message: unknown) => Promise<void>
  /** node-cron expression (with seconds) for the delivery tick; default every 5 seconds. */
  tickSchedule?: string
  /** How long one webhook POST may take, ms; default 10 s. */
  timeoutMs?: number
}

type Listener = (payload: never) => void
type LooseBus = { on (e: string, fn: Listener): unknown, off (e: string, fn: Listener): unknown }

/**
 * Notifications: outgoing webhooks through a durable outbox (written when an event happens,
 * sent and retried by a tick that takes the time), and escalations and reminders pushed to
 * the worker who now holds the task.
 */
export function createNotify (deps: NotifyDeps) {
  const { db } = deps
  const log = deps.logger.child({ module: 'notify' })
  const clock = deps.clock ?? { now: () => Date.now() }
  const webhooks = createWebhookStore({ db, now: () => clock.now() })
  const outbox = createOutbox({ db, logger: deps.logger, ...(deps.timeoutMs !== undefined ? { timeoutMs: deps.timeoutMs } : {}) })
  // Event names the bus does not type yet (the closed loop adds them) are subscribed by name all the same.
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
      if (deps.publishToWorker) {
        for (const [event, fn] of Object.entries(workerMessages(deps.publishToWorker, deps.logger))) {
          bus.on(event, fn as Listener)
          subscriptions.push([event, fn as Listener])
        }
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
