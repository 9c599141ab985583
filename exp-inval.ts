import pino from 'pino'
import { createEmbeddedDb } from './store/embedded.ts'
import { migrate } from './store/migrations.ts'
import { insertReadings } from './ingest/store.ts'
import type { ReadingRow } from './ingest/meter.ts'
const db = await createEmbeddedDb('memory://')
await migrate(db, pino({ level: 'silent' }))
const H = 3600_000
const hour = Date.UTC(2026, 0, 5)
const base = hour - 24 * H
const rows = (from: number, n: number, devs = 2000): ReadingRow[] => { const r: ReadingRow[] = []; for (let i = 0; i < n; i++) for (let d = 0; d < devs; d++) r.push({ deviceId: `m${d}`, ts: from + i * 60_000, register: 1000 + i, amount: 0.01, intervalMs: 60_000, powerW: 100, reset: false }); return r }
const write = async (rs: ReadingRow[]) => { for (let i = 0; i < rs.length; i += 4000) { const p = rs.slice(i, i + 4000); await db.transaction((tx) => insertReadings(tx, p)) } }
const t = async (label: string, sql: string) => { const t0 = performance.now(); const r = await db.query(sql); console.log(label, (performance.now() - t0).toFixed(1), 'ms', JSON.stringify(r.rows, (k, v) => typeof v === 'bigint' ? String(v) : v).slice(0, 400)) }
const get = (end: number) => t('get', `select invalidations::text from _timescaledb_functions.get_materialization_invalidations('energy_hourly'::regclass, tstzrange('-infinity', '${new Date(end).toISOString()}'))`)
const proc = () => t('process', "CALL _timescaledb_functions.process_hypertable_invalidations('readings'::regclass)")
const log = () => t('logs', "select (select count(*) from _timescaledb_catalog.continuous_aggs_hypertable_invalidation_log) ht, (select count(*) from _timescaledb_catalog.continuous_aggs_materialization_invalidation_log) mat, (select watermark from _timescaledb_catalog.continuous_aggs_invalidation_threshold where hypertable_id=1) th")
console.log('-- empty fresh'); await proc(); await get(hour)
await write(rows(base, 60))
console.log('-- fresh with data'); await log(); await proc(); await get(hour); await log()
await t('refresh 1h', `CALL refresh_continuous_aggregate('energy_hourly', '${new Date(base).toISOString()}', '${new Date(base + H).toISOString()}')`)
await log(); await proc(); await get(hour)
await t('refresh all', `CALL refresh_continuous_aggregate('energy_hourly', NULL, '${new Date(hour).toISOString()}')`)
console.log('-- after whole refresh'); await log(); await proc(); await get(hour); await get(hour + H)
await write(rows(hour, 30))
console.log('-- live data above threshold'); await log(); await proc(); await get(hour + H)
await write(rows(base + 2 * H, 30))
console.log('-- late data'); await log(); await proc(); await get(hour + H); await log()
