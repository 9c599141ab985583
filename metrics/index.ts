import type { FastifyInstance } from 'fastify'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Queryable } from '../store/index.ts'

/** What the metrics read; each part optional so a test can pass what it has. */
export interface MetricsDeps {
  db: Queryable
  ingest: { stats: { readings: number, deadLetters: number, messages: number, held: number, lastLagMs?: number }, pending: number }
  broker: { connected: number, refusals (): Record<string, number> }
  store: { down: string | null }
  /** Wall clock, ms; default Date.now. */
  now?: () => number
}

/**
 * Prometheus metrics (prom-client): one registry per gridcare, read at scrape
 * time from the parts' own counters. Served unauthenticated at GET /metrics on
 * the HTTP port, as Prometheus scrapes; it carries counts only, nothing about a
 * person (device ids appear, names, phones and addresses never).
 */
export function createMetrics (deps: MetricsDeps) {
  const register = new Registry()
  collectDefaultMetrics({ register, prefix: 'gridcare_' })
  const now = deps.now ?? Date.now
  const total = (name: string, help: string, read: () => number) => new Counter({
    name, help, registers: [register],
    collect () { this.reset(); this.inc(read()) },
  })
  const gauge = (name: string, help: string, read: () => number) => new Gauge({
    name, help, registers: [register],
    collect () { this.set(read()) },
  })
  total('gridcare_mqtt_messages_total', 'Device messages taken by ingest', () => deps.ingest.stats.messages)
  total('gridcare_readings_total', 'Meter readings stored', () => deps.ingest.stats.readings)
  total('gridcare_dead_letters_total', 'Payloads kept as dead letters', () => deps.ingest.stats.deadLetters)
  gauge('gridcare_acks_pending', 'Readings queued or being written whose acks wait, plus messages held while the store is away', () => deps.ingest.pending + deps.ingest.stats.held)
  gauge('gridcare_mqtt_clients_connected', 'MQTT clients connected to the embedded broker', () => deps.broker.connected)
  gauge('gridcare_store_up', '1 while the store answers, 0 while it is down', () => deps.store.down ? 0 : 1)
  gauge('gridcare_detector_lag_seconds', 'Wall time from the broker taking a reading to the detectors seeing it, last sample', () => (deps.ingest.stats.lastLagMs ?? 0) / 1000)
  new Counter({
    name: 'gridcare_mqtt_publishes_refused_total', help: 'Publishes to a topic not the client\'s own, acknowledged and dropped', labelNames: ['client'], registers: [register],
    collect () { this.reset(); for (const [client, n] of Object.entries(deps.broker.refusals())) this.inc({ client }, n) },
  })
  const batchSeconds = new Histogram({
    name: 'gridcare_batch_write_seconds', help: 'Time to write one batch of readings', registers: [register],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  })
  // From the store at scrape time; a store that is away leaves them out of that scrape.
  new Gauge({
    name: 'gridcare_alerts', help: 'Alerts by kind and status', labelNames: ['kind', 'status'], registers: [register],
    async collect () {
      this.reset()
      const { rows } = await deps.db.query<{ kind: string, status: string, n: number }>('SELECT kind, status, count(*)::int AS n FROM alerts GROUP BY kind, status').catch(() => ({ rows: [] }))
      for (const r of rows) this.set({ kind: r.kind, status: r.status }, r.n)
    },
  })
  new Gauge({
    name: 'gridcare_tasks_overdue', help: 'Tasks past their acknowledge or arrival deadline', registers: [register],
    async collect () {
      const at = new Date(now()).toISOString()
      const { rows } = await deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM tasks
        WHERE (state = 'open' AND ack_due <= $1) OR (state = 'acknowledged' AND arrive_due <= $1)`, [at]).catch(() => ({ rows: [{ n: Number.NaN }] }))
      this.set(rows[0]?.n ?? 0)
    },
  })

  return {
    register,
    /** One batch of readings written in `ms`. */
    batchWritten (_rows: number, ms: number) { batchSeconds.observe(ms / 1000) },
    /** Adds GET /metrics (Prometheus text format) to an app not yet listening. */
    route (app: FastifyInstance) {
      app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
        reply.header('content-type', register.contentType)
        return register.metrics()
      })
    },
  }
}

export type Metrics = ReturnType<typeof createMetrics>
