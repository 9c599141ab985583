import type { Logger } from 'pino'
import type { z } from 'zod'
import type { DeviceMessage } from '../broker/index.ts'
import type { DeviceInfo } from '../registry/index.ts'
import { isTransient, type Db } from '../store/index.ts'
import {
  CameraEventPayload, DroneDetectionPayload, DroneTelemetryPayload, MeterBatchPayload, MeterReadingPayload,
  parseDeviceTopic, type Consumption, type SubjectEvent,
} from '../vocab/index.ts'
import { createBatcher, type BatcherOptions } from './batcher.ts'
import { step, type ReadingRow, type RegisterState } from './meter.ts'
import { insertDeadLetter, insertEvent, insertReadings, latestReading, recomputeAround } from './store.ts'

export interface IngestDeps {
  db: Db
  logger: Logger
  /** Registered device by id; null when unknown. */
  lookupDevice: (id: string) => Promise<DeviceInfo | null>
  /** Receives interval consumption of stored readings, in event-time order per device. */
  sink: (samples: Consumption[]) => void
  /** Receives stored camera events of devices bound to a care subject (a door opening, say). */
  events?: (e: SubjectEvent) => void
  /** Batcher settings; default maxSize 5000 (COPY pays off on large batches under load). */
  batch?: Pick<BatcherOptions<unknown>, 'maxSize' | 'maxDelayMs' | 'maxPending' | 'attempts'>
}

type Rejection = { code: 'INGEST_BAD_JSON' | 'INGEST_INVALID_PAYLOAD' | 'INGEST_UNKNOWN_DEVICE', reason: string }

/**
 * MQTT -> validation -> batched idempotent writes. A bad payload becomes a dead
 * letter with its reason; handle() resolves once the message is stored either way.
 */
export function createIngest ({ db, logger, lookupDevice, sink, events, batch }: IngestDeps) {
  const log = logger.child({ module: 'ingest' })
  const devices = new Map<string, DeviceInfo>()
  const registers = new Map<string, Promise<void> | RegisterState | undefined>()
  const stats = { messages: 0, readings: 0, duplicates: 0, late: 0, deadLetters: 0 }
  let late: Array<{ deviceId: string, ts: number }> = []

  const batcher = createBatcher<ReadingRow>({
    maxSize: 5000,
    ...batch,
    logger: log,
    isTransient,
    write: async (rows) => {
      const lateNow = late
      late = []
      await db.transaction(async (tx) => {
        await insertReadings(tx, rows)
        for (const l of lateNow) await recomputeAround(tx, l.deviceId, l.ts)
      })
    },
  })

  async function device (id: string): Promise<DeviceInfo | null> {
    const hit = devices.get(id)
    if (hit) return hit
    const d = await lookupDevice(id)
    if (d) devices.set(id, d)
    return d
  }

  /** Loads a device's register state once; callers then read `registers` synchronously. */
  async function loadRegister (deviceId: string): Promise<void> {
    const cached = registers.get(deviceId)
    if (cached instanceof Promise) return cached
    if (registers.has(deviceId)) return
    const loading: Promise<void> = latestReading(db, deviceId).then((s) => {
      if (registers.get(deviceId) === loading) registers.set(deviceId, s)
    }, (err) => { registers.delete(deviceId); throw err })
    registers.set(deviceId, loading)
    return loading
  }

  async function deadLetter (msg: DeviceMessage, r: Rejection, payload = printable(msg.payload)) {
    stats.deadLetters++
    log.info({ deviceId: msg.deviceId, topic: msg.topic, code: r.code, reason: r.reason }, 'dead letter')
    await insertDeadLetter(db, { source: 'mqtt', topic: msg.topic, deviceId: msg.deviceId, code: r.code, reason: r.reason, payload })
  }

  async function handle (msg: DeviceMessage): Promise<void> {
    stats.messages++
    const dev = await device(msg.deviceId)
    if (!dev) return deadLetter(msg, { code: 'INGEST_UNKNOWN_DEVICE', reason: `device "${msg.deviceId}" is not registered` })
    if (parseDeviceTopic(msg.topic)?.street !== dev.street) {
      return deadLetter(msg, { code: 'INGEST_UNKNOWN_DEVICE', reason: `topic ${msg.topic} is not the one registered for device "${dev.id}"` })
    }
    let body: unknown
    try { body = JSON.parse(msg.payload.toString('utf8')) } catch (err) {
      return deadLetter(msg, { code: 'INGEST_BAD_JSON', reason: `not JSON: ${(err as Error).message}` })
    }
    const isMeter = dev.kind === 'meter' || dev.kind === 'water_meter'
    if (msg.channel === 'telemetry' && isMeter) return meter(msg, dev, body)
    const schema = msg.channel === 'telemetry' && dev.kind === 'drone' ? DroneTelemetryPayload
      : msg.channel === 'events' && dev.kind === 'camera' ? CameraEventPayload
        : msg.channel === 'events' && dev.kind === 'drone' ? DroneDetectionPayload
          : msg.channel === 'status' ? null : undefined
    if (schema === undefined) {
      return deadLetter(msg, { code: 'INGEST_INVALID_PAYLOAD', reason: `a ${dev.kind} does not send ${msg.channel}` })
    }
    if (schema === null) {
      const ts = typeof (body as { ts?: unknown })?.ts === 'number' ? (body as { ts: number }).ts : msg.receivedAt
      return insertEvent(db, dev.id, ts, 'status', body)
    }
    const parsed = schema.safeParse(body)
    if (!parsed.success) return deadLetter(msg, { code: 'INGEST_INVALID_PAYLOAD', reason: describe(parsed.error) })
    await insertEvent(db, dev.id, parsed.data.ts, msg.channel, parsed.data)
    if (events && dev.kind === 'camera' && dev.subject && dev.subjectKind) {
      const e = parsed.data as z.infer<typeof CameraEventPayload>
      events({ subjectId: dev.subject, subjectKind: dev.subjectKind, deviceId: dev.id, ts: e.ts, event: e.event, ...(e.count !== undefined ? { count: e.count } : {}), ...(e.confidence !== undefined ? { confidence: e.confidence } : {}) })
    }
  }

  async function meter (msg: DeviceMessage, dev: DeviceInfo, body: unknown): Promise<void> {
    const unit = dev.kind === 'water_meter' ? 'm3' : 'kwh'
    const isBatch = typeof body === 'object' && body !== null && 'readings' in body
    const parsed = isBatch ? MeterBatchPayload.safeParse(body) : MeterReadingPayload.safeParse(body)
    let readings: Array<z.infer<typeof MeterReadingPayload>>
    if (parsed.success) {
      readings = 'readings' in parsed.data ? parsed.data.readings : [parsed.data]
    } else if (isBatch && Array.isArray((body as { readings: unknown[] }).readings)) {
      // Keep the good readings of a batch; each bad one becomes its own dead letter.
      readings = []
      for (const [i, item] of (body as { readings: unknown[] }).readings.entries()) {
        const one = MeterReadingPayload.safeParse(item)
        if (one.success) readings.push(one.data)
        else await deadLetter(msg, { code: 'INGEST_INVALID_PAYLOAD', reason: `readings[${i}]: ${describe(one.error)}` }, JSON.stringify(item))
      }
    } else {
      return deadLetter(msg, { code: 'INGEST_INVALID_PAYLOAD', reason: describe(parsed.error) })
    }
    const rows: ReadingRow[] = []
    const samples: Consumption[] = []
    const wrongUnit: typeof readings = []
    // From here to registers.set() nothing awaits, so concurrent messages of one device cannot interleave.
    await loadRegister(dev.id)
    let state = registers.get(dev.id) as RegisterState | undefined
    for (const r of readings.sort((a, b) => a.ts - b.ts)) {
      const value = r[unit]
      if (value === undefined) { wrongUnit.push(r); continue }
      const out = step(state, dev.id, { ts: r.ts, value, powerW: r.w })
      state = out.next
      const s = out.step
      if (s.kind === 'duplicate') { stats.duplicates++; continue }
      rows.push(s.row)
      if (s.kind === 'late') { stats.late++; late.push({ deviceId: dev.id, ts: s.row.ts }) }
      if (s.kind === 'in_order' && dev.subject && dev.subjectKind) {
        const fault = s.row.implausible ? 'implausible' : s.row.reset ? 'reset' : null
        samples.push({
          subjectId: dev.subject, subjectKind: dev.subjectKind, deviceId: dev.id, street: dev.street, unit, ts: s.row.ts,
          intervalMs: s.row.intervalMs!, amount: s.row.amount ?? 0, ...(s.row.powerW !== null ? { powerW: s.row.powerW } : {}),
          ...(fault ? { registerFault: fault } : {}),
        })
      }
    }
    registers.set(dev.id, state)
    for (const r of wrongUnit) {
      await deadLetter(msg, { code: 'INGEST_INVALID_PAYLOAD', reason: `a ${dev.kind} reports "${unit}"` }, JSON.stringify(r))
    }
    if (rows.length === 0) return
    try {
      await batcher.add(rows)
    } catch (err) {
      // Not stored: forget the cached register so a retry is judged against the store.
      registers.delete(dev.id)
      throw err
    }
    stats.readings += rows.length
    if (samples.length > 0) sink(samples)
  }

  return {
    handle,
    stats,
    /** Forgets cached registrations and register state (after a device is changed, or its street came from another worker). */
    forgetDevice (id: string) { devices.delete(id); registers.delete(id) },
    async stop () { await batcher.drain() },
  }
}

export type Ingest = ReturnType<typeof createIngest>

function describe (err: { issues: Array<{ path: PropertyKey[], message: string }> }): string {
  return err.issues.slice(0, 5).map((i) => `${i.path.length ? i.path.join('.') + ': ' : ''}${i.message}`).join('; ')
}

/** Payload as text for the dead-letter table; binary that Postgres text cannot hold is kept as base64. */
function printable (buf: Buffer): string {
  const text = buf.toString('utf8')
  return text.includes('\u0000') || text.includes('\uFFFD') ? 'base64:' + buf.toString('base64') : text
}
