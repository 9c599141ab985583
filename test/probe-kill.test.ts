/**
 * kill -9 of gridcare mid-stream loses no acknowledged reading (issue 11), on the embedded
 * store and on PostgreSQL. gridcare runs as a child process, as an operator starts it; meters
 * publish QoS 1 readings (single ones and batches of 10) and record every PUBACK; the process
 * is killed with SIGKILL at a random moment of the stream and started again on the same
 * DATA_DIR, several times; then every acknowledged reading must be in the store.
 * Short form here; longer: PROBE_KILLS=10 PROBE_KILL_DEVICES=10 npx vitest run test/probe-kill.test.ts
 */
import { afterAll, describe, test } from 'vitest'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { loadConfig } from '../config/index.ts'
import { openStore } from '../store/index.ts'
import { freshDatabase, silent, STORES, STREET_CSV } from './helpers.ts'
import { startChild, type Running } from './running.ts'
import { mulberry32 as rng } from '../simulators/random.ts'

/** Kills per store; short form 2 on the embedded store (each restart opens it anew, ~20 s on these machines), 3 on PostgreSQL. */
const killsFor = (store: string) => Number(process.env.PROBE_KILLS ?? (store === 'embedded' ? 2 : 3))
const DEVICES = Number(process.env.PROBE_KILL_DEVICES ?? 4)
/** Publishes a meter keeps unacknowledged at once (MQTT.js sends them without waiting). */
const WINDOW = 16
const T0 = Date.UTC(2026, 2, 1)
const Q = 15 * 60_000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))


type Dev = { id: string, username: string, password: string, topics: { telemetry: string } }

/** One meter's stream until `stop()`: every acknowledged reading's ts goes into `acked`. */
function stream (url: string, dev: Dev, next: { n: number }, acked: Set<string>) {
  let stopped = false
  let inFlight = 0
  let sent = 0
  const client = mqtt.connect(url, { username: dev.username, password: dev.password, clientId: dev.id, reconnectPeriod: 0, connectTimeout: 10_000 })
  client.on('error', () => {})
  const running = (async () => {
    await new Promise<void>((resolve) => { client.once('connect', () => resolve()); client.once('close', () => resolve()) })
    while (!stopped && client.connected) {
      if (inFlight >= WINDOW) { await sleep(2); continue }
      // Every fifth message a batch of ten readings; acknowledged means all ten are stored.
      const count = sent % 5 === 4 ? 10 : 1
      const ns = Array.from({ length: count }, () => next.n++)
      const readings = ns.map((n) => ({ ts: T0 + n * Q, kwh: n * 0.1 }))
      const payload = JSON.stringify(count === 1 ? readings[0] : { readings })
      inFlight++
      sent++
      client.publish(dev.topics.telemetry, payload, { qos: 1 }, (err) => {
        inFlight--
        if (!err) for (const n of ns) acked.add(`${dev.id}@${T0 + n * Q}`)
      })
      if (sent % 4 === 0) await sleep(1)
    }
  })()
  return {
    get connected () { return client.connected },
    async stop () { stopped = true; await running; client.end(true) },
  }
}

for (const store of STORES) {
  describe(`kill -9 mid-stream (${store})`, () => {
    const KILLS = killsFor(store)
    const dir = mkdtempSync(join(tmpdir(), 'gridcare-kill-'))
    let server: Awaited<ReturnType<typeof freshDatabase>> | undefined
    let gc: Running | undefined
    afterAll(async () => {
      gc?.child.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
      await server?.drop()
    })

    test(`${KILLS} kills of ${DEVICES} streaming meters: every acknowledged reading is stored, every restart succeeds`, { timeout: 1_800_000 }, async () => {
      server = store === 'postgres' ? await freshDatabase() : undefined
      const env = { DATA_DIR: dir, ...(server ? { DATABASE_URL: server.url } : {}) }
      const r = rng(11)
      gc = await startChild(env)
      assert.equal((await gc.api('POST', '/api/addresses/import', STREET_CSV)).status, 200)
      const devs: Dev[] = []
      for (let i = 0; i < DEVICES; i++) {
        const d: { status: number, body: Dev } = await gc.api('POST', '/api/devices', { id: `k${i}`, kind: 'meter', address: i % 2 ? 'U101' : 'U201' })
        assert.equal(d.status, 201, JSON.stringify(d.body))
        devs.push(d.body)
      }
      const next = devs.map(() => ({ n: 0 }))
      const acked = new Set<string>()
      let failedRestarts = 0
      const killedAfter: number[] = []
      for (let k = 0; k < KILLS; k++) {
        const url = `mqtt://127.0.0.1:${gc.mqttPort}`
        const streams = devs.map((d, i) => stream(url, d, next[i]!, acked))
        const before = acked.size
        // Kill only once readings are flowing, at a random moment 0.2-2.2 s later.
        for (let i = 0; i < 2000 && acked.size === before; i++) await sleep(10)
        const ms = 200 + Math.floor(r() * 2000)
        await sleep(ms)
        killedAfter.push(ms)
        gc.child.kill('SIGKILL')
        await gc.exited
        await Promise.all(streams.map((s) => s.stop()))
        // Started again on the same DATA_DIR (and database); a failed start is counted, then tried once more.
        gc = await startChild(env).catch(async (err: Error) => {
          failedRestarts++
          console.log(`probe: kill -9 (${store}): restart after kill ${k + 1} failed: ${err.message.split('\n').slice(0, 3).join(' | ')}`)
          return startChild(env)
        })
      }
      const tried = next.reduce((s, x) => s + x.n, 0)
      gc.child.kill('SIGTERM')
      await gc.exited
      gc = undefined
      const db = await openStore(loadConfig({ DATA_DIR: dir, ...(server ? { DATABASE_URL: server.url } : {}) }), silent)
      let stored: Set<string>
      try {
        const { rows } = await db.query<{ device_id: string, ts: Date }>("SELECT device_id, ts FROM readings WHERE device_id LIKE 'k%'")
        stored = new Set(rows.map((x) => `${x.device_id}@${new Date(x.ts).getTime()}`))
      } finally {
        await db.close()
      }
      const lost = [...acked].filter((key) => !stored.has(key))
      console.log(`probe: kill -9 mid-stream (${store}): ${KILLS} kills (after ${killedAfter.join(', ')} ms of readings), ${DEVICES} meters: ` +
        `readings sent ${tried}, acked ${acked.size}, stored ${stored.size}, acked lost ${lost.length}; restarts failed ${failedRestarts}`)
      assert.ok(acked.size > 0)
      assert.deepEqual(lost.slice(0, 10), [], 'every acknowledged reading is stored')
      assert.equal(failedRestarts, 0, 'every restart on the same DATA_DIR succeeds')
    })
  })
}
