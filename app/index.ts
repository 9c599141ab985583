import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { createAddressBase } from '../addresses/index.ts'
import { createAlerts, EventBus } from '../alerts/index.ts'
import { buildApp } from '../api/index.ts'
import { createBroker } from '../broker/index.ts'
import type { Config } from '../config/index.ts'
import { listenProblem } from '../config/problems.ts'
import { createDetectors, createDetectorSet, createDroneDetector } from '../detectors/index.ts'
import { createFleet } from '../fleet/index.ts'
import { createIngest } from '../ingest/index.ts'
import { createNotify } from '../notify/index.ts'
import { createRegistry } from '../registry/index.ts'
import { createReports } from '../reports/index.ts'
import { createScale } from '../scale/index.ts'
import { createMaintenance, createStoreWatch, describeMode, openStore, type Db, type EmbeddedOptions } from '../store/index.ts'
import { createMetrics } from '../metrics/index.ts'
import { workerTopic, type Consumption, type PlaceAnomaly } from '../vocab/index.ts'
import { warmUp } from './warmup.ts'
import { restoreDetectors, saveDetectors } from './detector-state.ts'

export interface GridcareDeps {
  config: Readonly<Config>
  logger: Logger
  /** Wall clock for deadlines; default Date.now. */
  clock?: { now (): number }
  /** How the embedded store runs (store/embedded.ts); default as the config's EMBEDDED_STORE_THREAD (on its own thread unless 0). */
  embeddedStore?: EmbeddedOptions
}

/**
 * The composition root: broker -> ingest -> detectors -> alerts, with the
 * address base beside them and the HTTP API on top. No stage imports the next.
 */
export function createGridcare ({ config, logger, clock, embeddedStore }: GridcareDeps) {
  const parts: Record<string, string> = { store: 'starting', broker: 'starting', api: 'starting' }
  let db: Db | undefined
  let http: FastifyInstance | undefined
  let stopping: Promise<void> | undefined
  let snapshotTimer: NodeJS.Timeout | undefined
  /** The periodic detector snapshot while it is written. */
  let snapshotting: Promise<unknown> | undefined
  let tickTimer: NodeJS.Timeout | undefined
  const now = () => (clock ?? Date).now()
  const events = new EventBus()
  const state = {
    adminToken: null as string | null,
    httpPort: undefined as number | undefined,
  }

  async function start () {
    db = await openStore(config, logger, embeddedStore)
    parts.store = describeMode(db, config)
    const maintenance = createMaintenance({ db, config, logger })
    await maintenance.applyPolicies()
    const addresses = createAddressBase({ db })
    const registry = createRegistry({ db, addresses })

    const makeDetectors = () => createDetectorSet(createDetectors({ utcOffsetHours: config.utcOffsetHours }))
    // Scale-out on RabbitMQ: detector state only for the partitions this worker consumes.
    const scale = config.rabbitmqUrl ? createScale({ config, logger, db, events, makeDetectors }) : undefined
    const detectors = scale?.detectors ?? makeDetectors()
    const alerts = createAlerts({
      db, logger, addresses, events, ...(clock ? { clock } : {}),
      checkinMs: config.checkinMinutes * 60_000, reopenWithinMs: config.reopenWithinHours * 3_600_000, utcOffsetHours: config.utcOffsetHours,
      onFeedback: (fb) => detectors.feedback({
        subjectId: fb.subjectId, ...(fb.kind !== undefined ? { kind: fb.kind } : {}), falseAlarm: fb.outcome === 'false_alarm',
        ...(fb.awayUntil !== undefined ? { awayUntil: fb.awayUntil } : {}), ...(fb.awayFrom !== undefined ? { awayFrom: fb.awayFrom } : {}),
      }),
      notifyWorker: (workerId, task, why) => broker.publish(workerTopic(workerId), JSON.stringify({ event: 'task', why, task })),
    })
    // detectors -> alerts, for live samples and warm-up alike; alerts logs its own failures.
    const detect = (s: Consumption) => { const found = detectors.update(s); for (let i = 0; i < found.length; i++) alerts.handleAnomaly(found[i]!).catch(() => null) }
    // Drones: detections of a place and the fleet's own trouble, both subject-less.
    const place = (a: PlaceAnomaly) => { alerts.handlePlace(a).catch(() => null) }
    const droneDetector = createDroneDetector()
    const fleet = createFleet({ db, logger, ...(clock ? { clock } : {}), sink: place })
    const storeWatch = createStoreWatch({ db, logger })
    const ingest = createIngest({
      db, logger, lookupDevices: registry.getDevices, onStoreError: (err) => storeWatch.failed(err), onBatch: (n, ms) => metrics?.batchWritten(n, ms),
      // The scale-out worker acks its queue once a message's alerts are applied: it needs them fed when handle() resolves.
      feedAfterAcks: !scale,
      sink: (samples) => samples.forEach(detect),
      events: (e) => { for (const a of detectors.event(e)) alerts.handleAnomaly(a).catch(() => null) },
      drones: { telemetry: (t) => { fleet.telemetry(t).catch(() => null) }, detection: (d) => { const a = droneDetector.detect(d); if (a) place(a) } },
    })
    registry.onDeviceChange((id) => ingest.forgetDevice(id)) // a moved, re-bound or removed device is looked up afresh
    const restored = await restoreDetectors(db, detectors, logger)
    await maintenance.refresh() // the warm-up reads the aggregates: include what came in below their watermark
    maintenance.start() // its ticks from here: one at start-up went beside the refresh above (two refreshes at once)
    const warmed = scale ? 0 : await warmUp(db, detect) // with partitions, each is warmed as it arrives
    if (restored + warmed > 0) logger.info({ module: 'detectors', restored, hours: warmed }, 'detector state restored from snapshots and warmed up from hourly aggregates')
    snapshotTimer = setInterval(() => {
      snapshotting ??= saveDetectors(db!, detectors, { paced: true, cancelled: () => stopping !== undefined })
        .catch((err) => logger.warn({ err: (err as Error).message }, 'detector snapshot failed')).finally(() => { snapshotting = undefined })
    }, 10 * 60_000)
    snapshotTimer.unref()
    // What only the wall clock shows: a live meter that has gone silent.
    tickTimer = setInterval(() => { for (const a of detectors.tick(now())) alerts.handleAnomaly(a).catch(() => null) }, 60_000)
    tickTimer.unref()
    const broker = scale ? scale.worker({ ingest, alerts }) : createBroker({ config, logger, verify: registry.verifyMqtt, sink: ingest.handle, sinkWith: ingest.handleWith, onRefused: ingest.refused, onTooLarge: ingest.tooLarge })
    // A rotated, moved or removed device, a revoked or removed worker: its live sessions end now, not at its next connect.
    registry.onDeviceChange((id, change) => { if (change === 'password' || change === 'removed' || change === 'moved') broker.closeSessions?.({ type: 'device', id }) })
    registry.onWorkerChange((id, change) => { if (change !== 'scope') broker.closeSessions?.({ type: 'worker', id }) })
    const metrics = createMetrics({ db, ingest, broker, store: storeWatch, now })
    storeWatch.start()
    const notify = createNotify({ db, logger, events, ...(clock ? { clock } : {}) })
    const reports = createReports({ db, logger, utcOffsetHours: config.utcOffsetHours, ...(clock ? { clock } : {}) })
    Object.assign(components, { db, addresses, registry, detectors, alerts, ingest, broker, maintenance, storeWatch, fleet, notify, reports, scale })

    await broker.start()
    parts.broker = broker.mode === 'embedded' ? `embedded mqtt on port ${broker.port}` : broker.mode === 'rabbitmq' ? 'rabbitmq cluster' : 'external mqtt broker'
    await notify.start()
    await alerts.start()
    await scale?.start(alerts, registry)
    await fleet.start()
    await reports.start()
    http = await buildApp({
      logger, db, addresses, registry, alerts, fleet, notify, reports, utcOffsetHours: config.utcOffsetHours, now,
      ...(scale ? { plugins: [scale.authRoutes(registry)] } : {}),
      ready: () => {
        const down = storeWatch.down
        const withParts = scale ? { ...parts, partitions: scale.partitions.active.join(',') || 'none' } : parts
        const shown = down ? { ...withParts, store: `down: ${down}` } : withParts
        return { ready: !down && Object.values(parts).every((p) => p !== 'starting'), parts: shown, ...(down ? { status: 'store down' } : {}) }
      },
    })
    metrics.route(http)
    await http.listen({ port: config.httpPort, host: config.httpHost })
      .catch((err) => { throw listenProblem({ portVar: 'HTTP_PORT', port: config.httpPort, hostVar: 'HTTP_HOST', host: config.httpHost, err }) })
    state.httpPort = (http.server.address() as AddressInfo).port
    // Last: a token created by a start that then failed would never be shown to anyone.
    state.adminToken = await registry.ensureAdminToken(config.adminToken)
    parts.api = `http on port ${state.httpPort}`
  }

  const components = {} as {
    db: Db
    addresses: ReturnType<typeof createAddressBase>
    registry: ReturnType<typeof createRegistry>
    detectors: ReturnType<typeof createDetectorSet>
    alerts: ReturnType<typeof createAlerts>
    ingest: ReturnType<typeof createIngest>
    broker: ReturnType<typeof createBroker>
    scale: ReturnType<typeof createScale> | undefined
    maintenance: ReturnType<typeof createMaintenance>
    fleet: ReturnType<typeof createFleet>
    storeWatch: ReturnType<typeof createStoreWatch>
    notify: ReturnType<typeof createNotify>
    reports: ReturnType<typeof createReports>
  }

  /** Stops taking work, drains what was taken, closes everything. Idempotent. */
  function stop () {
    stopping ??= (async () => {
      const c = components
      await http?.close()
      await c.broker?.stop()
      await c.scale?.stop()
      c.storeWatch?.stop()
      await c.ingest?.stop()
      await c.fleet?.stop()
      clearInterval(snapshotTimer)
      clearInterval(tickTimer)
      // After the drain: the snapshot holds every sample that was stored (after a periodic one
      // still going, ended at its next statement: its states are older).
      await snapshotting
      if (c.detectors && db) await saveDetectors(db, c.detectors).catch((err) => logger.warn({ err: (err as Error).message }, 'detector snapshot at shutdown failed: the next start warms up from the hourly aggregates'))
      await c.alerts?.stop()
      await c.reports?.stop()
      await c.notify?.stop()
      await c.maintenance?.stop()
      await db?.close()
    })()
    return stopping
  }

  return {
    start,
    stop,
    events,
    get components () { return components },
    get httpPort () { return state.httpPort },
    get mqttPort () { return components.broker?.port },
    /** The admin token created on first start (null when it existed already or ADMIN_TOKEN gave it). */
    get adminToken () { return state.adminToken },
    get http () { return http! },
  }
}

export type Gridcare = ReturnType<typeof createGridcare>
