/**
 * The load generator of the end-to-end bench, run as a child process so that it does not share
 * gridcare's event loop: N devices connect over TCP, each with its own credentials, and publish
 * QoS 1 meter readings with a fixed number in flight each, for a fixed time. It prints one JSON
 * line: readings acknowledged, seconds, and publish -> PUBACK latencies (gridcare acknowledges a
 * reading only once it is stored, so this is publish -> commit).
 *
 * `node --import tsx bench/load.ts <spec.json>`; the spec is a LoadSpec.
 */
import { readFileSync } from 'node:fs'
import mqtt, { type MqttClient } from 'mqtt'

export interface LoadSpec {
  url: string
  devices: { username: string, password: string, topic: string }[]
  inFlight: number
  seconds: number
  /** Event time of each device's first reading, epoch ms; readings step one minute. */
  fromMs: number
  /** Concurrent CONNECTs while connecting; default 100. */
  connectConcurrency?: number
}

export interface LoadResult {
  acked: number, failed: number, seconds: number, p50: number, p99: number, max: number, connectSeconds: number
  /** The generator's own CPU while publishing, in cores (1 = one core busy): near 1 means the generator is the ceiling. */
  cpuCores: number
}

// One reading a minute, so that a long run at full speed stays in the past (the ts bounds refuse the future).
const STEP = 60_000

async function run (spec: LoadSpec): Promise<LoadResult> {
  const t0 = Date.now()
  const clients: MqttClient[] = []
  const queue = [...spec.devices]
  const connectOne = async () => {
    for (let d = queue.shift(); d; d = queue.shift()) {
      clients.push(await mqtt.connectAsync(spec.url, {
        username: d.username, password: d.password, clientId: d.username.replace(/[^A-Za-z0-9-]/g, '-'),
        reconnectPeriod: 0, connectTimeout: 30_000, keepalive: 120,
      }))
    }
  }
  await Promise.all(Array.from({ length: Math.min(spec.connectConcurrency ?? 100, spec.devices.length) }, connectOne))
  const connectSeconds = (Date.now() - t0) / 1000
  // Tells the bench that publishing starts, so it measures the broker's side from here.
  process.stdout.write('publishing\n')

  // One latency sample per acknowledged publish, in a typed array: no allocation per reading.
  const lat = new Float64Array(4_000_000)
  let acked = 0, failed = 0
  let stop = false
  const end = Date.now() + spec.seconds * 1000
  const started = Date.now()
  const cpu0 = process.cpuUsage()
  const byTopic = new Map(spec.devices.map((d) => [d.username, d.topic]))
  await Promise.all(clients.map((client) => new Promise<void>((resolve) => {
    const topic = byTopic.get(client.options.username!)!
    let n = 0, inFlight = 0
    const pump = () => {
      while (!stop && inFlight < spec.inFlight) {
        if (Date.now() >= end) { stop = true; break }
        const i = n++
        const body = JSON.stringify({ ts: spec.fromMs + i * STEP, kwh: Math.round(i * 0.01 * 1000) / 1000 })
        const sent = performance.now()
        inFlight++
        client.publish(topic, body, { qos: 1 }, (err) => {
          inFlight--
          if (err) failed++
          else if (acked < lat.length) lat[acked++] = performance.now() - sent
          else acked++
          if (!stop) pump()
          else if (inFlight === 0) resolve()
        })
      }
      if (stop && inFlight === 0) resolve()
    }
    pump()
  })))
  const seconds = (Date.now() - started) / 1000
  const cpu = process.cpuUsage(cpu0)
  await Promise.all(clients.map((c) => c.endAsync()))
  const sorted = lat.subarray(0, Math.min(acked, lat.length)).sort()
  const q = (p: number) => sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
  return { acked, failed, seconds, p50: q(0.5), p99: q(0.99), max: q(1), connectSeconds, cpuCores: (cpu.user + cpu.system) / 1e6 / seconds }
}

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LoadSpec
run(spec).then((r) => {
  process.stdout.write(JSON.stringify(r) + '\n')
  process.exit(0)
}, (err) => {
  process.stderr.write(`load: ${(err as Error).message}\n`)
  process.exit(1)
})
