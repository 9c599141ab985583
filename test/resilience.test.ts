import { afterAll, beforeAll, describe, test } from 'vitest'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import pg from 'pg'
import { createGridcare, type Gridcare } from '../app/index.ts'
import { loadConfig } from '../config/index.ts'
import { generateReadings } from '../simulators/index.ts'
import { ADMIN, connectDevice, DAY, freshDatabase, HOUR, silent, STORES, STREET_CSV } from './helpers.ts'

async function call (gc: Gridcare, method: string, url: string, body?: unknown) {
  const res = await gc.http.inject({ method: method as 'POST', url, payload: typeof body === 'string' ? body : JSON.stringify(body), headers: { authorization: `Bearer ${ADMIN}`, 'content-type': typeof body === 'string' ? 'text/csv' : 'application/json' } })
  return JSON.parse(res.body)
}

for (const store of STORES) {
  describe(`restart (${store})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridcare-restart-'))
    let server: Awaited<ReturnType<typeof freshDatabase>> | undefined
    let gc: Gridcare | undefined
    const env = () => ({ MQTT_PORT: '0', HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', DATA_DIR: dir, ADMIN_TOKEN: ADMIN, ...(server ? { DATABASE_URL: server.url } : {}) })
    beforeAll(async () => { if (store === 'postgres') server = await freshDatabase() })
    afterAll(async () => { await gc?.stop(); await server?.drop(); rmSync(dir, { recursive: true, force: true }) })

    test('after a restart the detectors come back from their snapshot (or warm up from hourly energy) and still catch an elder going quiet', async () => {
      const FROM = Date.UTC(2026, 2, 1) - 8 * HOUR
      const QUIET = FROM + 20 * DAY + 9 * HOUR
      const readings = generateReadings({ subjectKind: 'lone_elder', seed: 4, scenarios: [{ kind: 'incapacitated', at: QUIET }] }, FROM, FROM + 22 * DAY)
      gc = createGridcare({ config: loadConfig(env()), logger: silent })
      await gc.start()
      await call(gc, 'POST', '/api/addresses/import', STREET_CSV)
      await call(gc, 'POST', '/api/workers', { id: 'w1', name: 'W', role: 'grid_worker', grids: ['G1'] })
      await call(gc, 'POST', '/api/subjects', { id: 'e1', kind: 'lone_elder', address: 'U101' })
      const dev = await call(gc, 'POST', '/api/devices', { id: 'm1', kind: 'meter', subject: 'e1' })
      const send = async (g: Gridcare, rs: typeof readings) => {
        const c = await connectDevice(`mqtt://127.0.0.1:${g.mqttPort}`, dev)
        for (let i = 0; i < rs.length; i += 96) await c.publishAsync(dev.topics.telemetry, JSON.stringify({ readings: rs.slice(i, i + 96) }), { qos: 1 })
        await c.endAsync()
      }
      const split = readings.findIndex((r) => r.ts >= FROM + 20 * DAY)
      await send(gc, readings.slice(0, split))
      const inactivity = (g: Gridcare) => g.components.detectors.detectors.find((d) => d.name === 'inactivity')!
      const before = JSON.stringify(inactivity(gc).snapshot('e1'))
      await gc.stop()

      gc = createGridcare({ config: loadConfig(env()), logger: silent })
      await gc.start()
      const saved = await gc.components.db.query<{ subject: string, detector: string }>('SELECT subject, detector FROM detector_state ORDER BY detector')
      assert.deepEqual(saved.rows.map((r) => `${r.detector}:${r.subject}`), ['fusion:e1', 'inactivity:e1', 'meter_health:e1', 'night_load:e1'], 'the detector state was snapshotted at stop')
      assert.deepEqual(JSON.parse(JSON.stringify(inactivity(gc).snapshot('e1'))), JSON.parse(before), 'and restored as it was (field order aside)')
      await send(gc, readings.slice(split))
      await gc.components.alerts.idle()
      const alerts = await call(gc, 'GET', '/api/alerts?subject=e1')
      assert.equal(alerts.length, 1, 'a detector that forgot would still be learning and say nothing')
      assert.ok(Math.abs(Date.parse(alerts[0].startedAt) - QUIET) <= 2 * HOUR)
      const energy = await call(gc, 'GET', `/api/subjects/e1/energy?from=${new Date(FROM).toISOString()}&to=${new Date(FROM + 22 * DAY).toISOString()}&bucket=day`)
      assert.equal(energy.length, 22)
      assert.ok(energy.slice(1, 20).every((d: { amount: number }) => d.amount > 1), 'daily energy from the aggregates')
    })
  })
}

describe('a lost store connection (postgres)', () => {
  let server: Awaited<ReturnType<typeof freshDatabase>>
  let gc: Gridcare
  const dir = mkdtempSync(join(tmpdir(), 'gridcare-drop-'))
  beforeAll(async () => {
    server = await freshDatabase()
    gc = createGridcare({ config: loadConfig({ MQTT_PORT: '0', HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', DATA_DIR: dir, ADMIN_TOKEN: ADMIN, DATABASE_URL: server.url }), logger: silent })
    await gc.start()
  })
  afterAll(async () => { await gc.stop(); await server.drop(); rmSync(dir, { recursive: true, force: true }) })

  test('connections killed in the middle of ingest lose no acknowledged reading', async () => {
    await call(gc, 'POST', '/api/addresses/import', STREET_CSV)
    const dev = await call(gc, 'POST', '/api/devices', { id: 'm9', kind: 'meter', address: 'U101' })
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${gc.mqttPort}`, { username: dev.username, password: dev.password, reconnectPeriod: 200, clean: false, clientId: 'm9' })
    const dbName = new URL(server.url).pathname.slice(1)
    const killer = new pg.Client({ connectionString: server.url })
    await killer.connect()
    let kills = 0
    const killing = (async () => {
      for (let i = 0; i < 8; i++) {
        await new Promise((r) => setTimeout(r, 150))
        const r = await killer.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [dbName])
        kills += r.rowCount ?? 0
      }
    })()
    const acked: number[] = []
    const T0 = Date.UTC(2026, 5, 1)
    for (let i = 0; i < 400; i++) {
      const ts = T0 + i * 15 * 60_000
      // A device keeps a reading until it is acknowledged; after a dropped connection it sends it again.
      for (;;) {
        try {
          await client.publishAsync(dev.topics.telemetry, JSON.stringify({ ts, kwh: 100 + i * 0.1 }), { qos: 1 })
          acked.push(ts)
          break
        } catch {
          await new Promise((r) => setTimeout(r, 100))
        }
      }
    }
    await killing
    await killer.end()
    await client.endAsync()
    assert.ok(kills > 0, 'store connections were killed during ingest')
    const { rows } = await gc.components.db.query<{ ts: Date }>("SELECT ts FROM readings WHERE device_id = 'm9'")
    const stored = new Set(rows.map((r) => r.ts.getTime()))
    assert.deepEqual(acked.filter((t) => !stored.has(t)), [], 'every acknowledged reading is stored')
    assert.equal(stored.size, 400)
  })
})
