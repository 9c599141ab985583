/**
 * The failover proof (`npm run failover`, and its short form in the tests): a RabbitMQ
 * cluster from the Debian package on spare ports, gridcare workers as child processes on one
 * PostgreSQL database, simulated meters and door cameras; kills a worker with SIGKILL, later a
 * broker node, and counts from the database what was acknowledged and what arrived.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { createScratchDatabase } from '../../store/scratch.ts'
import { freePort, startCluster, type Cluster } from '../rabbit-node.ts'
import { partitionOf } from '../partition.ts'
import { startBalancer, type Balancer } from './lb.ts'
import { createLoad, injectFall, type LoadDevice } from './load.ts'
import { connectionClosedAt, latest, partitionTimes } from './phases.ts'

export interface ProofOptions {
  nodes: number
  workers: number
  partitions: number
  streets: number
  unitsPerStreet: number
  /** Length of each phase (before, after the worker kill, after the node kill), ms. */
  phaseMs: number
  /** Kill a RabbitMQ node after the worker (needs nodes >= 3 for quorum). */
  killNode: boolean
  /** Database to use (kept); default a fresh one on PG_ADMIN_URL, dropped at the end. */
  databaseUrl?: string
  adminUrl?: string
  /** Readings per message and real ms between a meter's messages; default 2 and 500. */
  perMessage?: number
  intervalMs?: number
  /** Where the workers' logs go (kept); default the cluster's data dir (removed). */
  logDir?: string
  /** A running cluster whose auth URL points at `balancer` (kept running); default a new one. */
  cluster?: Cluster
  balancer?: Balancer
  log?: (line: string) => void
}

export interface ProofResult {
  acked: number
  lost: number
  duplicateAlerts: number
  missedAnomalies: number
  /** Seconds until a reading of every street of the killed worker, and after the node kill of every street, was stored again (the larger). */
  failoverSeconds: number
  readingsPerSecondBefore: number
  readingsPerSecondAfter: number
  /** Partitions of the killed worker, and who holds each after. */
  killedPartitions: number[]
  partitionsAfter: Record<string, string>
  /** Seconds after the worker's kill -9 until ...: the broker closed its connection; its last partition was delivered to another worker; rebuilt there; a reading of each of its streets stored. */
  workerPhases: { connectionClosed: number | null, delivered: number, rebuilt: number, stored: number }
  /** Seconds after the node's kill -9 until a reading of every street was stored again (0 without a node kill). */
  nodeStored: number
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const ADMIN = 'failover-admin-token-0123456789'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Worker { n: number, port: number, child: ChildProcess, logFile: string }

async function health (port: number): Promise<{ status: number, partitions: string } | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) })
    return { ...(await res.json() as { partitions: string }), status: res.status }
  } catch { return null }
}

async function api (port: number, method: string, url: string, body?: unknown, contentType = 'application/json') {
  const res = await fetch(`http://127.0.0.1:${port}${url}`, {
    method, headers: { authorization: `Bearer ${ADMIN}`, ...(body !== undefined ? { 'content-type': contentType } : {}) },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  })
  const text = await res.text()
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${text}`)
  return JSON.parse(text)
}


export async function runProof (o: ProofOptions): Promise<ProofResult> {
  const log = (line: string) => o.log?.(`${new Date().toISOString()} ${line}`)
  const created = o.databaseUrl ? undefined : await createScratchDatabase(o.adminUrl ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', 'gridcare_failover')
  const dbUrl = o.databaseUrl ?? created!.url
  const db = new pg.Client({ connectionString: dbUrl })
  let lb: Balancer | undefined
  let cluster: Cluster | undefined
  const workers: Worker[] = []
  let load: ReturnType<typeof createLoad> | undefined
  try {
    lb = o.balancer ?? await startBalancer([])
    log(`starting ${o.nodes} RabbitMQ node(s)`)
    cluster = o.cluster ?? await startCluster({ size: o.nodes, authUrl: `http://127.0.0.1:${lb.port}/mqtt-auth`, exchange: 'gc.mqtt' })
    const amqp = cluster.nodes.map((n) => n.amqpUrl)
    const mqttNodes = cluster.nodes.map((n) => n.mqttUrl)
    log(`cluster up: ${cluster.nodes.map((n) => n.node).join(', ')}`)
    const dir = o.logDir ?? cluster.dir
    const balancer = lb

    // The first alone (it applies the migrations), then the others together; each starts on a different node.
    const startWorker = async (n: number) => {
      const port = await freePort()
      const logFile = join(dir, `worker${n}-${process.pid}-${Date.now()}.log`)
      const out = openSync(logFile, 'a')
      const child = spawn(process.execPath, ['--import', 'tsx', 'bin/start.ts'], {
        cwd: ROOT, stdio: ['ignore', out, out],
        env: {
          ...process.env, DATABASE_URL: dbUrl, MQTT_PORT: '0', HTTP_PORT: String(port), HTTP_HOST: '127.0.0.1', ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'info',
          RABBITMQ_URL: [...amqp.slice(n % amqp.length), ...amqp.slice(0, n % amqp.length)].join(','), RABBITMQ_PARTITIONS: String(o.partitions),
        },
      })
      closeSync(out)
      workers.push({ n, port, child, logFile })
      balancer.targets.push(port)
      const deadline = Date.now() + 90_000
      while ((await health(port))?.status !== 200) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`worker ${n} did not start: ${readFileSync(logFile, 'utf8').slice(-1500)}`)
        await sleep(300)
      }
      log(`worker ${n} up on http port ${port} (pid ${child.pid})`)
    }
    await startWorker(0)
    await Promise.all(Array.from({ length: o.workers - 1 }, (_, i) => startWorker(i + 1)))
    workers.sort((a, b) => a.n - b.n)

    // A street per partition-ish: district, streets, a community, grid and building each, units.
    const w0 = workers[0]!.port
    const rows = ['code,parent,level,name,lat,lon', 'D1,,district,District,30.25,120.13']
    for (let s = 1; s <= o.streets; s++) {
      rows.push(`S${s},D1,street,Street ${s},,`, `C${s},S${s},community,Community ${s},,`, `G${s},C${s},grid,Grid ${s},,`, `B${s},G${s},building,Building ${s},,`)
      for (let u = 1; u <= o.unitsPerStreet; u++) rows.push(`U${s}_${u},B${s},unit,Flat ${u},,`)
    }
    await api(w0, 'POST', '/api/addresses/import', rows.join('\n') + '\n', 'text/csv')
    const meters: LoadDevice[] = []
    const cameras: LoadDevice[] = []
    for (let s = 1; s <= o.streets; s++) {
      await api(w0, 'POST', '/api/workers', { id: `gw${s}`, name: `Worker ${s}`, role: 'grid_worker', grids: [`G${s}`] })
      for (let u = 1; u <= o.unitsPerStreet; u++) {
        const subject = `e${s}_${u}`
        await api(w0, 'POST', '/api/subjects', { id: subject, kind: 'lone_elder', address: `U${s}_${u}` })
        const m = await api(w0, 'POST', '/api/devices', { id: `m${s}_${u}`, kind: 'meter', subject })
        const c = await api(w0, 'POST', '/api/devices', { id: `cam${s}_${u}`, kind: 'camera', subject })
        meters.push({ id: m.id, username: m.username, password: m.password, topic: m.topics.telemetry, subject })
        cameras.push({ id: c.id, username: c.username, password: c.password, topic: c.topics.events, subject })
      }
    }
    log(`seeded ${o.streets} streets, ${meters.length} meters, ${cameras.length} cameras`)

    await db.connect()
    const startTs = Math.floor((Date.now() - 60 * 86_400_000) / 900_000) * 900_000
    // Below what the workers commit on this shared machine: a backlog would be measured as failover time.
    load = createLoad({ nodes: mqttNodes, meters, startTs, perMessage: o.perMessage ?? 2, intervalMs: o.intervalMs ?? 500 })
    load.start()
    const injected: string[] = []
    const inject = async (k: number) => {
      const cam = cameras[k % cameras.length]!
      if (injected.includes(cam.subject)) return
      if (await injectFall(cam, mqttNodes, k, Date.now())) injected.push(cam.subject)
    }
    const committed = async (from: number, to: number) => Number((await db.query<{ n: string }>(
      'SELECT count(*) AS n FROM readings WHERE received_at >= $1 AND received_at < $2', [new Date(from), new Date(to)])).rows[0]!.n)

    // Before: let the partitions spread over the workers, then measure.
    await sleep(o.phaseMs)
    await inject(0)
    const b0 = Date.now()
    await sleep(o.phaseMs)
    const before = await committed(b0, Date.now()) / ((Date.now() - b0) / 1000)
    await inject(1)

    // Kill -9 the worker holding the most partitions.
    const held = await Promise.all(workers.map(async (w) => ({ w, parts: ((await health(w.port))?.partitions ?? 'none').split(',').filter((x) => x !== 'none').map(Number) })))
    held.sort((a, b) => b.parts.length - a.parts.length)
    const victim = held[0]!
    log(`partitions before: ${held.map((h) => `worker ${h.w.n}: ${h.parts.join(',') || 'none'}`).join('; ')}`)
    const tKill = Date.now()
    victim.w.child.kill('SIGKILL')
    lb.targets.splice(lb.targets.indexOf(victim.w.port), 1)
    log(`killed worker ${victim.w.n} (kill -9) holding partitions ${victim.parts.join(',')}`)
    // Consumed again: a surviving worker lists a partition once RabbitMQ delivered to it.
    const survivors = workers.filter((w) => w !== victim.w)
    const phaseEnd = Date.now() + o.phaseMs
    let consumedAgain = Infinity
    const watch = (async () => {
      while (Date.now() < phaseEnd + 60_000) {
        const now = new Set((await Promise.all(survivors.map((w) => health(w.port)))).flatMap((h) => (h?.partitions ?? '').split(',').filter((x) => x !== '' && x !== 'none').map(Number)))
        if (victim.parts.every((p) => now.has(p))) { consumedAgain = (Date.now() - tKill) / 1000; return }
        await sleep(200)
      }
    })()
    await inject(2)
    await sleep(Math.max(0, phaseEnd - Date.now()))
    await watch
    log(`every partition of the killed worker listed by another's /healthz within ${consumedAgain.toFixed(2)} s`)
    await inject(3)

    let tNodeKill = 0
    if (o.killNode && cluster.nodes.length >= 3) {
      const leaders = await cluster.nodes[0]!.ctl('list_queues', 'name', 'leader', '--no-table-headers', '--quiet').catch(() => '')
      const count = new Map<string, number>()
      for (const line of leaders.split('\n')) { const l = line.trim().split(/\s+/)[1]; if (l) count.set(l, (count.get(l) ?? 0) + 1) }
      const node = [...cluster.nodes].sort((a, b) => (count.get(b.node) ?? 0) - (count.get(a.node) ?? 0))[0]!
      tNodeKill = Date.now()
      node.kill()
      log(`killed RabbitMQ node ${node.node} (kill -9), leader of ${count.get(node.node) ?? 0} queues`)
      await inject(4)
      await sleep(o.phaseMs)
      await inject(5)
    }
    const a0 = Date.now()
    await sleep(o.phaseMs)
    const after = await committed(a0, Date.now()) / ((Date.now() - a0) / 1000)
    await inject(6)
    await load.stop()
    log(`load stopped: ${load.ackedTotal} readings acknowledged by the broker`)

    // Everything acknowledged must arrive: wait while the queues drain (the count still grows).
    const lostNow = async () => {
      const { rows } = await db.query<{ device_id: string, ts: Date }>('SELECT device_id, ts FROM readings WHERE device_id = ANY($1)', [[...load!.acked.keys()]])
      const have = new Set(rows.map((r) => `${r.device_id}|${r.ts.getTime()}`))
      let lost = 0
      for (const [dev, ts] of load!.acked) for (const t of ts) if (!have.has(`${dev}|${t}`)) lost++
      return { lost, stored: rows.length }
    }
    let { lost, stored } = await lostNow()
    for (let still = 0, i = 0; lost > 0 && still < 5 && i < 150; i++) {
      await sleep(2000)
      const now = await lostNow()
      still = now.stored === stored ? still + 1 : 0
      ;({ lost, stored } = now)
    }
    const missedNow = async () => {
      const { rows } = await db.query<{ subject: string }>(`SELECT DISTINCT subject FROM alerts WHERE kind = 'fall' AND subject = ANY($1)`, [injected])
      return injected.length - rows.length
    }
    let missed = await missedNow()
    for (let i = 0; i < 15 && missed > 0; i++) { await sleep(1000); missed = await missedNow() }
    const dups = Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM (SELECT 1 FROM alerts WHERE source = 'detector'
      GROUP BY subject, kind, started_at HAVING count(*) > 1) d`)).rows[0]!.n)
    const falls = Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM alerts WHERE kind = 'fall'`)).rows[0]!.n)

    // Seconds until every street of the killed worker (and, after a node kill, every street) was consumed again.
    const firstAfter = async (t: number, streets: string[]) => {
      const { rows } = await db.query<{ street: string, first: Date }>(`SELECT d.street, min(r.received_at) AS first FROM readings r
        JOIN devices d ON d.id = r.device_id WHERE r.received_at > $1 AND d.street = ANY($2) GROUP BY d.street`, [new Date(t), streets])
      if (rows.length < streets.length) return Infinity
      return Math.max(...rows.map((r) => r.first.getTime() - t)) / 1000
    }
    const allStreets = Array.from({ length: o.streets }, (_, i) => `S${i + 1}`)
    const victimStreets = allStreets.filter((s) => victim.parts.includes(partitionOf(s, o.partitions)))
    const workerFailover = victimStreets.length > 0 ? await firstAfter(tKill, victimStreets) : 0
    const nodeFailover = tNodeKill ? await firstAfter(tNodeKill, allStreets) : 0
    // Where the time after the worker kill went: the broker's and the workers' logs.
    const closedAt = connectionClosedAt(cluster.nodes.map((n) => n.logFile), `gridcare-${victim.w.child.pid}`, tKill - 1000)
    const moves = partitionTimes(survivors.map((w) => w.logFile), tKill)
    const workerPhases = {
      connectionClosed: closedAt === null ? null : Math.round((closedAt - tKill) / 10) / 100,
      delivered: latest(tKill, victim.parts.map((p) => moves.delivered.get(p))),
      rebuilt: latest(tKill, victim.parts.map((p) => moves.rebuilt.get(p))),
      stored: Math.round(workerFailover * 100) / 100,
    }
    // Consumed again = a reading of every street concerned stored again: after the worker kill
    // its streets, after the node kill all (workers do not see a leader move, only its effect).
    const failover = Math.max(workerFailover, nodeFailover)
    log(`after the worker kill (s): the broker closed its connection +${workerPhases.connectionClosed ?? '?'}; its partitions delivered to others +${workerPhases.delivered} (healthz poll: +${consumedAgain.toFixed(2)}); rebuilt there +${workerPhases.rebuilt}; a reading of each of its streets stored again +${workerPhases.stored}`)
    log(`after the node kill (s): a reading of every street stored again +${nodeFailover.toFixed(2)}`)
    const partitionsAfter: Record<string, string> = {}
    for (const w of workers) if (w !== victim.w) partitionsAfter[`worker${w.n}`] = (await health(w.port))?.partitions ?? 'down'
    log(`partitions after: ${JSON.stringify(partitionsAfter)}; falls injected ${injected.length}, fall alerts ${falls}`)
    return {
      acked: load.ackedTotal, lost, duplicateAlerts: dups, missedAnomalies: missed, failoverSeconds: Math.round(failover * 100) / 100,
      readingsPerSecondBefore: Math.round(before), readingsPerSecondAfter: Math.round(after),
      killedPartitions: victim.parts, partitionsAfter, workerPhases, nodeStored: Math.round(nodeFailover * 100) / 100,
    }
  } finally {
    await load?.stop().catch(() => {})
    await Promise.all(workers.map(async (w) => {
      if (w.child.exitCode !== null || w.child.signalCode !== null) return
      const exited = new Promise((r) => w.child.once('exit', r))
      w.child.kill('SIGTERM')
      await Promise.race([exited, sleep(15_000)])
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL')
    }))
    if (!o.cluster) await cluster?.stop().catch(() => {})
    if (!o.balancer) await lb?.close().catch(() => {})
    else for (const w of workers) if (lb?.targets.includes(w.port)) lb.targets.splice(lb.targets.indexOf(w.port), 1)
    await db.end().catch(() => {})
    await created?.drop().catch(() => {})
  }
}
