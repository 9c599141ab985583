/**
 * Scale-out mode (RABBITMQ_URL): several gridcare workers on a RabbitMQ cluster and one
 * PostgreSQL. Devices speak MQTT to RabbitMQ, which asks gridcare who they are
 * (auth-routes.ts); their messages go by street to P quorum queues, each consumed by one
 * worker at a time (worker.ts); each worker keeps detector state only for its partitions
 * (detectors.ts); alert and task events and feedback reach every worker (feed.ts).
 */
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { FastifyPluginAsync } from 'fastify'
import type { Logger } from 'pino'
import type { Alerts, EventBus } from '../alerts/index.ts'
import { ALERT_COLUMNS, alertView, type AlertRow } from '../alerts/views.ts'
import type { Config } from '../config/index.ts'
import type { DetectorSet } from '../detectors/index.ts'
import type { Ingest } from '../ingest/index.ts'
import type { Registry } from '../registry/index.ts'
import type { Db } from '../store/index.ts'
import { parseDeviceTopic, type Anomaly } from '../vocab/index.ts'
import { mqttAuthRoutes } from './auth-routes.ts'
import { createPartitionedDetectors } from './detectors.ts'
import { createFeedBridge } from './feed.ts'
import { createRabbitWorker } from './worker.ts'

export { partitionOf, partitionQueue } from './partition.ts'

export interface ScaleDeps {
  config: Readonly<Pick<Config, 'rabbitmqUrl' | 'rabbitmqPartitions' | 'rabbitmqExchange' | 'rabbitmqCheckpointS' | 'mqttAuthSecret' | 'databaseUrl'>>
  logger: Logger
  db: Db
  events: EventBus
  /** A fresh detector set (one per active partition). */
  makeDetectors: () => DetectorSet
}

export function createScale (deps: ScaleDeps) {
  const { config, logger, db } = deps
  const log = logger.child({ module: 'scale' })
  let bridge: ReturnType<typeof createFeedBridge> | undefined
  let timer: NodeJS.Timeout | undefined
  let heartbeat: NodeJS.Timeout | undefined
  let relaying = false
  const offs: Array<() => void> = []
  const workerId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`
  const partitions = createPartitionedDetectors({
    db, logger, partitions: config.rabbitmqPartitions, make: deps.makeDetectors,
    remoteFeedback: (fb) => bridge?.feedback(fb),
  })

  const streets = async () => (await db.query<{ street: string }>(`SELECT DISTINCT street FROM devices
    UNION SELECT code FROM addresses WHERE level = 'street'`)).rows.map((r) => r.street)

  /** The broker of this mode: consumes the partitions, publishes worker notifications. */
  function worker (w: { ingest: Ingest, alerts: Alerts & { syncAway?: (subjectId: string) => Promise<void> } }) {
    const onAnomaly = (a: Anomaly) => { w.alerts.handleAnomaly(a).catch(() => null) }
    const broker = createRabbitWorker({
      urls: config.rabbitmqUrl!.split(',').map((u) => u.trim()),
      exchange: config.rabbitmqExchange,
      partitions: config.rabbitmqPartitions,
      logger,
      sink: (msg) => {
        const street = parseDeviceTopic(msg.topic)?.street
        if (street !== undefined) partitions.noteDevice(msg.deviceId, street)
        return w.ingest.handle(msg)
      },
      settled: () => w.alerts.idle(),
      streets,
      activate: async (p, known) => { await partitions.activate(p, {
        onAnomaly,
        onDevices: (ids) => ids.forEach((id) => w.ingest.forgetDevice(id)),
        onSubjects: async (ids) => { for (const id of ids) await w.alerts.syncAway?.(id) },
      }, known) },
      workers: async () => Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM scale_workers WHERE seen_at > now() - interval '10 seconds'`)).rows[0]!.n),
      release: () => partitions.release(),
      handOver: (p) => partitions.handOver(p),
      beforeClose: async () => { await partitions.save() },
    })
    return broker
  }

  return {
    /** Routes samples to the active partition's detectors; wire it where the single set goes. */
    detectors: partitions.set,
    partitions,
    worker,
    /** RabbitMQ's HTTP auth backend asks here. */
    authRoutes (registry: Registry): FastifyPluginAsync {
      return mqttAuthRoutes({ verify: registry.verifyMqtt, getDevice: registry.getDevice, exchange: config.rabbitmqExchange, secret: config.mqttAuthSecret })
    },
    /** Cross-worker events and feedback (server store only), and periodic checkpoints. */
    async start (alerts: Alerts, registry: Registry) {
      // Checkpoints bound what a partition that moves must replay: the readings since the last one.
      timer = setInterval(() => { partitions.save().catch((err) => log.warn({ err: (err as Error).message }, 'partition checkpoint failed')) }, config.rabbitmqCheckpointS * 1000)
      timer.unref()
      // Presence: how many workers share the partitions (RabbitMQ's consumer counts keep
      // consumers of a lost node as "suspected down").
      const beat = () => db.query(`INSERT INTO scale_workers (id, seen_at) VALUES ($1, now()) ON CONFLICT (id) DO UPDATE SET seen_at = now()`, [workerId])
        .catch((err) => log.warn({ err: (err as Error).message }, 'presence not recorded'))
      await beat()
      heartbeat = setInterval(() => { beat() }, 3000)
      heartbeat.unref()
      if (db.kind !== 'server' || !config.databaseUrl) return
      bridge = createFeedBridge({
        url: config.databaseUrl, db, logger, events: deps.events,
        loadAlert: async (id) => {
          const row = (await db.query<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE id = $1`, [id])).rows[0]
          return row ? alertView(row) : null
        },
        loadTask: async (id) => (await alerts.getTask(id))?.view ?? null,
        onFeedback: (fb) => partitions.applyRemote(fb),
        onRegistryChange: (r) => {
          relaying = true
          try { registry.changedElsewhere(r) } finally { relaying = false }
        },
      })
      // A device moved or removed, a token rotated, through this worker: the others' device
      // caches forget it and their feeds of that worker end, as here.
      offs.push(registry.onDeviceChange((id, change) => { if (!relaying) bridge?.registryChanged({ type: 'device', id, change }) }))
      offs.push(registry.onWorkerChange((id, change) => { if (!relaying) bridge?.registryChanged({ type: 'worker', id, change }) }))
      await bridge.start()
    },
    async stop () {
      clearInterval(timer)
      clearInterval(heartbeat)
      await db.query('DELETE FROM scale_workers WHERE id = $1', [workerId]).catch(() => {})
      offs.splice(0).forEach((off) => off())
      await bridge?.stop()
    },
  }
}

export type Scale = ReturnType<typeof createScale>
