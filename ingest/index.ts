import type { Logger } from 'pino'
import type { z } from 'zod'
import type { DeviceMessage } from '../broker/index.ts'
import type { DeviceInfo } from '../registry/index.ts'
import { isTransient, storeTask, type Db } from '../store/index.ts'
import {
  CameraEventPayload, DroneDetectionPayload, EventTime, DroneTelemetryPayload, fastMeterReading, fastMeterReadings, MeterBatchPayload, MeterReadingPayload,
  parseDeviceTopic, unitOf, type Consumption, type DroneDetection, type DroneTelemetry, type SubjectEvent,
} from '../vocab/index.ts'
import { createBatcher, type BatcherOptions, type Waiting } from './batcher.ts'
import { step, type ReadingRow, type RegisterState } from './meter.ts'
import { createLookup } from './lookup.ts'
import { insertDeadLetters, insertEvent, latestReadings, packReadings, READING_BATCH_TRANSFER, writeReadings, type DeadLetter } from './store.ts'

/** Readings a batch may carry; a larger one is a dead letter (INGEST_TOO_LARGE). */
export const MAX_BATCH_READINGS = 5000
/** Late readings written per batch; a message with more goes in several, others' batches between them. */
const LATE_SLICE = 250
/** A batch write, run where the store is (on the embedded store's thread, its COPY data moved there). */
const WRITE_READINGS = storeTask(new URL('./store.ts', import.meta.url), writeReadings, { transfer: READING_BATCH_TRANSFER })
/**
 * Readings queued or being written before add() waits (the batcher's default bound), and the
 * batch size that starts a write at once when the writer is free. A write always takes all that
 * waits, so that size never bounded a batch: it only started one early, and at 5,000 with 8,000
 * readings in flight (2,000 meters x 4) it cut the readings that came back together in two. The
 * devices on either side of the cut then changed halves, and those moved back waited for a third
 * commit: the p99 at twice the p50 (issue 12). Now a free writer waits for the timer (maxDelayMs).
 */
const PENDING = 20_000
/** What a callback is told as a failure: an Error, never a falsy value that would read as success. */
const asError = (err: unknown): Error => err instanceof Error ? err : new Error(String(err))
/** How deep a status payload may nest; deeper is a dead letter. */
export const MAX_STATUS_DEPTH = 32

export interface IngestDeps {
  db: Db
  logger: Logger
  /** Registered devices by id, many at once; ids not registered are absent. */
  lookupDevices: (ids: string[]) => Promise<Map<string, DeviceInfo>>
  /** Receives interval consumption of stored readings, in event-time order per device. */
  sink: (samples: Consumption[]) => void
  /** Receives stored camera events of devices bound to a care subject (a door opening, say). */
  events?: (e: SubjectEvent) => void
  /** Receives stored drone telemetry (positions, battery) and detections (fire, flood ...). */
  drones?: { telemetry: (t: DroneTelemetry) => void, detection: (d: DroneDetection) => void }
  /**
   * Batcher settings; default maxSize as large as maxPending (no early flush on size: see
   * PENDING), and two writes at once on a server store (one commits while the next is sent),
   * one on the embedded store, which runs one statement at a time anyway.
   */
  batch?: Pick<BatcherOptions<unknown>, 'maxSize' | 'maxDelayMs' | 'maxPending' | 'attempts' | 'maxWrites'>
  /** Told whenever a store write fails and will be tried again (the store is away). */
  onStoreError?: (err: unknown) => void
  /** Told of each batch written: rows and how long the write took, ms. */
  onBatch?: (rows: number, ms: number) => void
  /**
   * When stored samples go to `sink`: false (the default), before handle() resolves (handleWith's
   * `done` is called), so a caller that waits on it (the scale-out worker acks its queue once their
   * alerts are applied) has them fed; true, once the PUBACKs of the turn they were stored in have
   * been written (the embedded broker), so no ack waits for the detectors. Either way before the turn ends.
   */
  feedAfterAcks?: boolean
}

type Reading = z.infer<typeof MeterReadingPayload>
type Rejection = { code: 'INGEST_BAD_JSON' | 'INGEST_INVALID_PAYLOAD' | 'INGEST_UNKNOWN_DEVICE' | 'INGEST_TOO_LARGE' | 'INGEST_UNSTORABLE' | 'INGEST_TOPIC_REFUSED', reason: string }

/**
 * MQTT -> validation -> batched idempotent writes. A bad payload becomes a dead
 * letter with its reason; handle() resolves (handleWith() calls back) once the message is stored either way.
 */
export function createIngest ({ db, logger, lookupDevices, sink, events, drones, batch, onStoreError, onBatch, feedAfterAcks = false }: IngestDeps) {
  const log = logger.child({ module: 'ingest' })
  const devices = new Map<string, DeviceInfo>()
  const registers = new Map<string, Promise<void> | RegisterState | undefined>()
  const stats = { messages: 0, readings: 0, duplicates: 0, late: 0, deadLetters: 0, held: 0, lastLagMs: 0, batches: 0, batchRows: 0, batchMs: 0 }
  let stopped = false

  // A store that is away holds the batch (and so the devices' acks) until it is back.
  const batcher = createBatcher<ReadingRow>({
    maxSize: batch?.maxPending ?? PENDING,
    maxPending: PENDING,
    maxWrites: db.kind === 'server' ? 2 : 1,
    attempts: Infinity,
    ...batch,
    logger: log,
    isTransient,
    ...(onStoreError ? { onRetry: onStoreError } : {}),
    write: async (rows) => {
      const t0 = performance.now()
      await db.run(WRITE_READINGS, packReadings(rows))
      const ms = performance.now() - t0
      stats.batches++
      stats.batchRows += rows.length
      stats.batchMs += ms
      onBatch?.(rows.length, ms)
    },
  })

  const deviceLookup = createLookup(lookupDevices)
  const registerLookup = createLookup((ids) => latestReadings(db, ids))

  async function device (id: string): Promise<DeviceInfo | null> {
    const hit = devices.get(id)
    if (hit) return hit
    const d = await deviceLookup.get(id)
    if (d) devices.set(id, d)
    return d ?? null
  }

  /** Loads a device's register state once; callers then read `registers` synchronously. */
  async function loadRegister (deviceId: string): Promise<void> {
    const cached = registers.get(deviceId)
    if (cached instanceof Promise) return cached
    if (registers.has(deviceId)) return
    const loading: Promise<void> = registerLookup.get(deviceId).then((s) => {
      if (registers.get(deviceId) === loading) registers.set(deviceId, s)
    }, (err) => { registers.delete(deviceId); throw err })
    registers.set(deviceId, loading)
    return loading
  }

  async function deadLetters (msg: DeviceMessage, list: Array<{ r: Rejection, payload?: Buffer | string }>) {
    if (list.length === 0) return
    stats.deadLetters += list.length
    log.info({ deviceId: msg.deviceId, topic: msg.topic.slice(0, 200), code: list[0]!.r.code, reason: list[0]!.r.reason, count: list.length }, 'dead letter')
    await insertDeadLetters(db, list.map(({ r, payload }): DeadLetter => ({ source: 'mqtt', topic: msg.topic, deviceId: msg.deviceId, code: r.code, reason: r.reason, payload: payload ?? msg.payload })))
  }
  const deadLetter = (msg: DeviceMessage, r: Rejection, payload?: Buffer | string) => deadLetters(msg, [{ r, ...(payload !== undefined ? { payload } : {}) }])

  /**
   * Stores a message or keeps it as a dead letter; resolves only then, so the
   * device's ack means stored. A store that is away is waited for (the ack with
   * it); a payload the store refuses for good (a data exception, too deep to
   * store) becomes a dead letter, so the device is never left resending it.
   * handleWith() as a promise (the scale-out worker, an external broker).
   */
  function handle (msg: DeviceMessage): Promise<void> {
    return new Promise((resolve, reject) => handleWith(msg, (err) => err ? reject(err) : resolve()))
  }

  /**
   * handle() for a caller that takes a callback (the embedded broker): `done` once the message is
   * stored or kept as a dead letter, with the error otherwise. The usual message, readings of a
   * known meter, goes to the batcher as one record (StoredReadings) with no promise of its own: each
   * promise, reaction, closure and context of a reading in flight is copied by every scavenge until
   * its ack (4 promises, 3 reactions, 7 closures, 4 contexts a reading in a heap snapshot under load).
   */
  function handleWith (msg: DeviceMessage, done: (err: Error | null) => void): void {
    // A batch written on the embedded store's thread is heard of here, between two messages,
    // not after the event loop's turn of reading every socket (~100 ms under load).
    db.poll?.()
    stats.messages++
    answer = done
    const handled = handleOnce(msg)
    if (answer === undefined) return // writeRows took it
    answer = undefined
    handled.catch((err) => recover(msg, err)).then(() => done(null), (err) => done(asError(err)))
  }

  /**
   * The callback of the handleWith() running now, until writeRows takes it: set and taken within
   * one synchronous stretch, so a message that waits for anything (a device or register lookup, a
   * dead letter) finds it gone and goes the promise way.
   */
  let answer: ((err: Error | null) => void) | undefined
  /** What writeRows gives back when it took `answer`: handleWith does not look at it. */
  const TAKEN = Promise.resolve()

  /**
   * A message's readings in the batcher, told stored() or failed() by it in queue order: the
   * detectors are fed from here, so a device's samples keep the order its messages were queued in
   * whichever way they came (handleWith's callback or a promise).
   */
  class StoredReadings implements Waiting<ReadingRow> {
    readonly items: ReadingRow[]
    readonly msg: DeviceMessage
    readonly dev: DeviceInfo
    readonly done: (err: Error | null) => void
    /** handleWith's: a failure is recovered from here (recover()); a promise's caller recovers itself. */
    readonly recovers: boolean
    constructor (items: ReadingRow[], msg: DeviceMessage, dev: DeviceInfo, done: (err: Error | null) => void, recovers: boolean) {
      this.items = items
      this.msg = msg
      this.dev = dev
      this.done = done
      this.recovers = recovers
    }

    stored () {
      // Stored is stored: the device hears so even if feeding the detectors throws (the batcher logs that).
      try { afterStored(this.msg, this.dev, this.items) } finally { this.done(null) }
    }

    failed (err: unknown) {
      // Not stored: forget the cached register so a retry is judged against the store.
      registers.delete(this.dev.id)
      if (!this.recovers) return this.done(asError(err))
      recover(this.msg, err).then(() => this.done(null), (e) => this.done(asError(e)))
    }
  }

  /** After a failed attempt: the store is waited for (the ack with it), or the message kept as a dead letter. */
  async function recover (msg: DeviceMessage, failed: unknown): Promise<void> {
    let err = failed
    for (let attempt = 1; ; attempt++) {
      if (stopped) throw err
      if (!isTransient(err)) {
        log.warn({ deviceId: msg.deviceId, err: (err as Error).message }, 'the store refused this message for good: kept as a dead letter')
        return deadLetter(msg, { code: 'INGEST_UNSTORABLE', reason: `the store refused it: ${(err as Error).message}` }).catch((e) => {
          log.error({ deviceId: msg.deviceId, err: (e as Error).message }, 'a message the store refused could not be kept as a dead letter; dropped')
        })
      }
      onStoreError?.(err)
      stats.held++
      const wait = Math.min(4000, 100 * 2 ** attempt)
      log.warn({ deviceId: msg.deviceId, attempt, waitMs: wait, err: (err as Error).message }, 'store unavailable; the ack waits')
      await new Promise((r) => setTimeout(r, wait))
      stats.held--
      try {
        return await handleOnce(msg)
      } catch (e) { err = e }
    }
  }

  /** Records a publish a device made to a topic not its own (acknowledged and dropped by the broker). */
  function refused (r: { deviceId: string, topic: string, payload: Buffer }): Promise<void> {
    const msg: DeviceMessage = { deviceId: r.deviceId, channel: 'status', topic: r.topic, payload: r.payload, receivedAt: Date.now() }
    return deadLetter(msg, { code: 'INGEST_TOPIC_REFUSED', reason: `not this device's topic: ${r.topic.slice(0, 200)}` }).catch((err) => {
      log.warn({ deviceId: r.deviceId, err: (err as Error).message }, 'refused publish not recorded')
    })
  }

  /** Keeps a publish over the broker's packet limit (never held whole) as a dead letter: its start, size and sha256. */
  async function tooLarge (r: { deviceId: string, topic: string, reason: string, excerpt: Buffer, bytes: number, sha256: string }) {
    stats.deadLetters++
    log.info({ deviceId: r.deviceId, topic: r.topic.slice(0, 200), code: 'INGEST_TOO_LARGE', reason: r.reason }, 'dead letter')
    await insertDeadLetters(db, [{ source: 'mqtt', topic: r.topic, deviceId: r.deviceId, code: 'INGEST_TOO_LARGE', reason: r.reason, payload: r.excerpt, whole: { bytes: r.bytes, sha256: r.sha256 } }])
  }

  // The way of a reading from a known device is synchronous up to the batcher: at
  // tens of thousands of messages a second, each async function or await is a
  // promise per message, and the garbage they make was a third of the CPU.
  function handleOnce (msg: DeviceMessage): Promise<void> {
    try {
      const known = devices.get(msg.deviceId)
      return known ? handleDevice(msg, known) : device(msg.deviceId).then((dev) => handleDevice(msg, dev))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  function handleDevice (msg: DeviceMessage, dev: DeviceInfo | null): Promise<void> {
    if (!dev) return deadLetter(msg, { code: 'INGEST_UNKNOWN_DEVICE', reason: `device "${msg.deviceId}" is not registered` })
    if ((msg.street ?? parseDeviceTopic(msg.topic)?.street) !== dev.street) {
      return deadLetter(msg, { code: 'INGEST_UNKNOWN_DEVICE', reason: `topic ${msg.topic} is not the one registered for device "${dev.id}"` })
    }
    let body: unknown
    try { body = JSON.parse(msg.payload.toString('utf8')) } catch (err) {
      return deadLetter(msg, { code: 'INGEST_BAD_JSON', reason: `not JSON: ${(err as Error).message}` })
    }
    const isMeter = dev.kind === 'meter' || dev.kind === 'water_meter'
    if (msg.channel === 'telemetry' && isMeter) return meter(msg, dev, body)
    return other(msg, dev, body)
  }

  /** Camera and drone events, drone telemetry, status: stored one by one. */
  async function other (msg: DeviceMessage, dev: DeviceInfo, body: unknown): Promise<void> {
    const schema = msg.channel === 'telemetry' && dev.kind === 'drone' ? DroneTelemetryPayload
      : msg.channel === 'events' && dev.kind === 'camera' ? CameraEventPayload
        : msg.channel === 'events' && dev.kind === 'drone' ? DroneDetectionPayload
          : msg.channel === 'status' ? null : undefined
    if (schema === undefined) {
      return deadLetter(msg, { code: 'INGEST_INVALID_PAYLOAD', reason: `a ${dev.kind} does not send ${msg.channel}` })
    }
    if (schema === null) {
      const problem = statusProblem(body)
      if (problem) return deadLetter(msg, { code: 'INGEST_INVALID_PAYLOAD', reason: problem })
      const given = typeof body === 'object' && body !== null ? (body as { ts?: unknown }).ts : undefined
      const ts = given === undefined ? { success: true as const, data: msg.receivedAt } : EventTime.safeParse(given)
      if (!ts.success) return deadLetter(msg, { code: 'INGEST_INVALID_PAYLOAD', reason: `ts: ${describe(ts.error)}` })
      return insertEvent(db, dev.id, ts.data, 'status', body)
    }
    const parsed = schema.safeParse(body)
    if (!parsed.success) return deadLetter(msg, { code: 'INGEST_INVALID_PAYLOAD', reason: describe(parsed.error) })
    await insertEvent(db, dev.id, parsed.data.ts, msg.channel, parsed.data)
    if (events && dev.kind === 'camera' && dev.subject && dev.subjectKind) {
      const e = parsed.data as z.infer<typeof CameraEventPayload>
      events({ subjectId: dev.subject, subjectKind: dev.subjectKind, deviceId: dev.id, ts: e.ts, event: e.event, ...(e.count !== undefined ? { count: e.count } : {}), ...(e.confidence !== undefined ? { confidence: e.confidence } : {}) })
    }
    if (drones && dev.kind === 'drone') {
      const d = { deviceId: dev.id, street: dev.street, ...parsed.data }
      if (msg.channel === 'telemetry') drones.telemetry(d as DroneTelemetry)
      else drones.detection(d as DroneDetection)
    }
  }

  function meter (msg: DeviceMessage, dev: DeviceInfo, body: unknown): Promise<void> {
    const unit = unitOf(dev.kind)
    const isBatch = typeof body === 'object' && body !== null && 'readings' in body
    const items = isBatch ? (body as { readings: unknown }).readings : undefined
    if (Array.isArray(items) && items.length > MAX_BATCH_READINGS) {
      return deadLetter(msg, { code: 'INGEST_TOO_LARGE', reason: `a batch of ${items.length} readings; at most ${MAX_BATCH_READINGS}` })
    }
    if (Array.isArray(items) && items.length === 0) return deadLetter(msg, { code: 'INGEST_INVALID_PAYLOAD', reason: 'readings: an empty batch' })
    // The usual readings without zod (the same answers); zod judges the rest and gives the reasons.
    const fast = isBatch ? Array.isArray(items) ? fastMeterReadings(items) : undefined : fastMeterReading(body)
    if (fast) return store(msg, dev, unit, Array.isArray(fast) ? fast : [fast])
    const parsed = isBatch ? MeterBatchPayload.safeParse(body) : MeterReadingPayload.safeParse(body)
    if (parsed.success) return store(msg, dev, unit, 'readings' in parsed.data ? parsed.data.readings : [parsed.data])
    if (isBatch && Array.isArray((body as { readings: unknown[] }).readings)) {
      // Keep the good readings of a batch; each bad one becomes its own dead letter.
      const readings: Reading[] = []
      const bad: Array<{ r: Rejection, payload: string }> = []
      for (const [i, item] of (body as { readings: unknown[] }).readings.entries()) {
        const one = MeterReadingPayload.safeParse(item)
        if (one.success) readings.push(one.data)
        else bad.push({ r: { code: 'INGEST_INVALID_PAYLOAD', reason: `readings[${i}]: ${describe(one.error)}` }, payload: JSON.stringify(item) ?? String(item) })
      }
      return deadLetters(msg, bad).then(() => store(msg, dev, unit, readings))
    }
    return deadLetter(msg, { code: 'INGEST_INVALID_PAYLOAD', reason: describe(parsed.error) })
  }

  /**
   * Valid readings -> register steps -> the batcher; resolves once they are stored, then feeds the
   * detectors (for handleWith's message, writeRows may take its callback and resolve at once: TAKEN).
   */
  function store (msg: DeviceMessage, dev: DeviceInfo, unit: 'kwh' | 'm3', readings: Reading[]): Promise<void> {
    const known = registers.get(dev.id)
    if (known instanceof Promise || (known === undefined && !registers.has(dev.id))) return loadRegister(dev.id).then(() => store(msg, dev, unit, readings))
    // From here to registers.set() nothing awaits, so concurrent messages of one device cannot interleave.
    const rows: ReadingRow[] = []
    let wrongUnit: Reading[] | undefined
    let state = known as RegisterState | undefined
    let late = 0
    if (readings.length > 1) readings.sort((a, b) => a.ts - b.ts)
    for (const r of readings) {
      const value = r[unit]
      if (value === undefined) { (wrongUnit ??= []).push(r); continue }
      const out = step(state, dev.id, { ts: r.ts, value, powerW: r.w })
      state = out.next
      const s = out.step
      if (s.kind === 'duplicate') { stats.duplicates++; continue }
      rows.push(s.row)
      if (s.kind === 'late') { stats.late++; late++ }
    }
    // The cached state is updated in place: a new one per message lived until the device's next
    // message, long enough to be copied by a scavenge and often promoted (GC was 12-19 % of the main thread).
    if (known !== undefined && state !== undefined) { known.lastTs = state.lastTs; known.lastReg = state.lastReg } else registers.set(dev.id, state)
    // A message of one reading (the usual) keeps its row in an array of one slot until the ack, not
    // in the 17 a first push() makes room for: 128 bytes a reading in flight that every scavenge copied.
    if (wrongUnit === undefined) return writeRows(msg, dev, rows.length === 1 ? [rows[0]!] : rows, late)
    return deadLetters(msg, wrongUnit.map((r) => ({ r: { code: 'INGEST_INVALID_PAYLOAD', reason: `the reading is in "${unit === 'kwh' ? 'm3' : 'kwh'}", but a ${dev.kind} reports "${unit}"` }, payload: JSON.stringify(r) })))
      .then(() => writeRows(msg, dev, rows, late), (err) => { registers.delete(dev.id); throw err })
  }

  /**
   * Rows to the batcher; once stored, to the detectors (feed). A function of the
   * ingest, not a closure made per message: tsx (esbuild keepNames) renames every named
   * closure with Object.defineProperty, which showed in CPU profiles of the bench.
   */
  function writeRows (msg: DeviceMessage, dev: DeviceInfo, rows: ReadingRow[], late: number): Promise<void> {
    if (rows.length === 0) return Promise.resolve()
    if (late <= LATE_SLICE) {
      if (answer !== undefined) {
        const done = answer
        answer = undefined
        batcher.addWaiting(new StoredReadings(rows, msg, dev, done, true))
        return TAKEN
      }
      return new Promise<void>((resolve, reject) => batcher.addWaiting(new StoredReadings(rows, msg, dev, (err) => err ? reject(err) : resolve(), false)))
    }
    // Late readings cost a recompute each: in slices, so other devices' batches go between them.
    return addInSlices(rows).then(() => afterStored(msg, dev, rows), (err) => {
      // Not stored: forget the cached register so a retry is judged against the store.
      registers.delete(dev.id)
      throw err
    })
  }

  /** Stored rows: counted, and to the detectors (now, or after the turn's PUBACKs with feedAfterAcks). */
  function afterStored (msg: DeviceMessage, dev: DeviceInfo, rows: ReadingRow[]) {
    stats.readings += rows.length
    if (!dev.subject || !dev.subjectKind) return
    if (feedAfterAcks) feedLater(dev, rows, msg.receivedAt)
    else feed(dev, rows, msg.receivedAt)
  }

  // With feedAfterAcks, stored rows wait here for the detectors until the PUBACKs of the turn
  // they were stored in have been written. A batch's acks are given in microtasks once it
  // commits, and the broker writes them in a nextTick queued meanwhile (broker/acks.ts; MQTT.js
  // and aedes' own acks alike); feedDetectors is queued from a nextTick queued then too, so it
  // runs after those writes, and still before this turn ends: a device that has its PUBACK can
  // rely on the detectors having its readings (tests read their state right after a publish).
  // Feeding the detectors first held every ack of the batch for them.
  let fedDevs: DeviceInfo[] = []
  let fedRows: ReadingRow[][] = []
  let fedAt: number[] = []
  let feeding = false
  function feedLater (dev: DeviceInfo, rows: ReadingRow[], receivedAt: number) {
    fedDevs.push(dev)
    fedRows.push(rows)
    fedAt.push(receivedAt)
    if (!feeding) { feeding = true; process.nextTick(afterAcks) }
  }
  function afterAcks () { process.nextTick(feedDetectors) }

  /** What waited for the acks, to the detectors. */
  function feedDetectors () {
    feeding = false
    const devs = fedDevs, rowsOf = fedRows, at = fedAt
    fedDevs = []
    fedRows = []
    fedAt = []
    for (let i = 0; i < devs.length; i++) feed(devs[i]!, rowsOf[i]!, at[i]!)
  }

  /** A device's stored rows -> interval consumption for the detectors, in event-time order (in_order rows only). */
  function feed (dev: DeviceInfo, rows: ReadingRow[], receivedAt: number) {
    const unit = unitOf(dev.kind)
    const samples: Consumption[] = []
    for (const row of rows) {
      // A first reading has no interval, a late one is recomputed in the store: neither is a sample.
      if (row.intervalMs === null || row.late) continue
      const sample: Consumption = {
        subjectId: dev.subject!, subjectKind: dev.subjectKind!, deviceId: dev.id, street: dev.street, unit, ts: row.ts,
        intervalMs: row.intervalMs, amount: row.amount ?? 0,
      }
      if (row.powerW !== null) sample.powerW = row.powerW
      if (row.implausible) sample.registerFault = 'implausible'
      else if (row.reset) sample.registerFault = 'reset'
      samples.push(sample)
    }
    if (samples.length > 0) { stats.lastLagMs = Date.now() - receivedAt; sink(samples) }
  }

  async function addInSlices (rows: ReadingRow[]): Promise<void> {
    const late = rows.filter((r) => r.late)
    const inOrder = rows.filter((r) => !r.late)
    if (inOrder.length > 0) await batcher.add(inOrder)
    for (let i = 0; i < late.length; i += LATE_SLICE) await batcher.add(late.slice(i, i + LATE_SLICE))
  }

  return {
    handle,
    handleWith,
    stats,
    refused,
    tooLarge,
    /** Forgets cached registrations and register state (after a device is changed, or its street came from another worker). */
    forgetDevice (id: string) { devices.delete(id); registers.delete(id) },
    /** Readings queued or being written. */
    get pending () { return batcher.pending },
    /** Drains what is queued; a store that is away is not waited for. */
    async stop () { stopped = true; batcher.close(); await batcher.drain(); feedDetectors() },
  }
}

export type Ingest = ReturnType<typeof createIngest>

function describe (err: { issues: Array<{ path: PropertyKey[], message: string }> }): string {
  return err.issues.slice(0, 5).map((i) => `${i.path.length ? i.path.join('.') + ': ' : ''}${i.message}`).join('; ')
}

/** Why a status payload cannot be stored as it is: nested too deep, or a string with NUL. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

function statusProblem (body: unknown): string | null {
  const walk = (v: unknown, depth: number): string | null => {
    if (depth > MAX_STATUS_DEPTH) return `nested deeper than ${MAX_STATUS_DEPTH}`
    // PostgreSQL's json takes neither NUL nor half a UTF-16 surrogate pair ("\\ud800" alone).
    if (typeof v === 'string') return v.includes('\u0000') ? 'a string holds NUL (\\u0000)' : !LONE_SURROGATE.test(v) ? null : 'a string holds a lone UTF-16 surrogate (such as \\ud800)'
    if (typeof v !== 'object' || v === null) return null
    for (const [k, x] of Object.entries(v)) {
      if (k.includes('\u0000')) return 'a key holds NUL (\\u0000)'
      if (LONE_SURROGATE.test(k)) return 'a key holds a lone UTF-16 surrogate (such as \\ud800)'
      const p = walk(x, depth + 1)
      if (p) return p
    }
    return null
  }
  return walk(body, 1)
}
