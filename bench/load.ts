/**
 * The load generator of the end-to-end bench, run as a child process so that it does not share
 * gridcare's event loop: N devices connect over TCP, each with its own credentials, and publish
 * QoS 1 meter readings with a fixed number in flight each, for a fixed time. It prints one JSON
 * line: readings acknowledged, seconds, and publish -> PUBACK latencies (gridcare acknowledges a
 * reading only once it is stored, so this is publish -> commit).
 *
 * Two generators speak the same load: `lean` (the default) builds the packets by hand
 * (bench/wire.ts), a few µs of CPU a message; `mqttjs` is one MQTT.js client per device, about
 * 30 µs a message, as the bench had before (`--generator mqttjs` reproduces those figures).
 *
 * `node --import tsx bench/load.ts <spec.json>`; the spec is a LoadSpec.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { connect as tcpConnect } from 'node:net'
import mqtt from 'mqtt'
import { CONNACK, connectPacket, DISCONNECT, packetReader, PINGREQ, PUBACK, publishEncoder } from './wire.ts'

export type Generator = 'lean' | 'mqttjs'

export interface LoadSpec {
  url: string
  devices: { username: string, password: string, topic: string }[]
  inFlight: number
  seconds: number
  /** Event time of each device's first reading, epoch ms; readings step one minute. */
  fromMs: number
  /** Concurrent CONNECTs while connecting; default 100. */
  connectConcurrency?: number
  /** Which client sends the load; default `lean`. */
  generator?: Generator
  /**
   * Seconds of publishing before the measured `seconds`, whose readings are acknowledged but not
   * counted; default 1. At the start every device publishes all it may at once and each device's
   * register is first read from the store: that first round, 2-3 % of a 10 s run's meter
   * readings, alone made the p99 (issue 12: p99 over p50 fell from 2.7 to 1.9 without it, in
   * stamped runs). Its p99 is reported apart (`warmupP99`).
   */
  warmupSeconds?: number
  /**
   * Writes, per 100 ms of publishing (from the measured part's start), the readings published
   * then that were acknowledged and their p50 and max latency, ms: a tab-separated file (`--timeline`).
   */
  timelineFile?: string
}

export interface LoadResult {
  acked: number, failed: number, seconds: number, p50: number, p99: number, max: number, connectSeconds: number
  /** Readings acknowledged that were published during the warm-up, and their p99 (ms). */
  warmupAcked: number, warmupP99: number
  /** The generator's own CPU while publishing, in cores (1 = one core busy): near 1 means the generator is the ceiling. */
  cpuCores: number
  generator: Generator
}

/** What a connected device is told while it publishes. */
interface RunContext {
  inFlight: number
  /** True once the run's time is up: publish nothing more. */
  stopped (): boolean
  /** The payload of the device's i-th reading. */
  body (i: number): string
  /** A PUBACK came for a publish written at `sentAt` (performance.now()). */
  acked (sentAt: number): void
  /** Publishes that will never be acknowledged (the connection went). */
  failed (n: number): void
}

interface Device {
  /** Publishes until ctx.stopped(), keeping ctx.inFlight unacknowledged; resolves once none is in flight. */
  run (ctx: RunContext): Promise<void>
  end (): Promise<void>
}

const CONNECT_TIMEOUT_MS = 30_000
const KEEPALIVE_S = 120
// One reading a minute, so that a long run at full speed stays in the past (the ts bounds refuse the future).
const STEP = 60_000

/**
 * Work put off until every socket with something to read has been read: the PUBACKs that came
 * in one turn of the event loop are all timed first, then the devices publish again. Publishing
 * from inside each socket's read (a write call per device) timed the last of 2,000 devices' acks
 * tens of ms late, as no device alone would be: that wait was counted in their latency (issue 12).
 */
const deferred = new Set<() => void>()
const runDeferred = () => { for (const f of deferred) { deferred.delete(f); f() } }
const later = (f: () => void) => { if (deferred.size === 0) setImmediate(runDeferred); deferred.add(f) }

/** One device on its own TCP connection, packets by hand (bench/wire.ts). */
function leanDevice (url: string, d: LoadSpec['devices'][number]): Promise<Device> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: hostname, port: Number(port || 1883) })
    socket.setNoDelay(true)
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`${d.username}: no CONNACK within ${CONNECT_TIMEOUT_MS} ms`)) }, CONNECT_TIMEOUT_MS)
    let onPacket = (type: number, _id: number, first: Buffer) => {
      if (type !== CONNACK) return
      clearTimeout(timer)
      if (first[3] !== 0) { socket.destroy(); return reject(new Error(`${d.username}: connection refused, CONNACK return code ${first[3]}`)) }
      resolve(device)
    }
    let afterRead = () => {}
    let onClose = () => { clearTimeout(timer); reject(new Error(`${d.username}: connection closed before CONNACK`)) }
    const read = packetReader((type, id, first) => onPacket(type, id, first))
    socket.on('data', (chunk) => { read(chunk); later(afterRead) })
    socket.on('error', () => {}) // 'close' follows and says what it means
    socket.on('close', () => onClose())
    socket.write(connectPacket({ clientId: d.username.replace(/[^A-Za-z0-9-]/g, '-'), username: d.username, password: d.password, keepaliveS: KEEPALIVE_S }))
    const ping = setInterval(() => socket.write(PINGREQ), KEEPALIVE_S * 500)
    ping.unref()

    const device: Device = {
      run: (ctx) => new Promise<void>((done) => {
        const encode = publishEncoder(d.topic)
        // Packet id = slot + 1; a slot is reused once its PUBACK came, as MQTT allows.
        const sentAt = new Float64Array(ctx.inFlight)
        const busy = new Uint8Array(ctx.inFlight)
        const free = Array.from({ length: ctx.inFlight }, (_, i) => ctx.inFlight - 1 - i)
        const ids: number[] = [], payloads: string[] = []
        let n = 0
        const pump = () => {
          ids.length = 0
          payloads.length = 0
          while (free.length > 0 && !ctx.stopped()) {
            const slot = free.pop()!
            busy[slot] = 1
            ids.push(slot + 1)
            payloads.push(ctx.body(n++))
          }
          if (ids.length > 0) {
            const packets = encode(ids, payloads)
            const now = performance.now()
            for (const id of ids) sentAt[id - 1] = now
            socket.write(packets)
          } else if (free.length === ctx.inFlight) done()
        }
        onPacket = (type, id) => {
          const slot = id - 1
          if (type !== PUBACK || slot < 0 || slot >= ctx.inFlight || busy[slot] === 0) return
          busy[slot] = 0
          free.push(slot)
          ctx.acked(sentAt[slot]!)
        }
        afterRead = pump
        onClose = () => { ctx.failed(ctx.inFlight - free.length); free.length = ctx.inFlight; done() }
        pump()
      }),
      end: () => new Promise<void>((done) => {
        clearInterval(ping)
        if (socket.destroyed) return done()
        onClose = done
        socket.end(DISCONNECT)
      }),
    }
  })
}

/** One MQTT.js client per device, as the bench had before the lean generator. */
async function mqttjsDevice (url: string, d: LoadSpec['devices'][number]): Promise<Device> {
  const client = await mqtt.connectAsync(url, {
    username: d.username, password: d.password, clientId: d.username.replace(/[^A-Za-z0-9-]/g, '-'),
    reconnectPeriod: 0, connectTimeout: CONNECT_TIMEOUT_MS, keepalive: KEEPALIVE_S,
  })
  return {
    run: (ctx) => new Promise<void>((resolve) => {
      let n = 0, inFlight = 0
      const pump = () => {
        while (!ctx.stopped() && inFlight < ctx.inFlight) {
          const body = ctx.body(n++)
          const sent = performance.now()
          inFlight++
          client.publish(d.topic, body, { qos: 1 }, (err) => {
            inFlight--
            if (err) ctx.failed(1)
            else ctx.acked(sent)
            pump()
          })
        }
        if (ctx.stopped() && inFlight === 0) resolve()
      }
      pump()
    }),
    end: () => client.endAsync(),
  }
}

async function run (spec: LoadSpec): Promise<LoadResult> {
  const generator = spec.generator ?? 'lean'
  const open = generator === 'lean' ? leanDevice : mqttjsDevice
  const t0 = Date.now()
  const devices: Device[] = []
  const queue = [...spec.devices]
  const connectOne = async () => {
    for (let d = queue.shift(); d; d = queue.shift()) devices.push(await open(spec.url, d))
  }
  await Promise.all(Array.from({ length: Math.min(spec.connectConcurrency ?? 100, spec.devices.length) }, connectOne))
  const connectSeconds = (Date.now() - t0) / 1000
  // Tells the bench that publishing starts, so it measures the broker's side from here.
  process.stdout.write('publishing\n')

  // One latency sample per acknowledged publish, in a typed array: no allocation per reading.
  const lat = new Float64Array(8_000_000)
  /** When each of `lat` was published, ms from the measured part's start (`timelineFile` only). */
  const at = spec.timelineFile ? new Float64Array(lat.length) : undefined
  const warmLat: number[] = []
  let acked = 0, failed = 0
  const warmupMs = (spec.warmupSeconds ?? 1) * 1000
  const t1 = performance.now()
  const measureFrom = t1 + warmupMs
  const end = Date.now() + warmupMs + spec.seconds * 1000
  let stop = false
  let cpu0 = process.cpuUsage()
  // Tells the bench that the measured part starts, so it measures the broker's side from here.
  const measuring = setTimeout(() => { cpu0 = process.cpuUsage(); process.stdout.write('measuring\n') }, warmupMs)
  const ctx: RunContext = {
    inFlight: spec.inFlight,
    stopped: () => stop || (stop = Date.now() >= end),
    body: (i) => `{"ts":${spec.fromMs + i * STEP},"kwh":${Math.round(i * 0.01 * 1000) / 1000}}`,
    acked: (sentAt) => {
      const ms = performance.now() - sentAt
      if (sentAt < measureFrom) return void warmLat.push(ms)
      if (acked < lat.length) {
        lat[acked] = ms
        if (at) at[acked] = sentAt - measureFrom
      }
      acked++
    },
    failed: (n) => { failed += n },
  }
  await Promise.all(devices.map((d) => d.run(ctx)))
  clearTimeout(measuring)
  const seconds = Math.max(0, performance.now() - measureFrom) / 1000
  const cpu = process.cpuUsage(cpu0)
  await Promise.all(devices.map((d) => d.end()))
  const quantile = (xs: ArrayLike<number>, p: number) => xs.length === 0 ? NaN : xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!
  if (at) writeTimeline(spec.timelineFile!, lat.subarray(0, Math.min(acked, lat.length)), at, quantile)
  const sorted = lat.subarray(0, Math.min(acked, lat.length)).sort()
  const q = (p: number) => quantile(sorted, p)
  return {
    acked, failed, seconds, p50: q(0.5), p99: q(0.99), max: q(1), connectSeconds, cpuCores: (cpu.user + cpu.system) / 1e6 / seconds, generator,
    warmupAcked: warmLat.length, warmupP99: quantile(warmLat.sort((a, b) => a - b), 0.99),
  }
}

/** Per 100 ms of publish time: readings acknowledged, p50 and max latency (LoadSpec.timelineFile). */
function writeTimeline (file: string, lat: Float64Array, at: Float64Array, quantile: (xs: ArrayLike<number>, p: number) => number) {
  const buckets: number[][] = []
  for (let i = 0; i < lat.length; i++) (buckets[Math.max(0, Math.floor(at[i]! / 100))] ??= []).push(lat[i]!)
  const lines = ['from_ms\treadings\tp50_ms\tmax_ms']
  for (let b = 0; b < buckets.length; b++) {
    const xs = (buckets[b] ?? []).sort((x, y) => x - y)
    lines.push(`${b * 100}\t${xs.length}\t${quantile(xs, 0.5).toFixed(0)}\t${quantile(xs, 1).toFixed(0)}`)
  }
  writeFileSync(file, lines.join('\n') + '\n')
}

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LoadSpec
run(spec).then((r) => {
  process.stdout.write(JSON.stringify(r) + '\n')
  process.exit(0)
}, (err) => {
  process.stderr.write(`load: ${(err as Error).message}\n`)
  process.exit(1)
})
