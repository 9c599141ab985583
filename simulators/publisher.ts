/**
 * Plays simulated meters into an MQTT broker, each device on its own connection
 * with its own credentials, as real meters and concentrators would: history as
 * one batch per day (backfill), then live readings on a simulated clock.
 */
import mqtt from 'mqtt'
import type { MqttClient } from 'mqtt'
import type { Logger } from 'pino'
import type { SimClock } from './clock.ts'
import type { MeterModel } from './meters.ts'
import type { Reading } from './types.ts'
import { DAY, MIN } from './household.ts'

export interface SimDevice {
  id: string
  username: string
  password: string
  topics: { telemetry: string }
  model: MeterModel
}

export interface Timers {
  setInterval (fn: () => void, ms: number): unknown
  clearInterval (handle: unknown): void
}

export interface MeterPublisherOptions {
  /** Broker URL, e.g. `mqtt://127.0.0.1:1883`. */
  url: string
  devices: SimDevice[]
  logger: Logger
  /** Drives live mode; without one, start() only connects (for backfill). */
  clock?: SimClock
  /** MQTT protocol version; default 4 (3.1.1). */
  protocolVersion?: 4 | 5
  /** Simulated ms between readings; default 15 minutes. */
  stepMs?: number
  /** Real ms between live ticks; default 100. */
  tickMs?: number
  /** Real ms stop() waits for outstanding pubacks before closing anyway; default 5000. */
  drainMs?: number
  /** Default: the global setInterval/clearInterval. */
  timers?: Timers
}

export interface MeterPublisher {
  /** Connects every device, then, with a clock, publishes live readings every tick. */
  start (): Promise<void>
  /** Idempotent: stops ticking, waits for pubacks (up to drainMs), closes the clients. */
  stop (): Promise<void>
  /** Publishes readings over [fromMs, toMs) as one batch per day per device, each acknowledged. Returns the count. */
  backfill (fromMs: number, toMs: number): Promise<number>
  /** Publishes every reading due by the clock's now; returns how many. Called by the timer, or by a test. */
  tick (): number
}

interface DeviceState {
  dev: SimDevice
  client: MqttClient | null
  /** Latest reading time taken from the model: models only move forward. */
  lastTs: number | null
}

const defaultTimers: Timers = {
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
}

export function createMeterPublisher (opts: MeterPublisherOptions): MeterPublisher {
  const log = opts.logger.child({ module: 'meter-publisher' })
  const stepMs = opts.stepMs ?? 15 * MIN
  const timers = opts.timers ?? defaultTimers
  const states: DeviceState[] = opts.devices.map((dev) => ({ dev, client: null, lastTs: null }))
  const pending = new Set<Promise<unknown>>()
  let connecting: Promise<void> | null = null
  let timer: unknown = null
  let stopping: Promise<void> | null = null

  function connect (): Promise<void> {
    if (stopping !== null) return Promise.reject(new Error('meter publisher is stopped'))
    connecting ??= Promise.all(states.map(async (s) => {
      s.client = await connectClient(opts.url, {
        clientId: s.dev.id, username: s.dev.username, password: s.dev.password, protocolVersion: opts.protocolVersion ?? 4,
      }, (c) => {
        s.client = c
        // Attached before connecting so no error event is ever unhandled; MQTT.js reconnects by itself.
        c.on('error', (err) => log.warn({ err, deviceId: s.dev.id }, 'meter connection error'))
      })
    })).then(() => log.info({ devices: states.length }, 'meters connected'))
    return connecting
  }

  function send (s: DeviceState, payload: unknown): Promise<unknown> {
    if (s.client === null) return Promise.reject(new Error(`device ${s.dev.id} is not connected`))
    const p = s.client.publishAsync(s.dev.topics.telemetry, JSON.stringify(payload), { qos: 1 })
    pending.add(p)
    return p.finally(() => pending.delete(p))
  }

  async function backfill (fromMs: number, toMs: number): Promise<number> {
    await connect()
    const counts = await Promise.all(states.map(async (s) => {
      if (s.lastTs !== null && fromMs <= s.lastTs) throw new RangeError(`backfill of ${s.dev.id} must start after ${s.lastTs}`)
      let sent = 0
      for (let day = fromMs; day < toMs && stopping === null; day += DAY) {
        const readings: Reading[] = []
        for (let ts = day; ts < Math.min(day + DAY, toMs); ts += stepMs) {
          const r = s.dev.model.readingAt(ts)
          s.lastTs = ts
          if (r !== null) readings.push(r)
        }
        if (readings.length === 0) continue // an offline meter sends nothing
        await send(s, { readings })
        sent += readings.length
      }
      return sent
    }))
    return counts.reduce((a, b) => a + b, 0)
  }

  function tick (): number {
    if (opts.clock === undefined || stopping !== null) return 0
    const now = opts.clock.now()
    let sent = 0
    for (const s of states) {
      if (s.client === null) continue
      // Readings sit on the step grid, so live data lines up with the backfill.
      let ts = s.lastTs === null ? Math.floor(now / stepMs) * stepMs : s.lastTs + stepMs
      for (; ts <= now; ts += stepMs) {
        const r = s.dev.model.readingAt(ts)
        s.lastTs = ts
        if (r === null) continue
        sent++
        send(s, r).catch((err: unknown) => log.warn({ err, deviceId: s.dev.id, ts }, 'live reading not acknowledged'))
      }
    }
    return sent
  }

  async function start (): Promise<void> {
    await connect()
    if (opts.clock === undefined || timer !== null || stopping !== null) return
    timer = timers.setInterval(tick, opts.tickMs ?? 100)
    log.info({ simNow: opts.clock.now(), speed: opts.clock.speed }, 'live meters started')
  }

  function stop (): Promise<void> {
    stopping ??= (async () => {
      if (timer !== null) timers.clearInterval(timer)
      const drained = await settleWithin([...pending], opts.drainMs ?? 5000)
      await Promise.all(states.map((s) => s.client?.endAsync(!drained)))
      log.info({ drained }, 'meter publisher stopped')
    })()
    return stopping
  }

  return { start, stop, backfill, tick }
}

/** Resolves on the first connack; on an error (refused, bad credentials) ends the client and rejects. */
function connectClient (url: string, options: mqtt.IClientOptions, created: (c: MqttClient) => void): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { clean: true, reconnectPeriod: 1000, ...options })
    created(client)
    const settle = () => { client.off('connect', onConnect); client.off('error', onError); client.off('end', onEnd) }
    const onConnect = () => { settle(); resolve(client) }
    const onError = (err: Error) => { settle(); client.end(true); reject(err) }
    // stop() while still connecting: give up rather than wait forever.
    const onEnd = () => { settle(); reject(new Error(`${options.clientId}: closed before connecting`)) }
    client.on('connect', onConnect)
    client.on('error', onError)
    client.on('end', onEnd)
  })
}

/** True when every promise settled within `ms`. */
async function settleWithin (promises: Promise<unknown>[], ms: number): Promise<boolean> {
  let timeout: NodeJS.Timeout | undefined
  const timedOut = new Promise<false>((resolve) => { timeout = setTimeout(resolve, ms, false) })
  const done = Promise.allSettled(promises).then(() => true as const)
  try { return await Promise.race([done, timedOut]) } finally { clearTimeout(timeout) }
}
