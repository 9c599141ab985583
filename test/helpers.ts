import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import pino from 'pino'
import { createGridcare, type Gridcare } from '../app/index.ts'
import { loadConfig } from '../config/index.ts'
import { createScratchDatabase } from '../store/scratch.ts'

export const ADMIN = 'test-admin-token-0123456789'
export const silent = pino({ level: process.env.TEST_LOG ?? 'silent' })

export interface Harness {
  gc: Gridcare
  /** HTTP call as the admin (or with another token). */
  api: <T = any>(method: string, url: string, body?: unknown, token?: string, contentType?: string) => Promise<{ status: number, body: T }>
  mqttUrl: string
  close: () => Promise<void>
}

/** The PostgreSQL server the tests use (plain, no timescaledb); override with TEST_DATABASE_URL. */
export const PG_ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** The stores every store-facing suite runs against. */
export const STORES = ['embedded', 'postgres'] as const
export type StoreKind = (typeof STORES)[number]

/** A fresh, empty database on the test server; drop() removes it. */
export const freshDatabase = () => createScratchDatabase(PG_ADMIN_URL, 'gridcare_test')

/** A whole gridcare on ports 0 with the embedded store in a temp dir, or a fresh database on the PostgreSQL server. */
export async function startGridcare (env: Record<string, string> = {}, clock?: { now (): number }, store: StoreKind = 'embedded'): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'gridcare-test-'))
  const server = store === 'postgres' ? await freshDatabase() : undefined
  const config = loadConfig({ MQTT_PORT: '0', HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', DATA_DIR: dir, ADMIN_TOKEN: ADMIN, ...(server ? { DATABASE_URL: server.url } : {}), ...env })
  const gc = createGridcare({ config, logger: silent, ...(clock ? { clock } : {}) })
  await gc.start()
  const api: Harness['api'] = async (method, url, body, token = ADMIN, contentType) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
    const res = await gc.http.inject({
      method: method as 'GET', url, payload,
      headers: { authorization: `Bearer ${token}`, ...(payload !== undefined ? { 'content-type': contentType ?? (typeof body === 'string' ? 'text/csv' : 'application/json') } : {}) },
    })
    let parsed: unknown = res.body
    try { parsed = JSON.parse(res.body) } catch {}
    return { status: res.statusCode, body: parsed as any }
  }
  return {
    gc,
    api,
    mqttUrl: `mqtt://127.0.0.1:${gc.mqttPort}`,
    close: async () => { await gc.stop(); rmSync(dir, { recursive: true, force: true }); await server?.drop() },
  }
}

/** A small street: one district, one street, one community, two grids, buildings and units. */
export const STREET_CSV = `code,parent,level,name,lat,lon
D1,,district,Xihu District,30.25,120.13
S1,D1,street,Lingyin Street,30.24,120.10
C1,S1,community,Maple Community,30.241,120.101
G1,C1,grid,Grid 1,,
G2,C1,grid,Grid 2,,
B1,G1,building,Building 1,30.2411,120.1011
B2,G2,building,Building 2,30.2421,120.1021
U101,B1,unit,Flat 101,,
U102,B1,unit,Flat 102,,
U201,B2,unit,Flat 201,,
U202,B2,unit,Flat 202,,
`

export async function seedStreet (h: Harness) {
  const imp = await h.api('POST', '/api/addresses/import', STREET_CSV)
  if (imp.status !== 200) throw new Error('address import failed: ' + JSON.stringify(imp.body))
  const w1 = await h.api('POST', '/api/workers', { id: 'w1', name: 'Wang Fang', phone: '13800000001', role: 'grid_worker', grids: ['G1'] })
  const w2 = await h.api('POST', '/api/workers', { id: 'w2', name: 'Li Na', phone: '13800000002', role: 'grid_worker', grids: ['G2'] })
  const lead = await h.api('POST', '/api/workers', { id: 'lead', name: 'Zhao Lei', role: 'grid_leader', grids: ['C1'] })
  return { w1: w1.body.token as string, w2: w2.body.token as string, lead: lead.body.token as string }
}

export async function connectDevice (url: string, creds: { username: string, password: string }, opts: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(url, { username: creds.username, password: creds.password, reconnectPeriod: 0, connectTimeout: 5000, ...opts })
}

export const DAY = 86_400_000
export const HOUR = 3_600_000
