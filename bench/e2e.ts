/**
 * End to end: devices connect over TCP with their own credentials and publish QoS 1 readings
 * into a whole gridcare (broker -> ingest -> detectors -> store), while door cameras report
 * falls that must become tasks. The same load goes through bare brokers (Mosquitto, which runs
 * on these machines, and bare aedes) in the same run, as the reference.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { Session } from 'node:inspector/promises'
import { tmpdir } from 'node:os'
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Aedes } from 'aedes'
import mqtt from 'mqtt'
import pino from 'pino'
import { createMaintenance } from '../store/maintenance.ts'
import { createGridcare, type Gridcare } from '../app/index.ts'
import { loadConfig } from '../config/index.ts'
import { createScratchDatabase } from '../store/scratch.ts'
import type { Generator, LoadResult, LoadSpec } from './load.ts'
import type { BenchLine } from './report.ts'

export interface Load {
  /** Short name for `--loads`. */
  key: string
  name: string
  devices: number
  inFlight: number
  /** Acknowledged readings per second this load must reach. */
  target: number
}

/** The two loads of issue 12: many meters with little in flight, few concentrators with much. */
export const LOADS: Load[] = [
  { key: 'meters', name: '2,000 meters x 4 in flight', devices: 2000, inFlight: 4, target: 25_000 },
  { key: 'concentrators', name: '20 concentrators x 256 in flight', devices: 20, inFlight: 256, target: 60_000 },
]

export interface E2eOptions {
  pgAdminUrl: string
  /** Seconds of load per run; default 20. */
  seconds?: number
  stores?: ('embedded' | 'postgres')[]
  loads?: Load[]
  /** Writes a CPU profile of gridcare's process during each gridcare run into this folder (`--profile DIR`). */
  profileDir?: string
  /** Also run the bare brokers as the reference; default true. */
  refs?: boolean
  /** Mosquitto to measure as the reference; default mqtt://127.0.0.1:1883, skipped when it does not answer. */
  mosquittoUrl?: string
  /** The load generator, for gridcare and the references alike; default `lean` (`--generator mqttjs`: the MQTT.js one of the earlier figures). */
  generator?: Generator
  /** Runs the embedded store's PGlite on its own thread, as gridcare does by default; false: on the main thread (`--no-store-thread`). */
  storeThread?: boolean
  /**
   * Writes each gridcare run's timeline into this folder (`--timeline DIR`): the generator's latency per
   * 100 ms of publishing (LoadSpec.timelineFile), and what gridcare did when (events below).
   */
  timelineDir?: string
  /**
   * Runs gridcare's housekeeping (store/maintenance.ts, as the cron does every fifth minute) this many
   * seconds into each gridcare run's measured part (`--tick-at S`), as the tick on the hour does it
   * (the daily refreshed too), so that a run holds the worst tick on purpose rather than a tick by
   * chance; the run is then reported among those that held it.
   */
  tickAt?: number
  progress?: (msg: string) => void
}

interface Row { load: string, where: string, r: LoadResult, rssMb?: number, cpuCores?: number, mainCores?: number, loopP99?: number, batches?: number, batchRows?: number, batchMs?: number, committed?: number, taskP99?: number, alertToTaskP99?: number, falls?: number, tasks?: number, tick?: boolean }

const loadScript = fileURLToPath(new URL('./load.ts', import.meta.url))
const FALLS_EVERY_MS = 500

export async function benchEndToEnd (opts: E2eOptions): Promise<BenchLine[]> {
  const say = opts.progress ?? (() => {})
  const seconds = opts.seconds ?? 20
  const gen = opts.generator ?? 'lean'
  const rows: Row[] = []
  const lines: BenchLine[] = []
  for (const load of opts.loads ?? LOADS) {
    const ref: Record<string, LoadResult | null> = {}
    const refs = opts.refs ?? true
    if (refs) {
      say(`e2e: ${load.name} through bare aedes`)
      ref.aedes = await bareAedes((url) => generate(load, url, seconds, gen, bareDevices(load.devices)))
      rows.push({ load: load.name, where: 'bare aedes (ref)', r: ref.aedes })
    }
    const mosq = opts.mosquittoUrl ?? 'mqtt://127.0.0.1:1883'
    if (refs && await answers(mosq)) {
      say(`e2e: ${load.name} through Mosquitto at ${mosq}`)
      ref.mosquitto = await generate(load, mosq, seconds, gen, bareDevices(load.devices))
      rows.push({ load: load.name, where: 'Mosquitto (ref)', r: ref.mosquitto })
    }
    const refRate = ref.mosquitto ? rate(ref.mosquitto) : ref.aedes ? rate(ref.aedes) : undefined
    for (const store of opts.stores ?? ['embedded', 'postgres'] as const) {
      say(`e2e: ${load.name} through gridcare on the ${store} store`)
      const row = await throughGridcare(load, store, seconds, gen, opts.pgAdminUrl, opts.profileDir, opts.storeThread ?? true, opts.timelineDir, opts.tickAt)
      rows.push(row)
      lines.push({ section: 'e2e', store, path: load.name, batch: load.inFlight, rows: row.r.acked, ms: row.r.seconds * 1000, ...(refRate ? { refRowsPerSec: refRate } : {}), target: load.target })
    }
  }
  console.log(formatRows(rows, gen))
  return lines
}

const rate = (r: LoadResult) => r.acked / r.seconds

/** Runs the load generator as a child process against `url`. */
async function generate (load: Load, url: string, seconds: number, generator: Generator, devices: LoadSpec['devices'], onMeasuring?: () => void, timelineFile?: string): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'gridcare-load-'))
  const file = join(dir, 'spec.json')
  // Six days back: a run's readings (one a minute of event time each, a few hundred a device) stay in the
  // past, and in chunks younger than COMPRESS_AFTER_DAYS (7): with a year back, a run that held the
  // housekeeping tick had it compress the very chunk being written.
  const spec: LoadSpec = { url, devices, inFlight: load.inFlight, seconds, fromMs: Date.now() - 6 * 86_400_000, generator, ...(timelineFile ? { timelineFile } : {}) }
  writeFileSync(file, JSON.stringify(spec))
  try {
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', loadScript, file], { stdio: ['ignore', 'pipe', 'inherit'] })
      let buf = ''
      child.stdout.on('data', (d) => {
        if (!buf.includes('measuring\n') && (buf + d).includes('measuring\n')) onMeasuring?.()
        buf += d
      })
      child.on('exit', (code) => code === 0 ? resolve(buf) : reject(new Error(`load generator exited ${code}`)))
    })
    return JSON.parse(out.trim().split('\n').at(-1)!) as LoadResult
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const bareDevices = (n: number) => Array.from({ length: n }, (_, i) => ({ username: `device:bench-${i}`, password: 'x', topic: `bench/${i}/telemetry` }))

async function answers (url: string): Promise<boolean> {
  try {
    const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 2000 })
    await c.endAsync()
    return true
  } catch { return false }
}

/** A bare aedes on port 0, no authentication, no persistence beyond its defaults. */
async function bareAedes<T> (fn: (url: string) => Promise<T>): Promise<T> {
  const aedes = await Aedes.createBroker()
  const server = createServer(aedes.handle)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    return await fn(`mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`)
  } finally {
    await new Promise<void>((resolve) => { server.close(() => resolve()); aedes.close() })
  }
}

/** A street of `n` flats, each with a lone elder and a meter, plus 40 elders with door cameras. */
function streetCsv (n: number, cameras: number): string {
  const lines = ['code,parent,level,name,lat,lon', 'D1,,district,District,30.25,120.13', 'S1,D1,street,Street,30.24,120.10']
  const grids = Math.max(1, Math.ceil((n + cameras) / 200))
  for (let g = 0; g < grids; g++) {
    if (g % 10 === 0) lines.push(`C${g / 10},S1,community,Community ${g / 10},,`)
    lines.push(`G${g},C${Math.floor(g / 10)},grid,Grid ${g},,`, `B${g},G${g},building,Building ${g},30.24,120.10`)
  }
  for (let i = 0; i < n + cameras; i++) lines.push(`U${i},B${Math.floor(i / 200)},unit,Flat ${i},,`)
  return lines.join('\n') + '\n'
}

async function throughGridcare (load: Load, store: 'embedded' | 'postgres', seconds: number, generator: Generator, pgAdminUrl: string, profileDir: string | undefined, storeThread: boolean, timelineDir?: string, tickAt?: number): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'gridcare-bench-'))
  const db = store === 'postgres' ? await createScratchDatabase(pgAdminUrl, 'gridcare_bench') : undefined
  const config = loadConfig({ MQTT_PORT: '0', HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', DATA_DIR: dir, ADMIN_TOKEN: 'bench-admin-token-0123456789', ...(db ? { DATABASE_URL: db.url } : {}) })
  // The store's thread is profiled from its start to its end (its own file in the folder).
  if (profileDir && storeThread) process.env.GRIDCARE_STORE_PROF = profileDir
  // The store thread's side of the timeline: its tasks and GC pauses, epoch ms (gridcareTimeline has the start's).
  if (timelineDir) mkdirSync(timelineDir, { recursive: true })
  if (timelineDir && storeThread && store === 'embedded') {
    process.env.GRIDCARE_STORE_TIMELINE = join(timelineDir, `${load.key}-${store}-thread.tsv`)
    rmSync(process.env.GRIDCARE_STORE_TIMELINE, { force: true })
  }
  const gc = createGridcare({ config, logger: pino({ level: 'silent' }), embeddedStore: { worker: storeThread } })
  await gc.start()
  const cameras = 40
  // --tick-at: the housekeeping run inside the measured part (a run of it that fails fails the run, after the load)
  let ticking: NodeJS.Timeout | undefined
  let ticked: Promise<unknown> | undefined
  try {
    const api = async (method: string, url: string, body: unknown) => {
      const res = await gc.http.inject({ method: method as 'POST', url, payload: typeof body === 'string' ? body : JSON.stringify(body), headers: { authorization: 'Bearer bench-admin-token-0123456789', 'content-type': typeof body === 'string' ? 'text/csv' : 'application/json' } })
      if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`)
      return JSON.parse(res.body)
    }
    await api('POST', '/api/addresses/import', streetCsv(load.devices, cameras))
    await api('POST', '/api/workers', { id: 'w', name: 'Bench Worker', role: 'grid_worker', grids: Array.from({ length: Math.ceil((load.devices + cameras) / 200) }, (_, g) => `G${g}`) })
    const devices: LoadSpec['devices'] = []
    for (let i = 0; i < load.devices; i++) {
      await api('POST', '/api/subjects', { id: `e${i}`, kind: 'lone_elder', address: `U${i}` })
      const d = await api('POST', '/api/devices', { id: `m${i}`, kind: 'meter', subject: `e${i}` })
      devices.push({ username: d.username, password: d.password, topic: d.topics.telemetry })
    }
    const cams: { client: mqtt.MqttClient, topic: string, subject: string }[] = []
    for (let i = 0; i < cameras; i++) {
      const subject = `c${i}`
      await api('POST', '/api/subjects', { id: subject, kind: 'lone_elder', address: `U${load.devices + i}` })
      const d = await api('POST', '/api/devices', { id: `cam${i}`, kind: 'camera', subject })
      cams.push({ client: await mqtt.connectAsync(`mqtt://127.0.0.1:${gc.mqttPort}`, { username: d.username, password: d.password, reconnectPeriod: 0 }), topic: d.topics.events, subject })
    }

    // Falls under load: publish -> task, and alert -> task, per subject, in this process's clock.
    const sentAt = new Map<string, number>()
    const alertAt = new Map<string, number>()
    const toTask: number[] = [], alertToTask: number[] = []
    gc.events.on('alert.created', (a) => { if (a.subject) alertAt.set(a.subject, performance.now()) })
    gc.events.on('task.created', (t) => {
      const s = t.subject && sentAt.get(t.subject)
      if (s) toTask.push(performance.now() - s)
      const a = t.subject && alertAt.get(t.subject)
      if (a) alertToTask.push(performance.now() - a)
    })
    let rssMax = 0, fell = 0
    const loop = monitorEventLoopDelay({ resolution: 10 })
    const ingest = gc.components.ingest
    let before = { ...ingest.stats }
    const sampler = setInterval(() => { rssMax = Math.max(rssMax, process.memoryUsage().rss) }, 250)
    // The first falls wait for the devices to connect; then one every FALLS_EVERY_MS.
    const faller = setInterval(() => {
      const cam = cams[fell]
      if (!cam || gc.components.broker === undefined) return
      fell++
      sentAt.set(cam.subject, performance.now())
      cam.client.publish(cam.topic, JSON.stringify({ ts: Date.now(), event: 'fall', confidence: 0.95 }), { qos: 1 })
    }, FALLS_EVERY_MS)
    const sqlStats = new Map<string, { n: number, ms: number, max: number }>()
    if (process.env.BENCH_SQL) {
      const dbx = gc.components.db as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>
      for (const m of ['query', 'transaction', 'run'] as const) {
        const orig = dbx[m]!.bind(dbx)
        dbx[m] = async (...a: unknown[]) => {
          const k = m === 'query' ? String(a[0]).replace(/\s+/g, ' ').slice(0, 90) : m
          const t0 = performance.now()
          try { return await orig(...a) } finally { const e = sqlStats.get(k) ?? { n: 0, ms: 0, max: 0 }; const d = performance.now() - t0; e.n++; e.ms += d; e.max = Math.max(e.max, d); sqlStats.set(k, e) }
        }
      }
    }
    const timeline = timelineDir ? gridcareTimeline(gc) : undefined
    // Measured from the end of the generator's warm-up (its first second of publishing: LoadSpec.warmupSeconds).
    let cpu0 = process.cpuUsage()
    let main0 = mainThreadCpuS()
    let from = Date.now()
    let profiler: Promise<() => Promise<object>> | undefined
    const r = await generate(load, `mqtt://127.0.0.1:${gc.mqttPort}`, seconds, generator, devices, () => {
      loop.enable()
      before = { ...ingest.stats }
      cpu0 = process.cpuUsage()
      main0 = mainThreadCpuS()
      from = Date.now()
      timeline?.start()
      if (profileDir) profiler = startProfile()
      if (tickAt !== undefined) ticking = setTimeout(() => {
        const t = performance.now()
        // As the tick on the hour, the worst of them: a housekeeping of its own, which has not refreshed the daily this hour.
        ticked = createMaintenance({ db: gc.components.db, config, logger: pino({ level: 'silent' }) }).run().then(() => process.stderr.write(`housekeeping ${tickAt}s into the run: ${(performance.now() - t).toFixed(0)} ms\n`))
        ticked.catch(() => {}) // awaited after the load: not an unhandled rejection meanwhile
      }, tickAt * 1000)
    }, timelineDir && join(timelineDir, `${load.key}-${store}-latency.tsv`))
    if (profiler) writeFileSync(join(profileDir!, `e2e-${load.key}-${store}-${Date.now()}.cpuprofile`), JSON.stringify(await (await profiler)()))
    const cpu = process.cpuUsage(cpu0)
    const mainCpu = mainThreadCpuS() - main0
    loop.disable()
    clearTimeout(ticking)
    const tick = (ticked !== undefined && gc.components.db.timescale) || heldTick(from, Date.now())
    await ticked
    if (timeline) writeFileSync(join(timelineDir!, `${load.key}-${store}-events.tsv`), timeline.stop())
    if (sqlStats.size) console.error([...sqlStats].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25).map(([k, v]) => `${String(v.n).padStart(7)} ${v.ms.toFixed(0).padStart(8)} ms max ${v.max.toFixed(0).padStart(6)}  ${k}`).join('\n'))
    clearInterval(faller)
    clearInterval(sampler)
    const committed = Number((await gc.components.db.query<{ n: string }>('SELECT count(*) AS n FROM readings')).rows[0]!.n)
    await Promise.all(cams.map((c) => c.client.endAsync()))
    const batches = ingest.stats.batches - before.batches
    return {
      load: load.name, where: `gridcare, ${store}${store === 'embedded' && !storeThread ? ' (PGlite on the main thread)' : ''}`, r, rssMb: rssMax / 2 ** 20,
      cpuCores: (cpu.user + cpu.system) / 1e6 / r.seconds, mainCores: mainCpu / r.seconds, loopP99: loop.percentile(99) / 1e6,
      batches, batchRows: (ingest.stats.batchRows - before.batchRows) / batches, batchMs: (ingest.stats.batchMs - before.batchMs) / batches, committed, taskP99: p99(toTask), alertToTaskP99: p99(alertToTask), falls: fell, tasks: toTask.length, tick }
  } finally {
    clearTimeout(ticking)
    await ticked?.catch(() => {})
    delete process.env.GRIDCARE_STORE_TIMELINE
    await gc.stop()
    rmSync(dir, { recursive: true, force: true })
    await db?.drop()
  }
}

/**
 * What gridcare did when, ms from the measured part's start (`--timeline`): each batch write
 * (from its start to the answer heard), each GC pause of the main thread (V8's kind: 1 scavenge,
 * 4 mark-compact, 8 incremental marking), and each turn of the event loop over 30 ms (a 5 ms
 * timer that came late: the loop was busy, reading sockets mostly). Tab-separated; the `start`
 * line gives the start in epoch ms, as the store thread's own file (`-thread.tsv`) counts.
 */
function gridcareTimeline (gc: Gridcare) {
  const lines = ['at_ms\twhat\tms\tkind']
  let t0 = performance.now()
  const at = (t: number) => (t - t0).toFixed(0)
  const gcs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) lines.push(`${at(e.startTime)}\tgc\t${e.duration.toFixed(1)}\t${(e as unknown as { detail?: { kind?: number } }).detail?.kind ?? ''}`)
  })
  let last = performance.now()
  const turns = setInterval(() => {
    const now = performance.now()
    if (now - last > 30) lines.push(`${at(last)}\tturn\t${(now - last).toFixed(1)}\t`)
    last = now
  }, 5)
  const db = gc.components.db as { run: (...a: never[]) => Promise<unknown> }
  const run = db.run
  db.run = async (...a) => {
    const s = performance.now()
    try { return await run.apply(gc.components.db, a) } finally { lines.push(`${at(s)}\twrite\t${(performance.now() - s).toFixed(1)}\t`) }
  }
  return {
    start () {
      t0 = performance.now()
      lines.length = 1
      lines.push(`0\tstart\t\t${(performance.timeOrigin + t0).toFixed(0)}`) // epoch ms: the store thread's file counts from it
      gcs.observe({ entryTypes: ['gc'] })
    },
    stop (): string {
      gcs.disconnect()
      clearInterval(turns)
      db.run = run
      return lines.join('\n') + '\n'
    },
  }
}

/**
 * Whether gridcare's housekeeping ran inside [from, to]: store/maintenance.ts runs it by cron at every
 * fifth minute of the clock (the aggregates refreshed and, on the embedded store, a checkpoint), a
 * pause of the main thread that a 10 s run holds or not by chance.
 */
function heldTick (from: number, to: number): boolean {
  for (let t = Math.ceil(from / 60_000) * 60_000; t <= to; t += 60_000) if (new Date(t).getMinutes() % 5 === 0) return true
  return false
}

/** Starts the V8 profiler in this process; the returned function stops it and gives the profile. */
async function startProfile (): Promise<() => Promise<object>> {
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 1000 })
  await session.post('Profiler.start')
  if (process.env.BENCH_HEAP) await session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
  return async () => {
    const { profile } = await session.post('Profiler.stop')
    if (process.env.BENCH_HEAP) writeFileSync(process.env.BENCH_HEAP, JSON.stringify((await session.post('HeapProfiler.stopSampling')).profile))
    session.disconnect()
    return profile
  }
}

/**
 * CPU seconds of this process's main thread (Linux: /proc/self/task/PID/stat, 10 ms ticks); NaN
 * elsewhere. cpu µs/ack counts every thread (the store's own, GC helpers); this the main one.
 */
function mainThreadCpuS (): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) / 100 // utime, stime (fields 14, 15)
  } catch {
    return NaN
  }
}

const p99 = (xs: number[]) => xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(0.99 * xs.length))]!


function formatRows (rows: Row[], generator: Generator): string {
  const head = ['load', 'through', 'acked', 'acked/s', 'p50 ms', 'p99 ms', 'committed', 'fall->task p99 ms', 'alert->task p99 ms', 'RSS MB',
    'cpu cores', 'cpu µs/ack', 'main µs/ack', 'loop p99 ms', 'batches', 'rows/batch', 'write ms', 'gen cpu']
  const f = (n: number | undefined, d = 0) => n === undefined || Number.isNaN(n) ? '' : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })
  const body = rows.map((x) => [x.load, x.where, f(x.r.acked), f(rate(x.r)), f(x.r.p50, 1), f(x.r.p99, 1), f(x.committed),
    x.falls !== undefined ? `${f(x.taskP99, 1)} (${x.tasks}/${x.falls})` : '', f(x.alertToTaskP99, 1), f(x.rssMb),
    f(x.cpuCores, 2), f(x.cpuCores === undefined ? undefined : x.cpuCores * x.r.seconds * 1e6 / x.r.acked), f(x.mainCores === undefined ? undefined : x.mainCores * x.r.seconds * 1e6 / x.r.acked), f(x.loopP99, 1), f(x.batches), f(x.batchRows), f(x.batchMs, 1), f(x.r.cpuCores, 2)])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)))
  const line = (cells: string[]) => cells.map((c, i) => i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)).join('  ')
  const warm = rows.map((x) => `${x.load}, ${x.where}: ${f(x.r.warmupAcked)} acked, p99 ${f(x.r.warmupP99, 1)} ms`)
  const ticked = rows.filter((x) => x.tick).map((x) => `${x.load}, ${x.where}`)
  return ['', `End to end: QoS 1 readings acknowledged once stored (publish -> PUBACK = publish -> commit); load generator: ${generator}`, line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line), '',
    `Not counted above: the readings published in the first second (every device publishing all it may at once; in gridcare each device's register read from the store):`, ...warm,
    ...(ticked.length > 0 ? ['', 'Held gridcare\'s housekeeping (every fifth minute by the clock: the aggregates refreshed, a checkpoint on the embedded store), so not like the others:', ...ticked] : []), ''].join('\n')
}
