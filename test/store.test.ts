import { afterAll, describe, test } from 'vitest'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { describeMode, openStore, createMaintenance, type Db } from '../store/index.ts'
import { MIGRATIONS } from '../store/migrations.ts'
import { loadConfig } from '../config/index.ts'
import { freshDatabase, silent, STORES, type StoreKind } from './helpers.ts'
import { warmUp } from '../app/warmup.ts'
import type { Consumption } from '../vocab/index.ts'

const DAY = 86_400_000
const HOUR = 3_600_000
const MINUTE = 60_000

async function open (store: StoreKind): Promise<{ db: Db, config: ReturnType<typeof loadConfig>, reopen: () => Promise<Db>, close: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'gridcare-store-'))
  const server = store === 'postgres' ? await freshDatabase() : undefined
  const config = loadConfig({ DATA_DIR: dir, RETAIN_RAW_DAYS: '60', COMPRESS_AFTER_DAYS: '7', ...(server ? { DATABASE_URL: server.url } : {}) })
  let db = await openStore(config, silent)
  return {
    get db () { return db },
    config,
    reopen: async () => { await db.close(); db = await openStore(config, silent); return db },
    close: async () => { await db.close(); await server?.drop(); rmSync(dir, { recursive: true, force: true }) },
  }
}

async function insert (db: Db, device: string, from: number, count: number, kwh = 0.25) {
  await db.query(`INSERT INTO readings (device_id, ts, register, amount, interval_ms)
    SELECT $1, to_timestamp(($2::float8 + g * 900000) / 1000), g * $4::float8, $4::float8, 900000 FROM generate_series(0, $3::int - 1) g
    ON CONFLICT DO NOTHING`, [device, from, count, kwh])
}

for (const store of STORES) {
  describe(store, () => {
    let s: Awaited<ReturnType<typeof open>>
    afterAll(async () => { await s?.close() })

    test('migrations apply once; opening again applies nothing and keeps the data', async () => {
      s = await open(store)
      const { rows } = await s.db.query<{ id: number }>('SELECT id FROM schema_migrations ORDER BY id')
      assert.deepEqual(rows.map((r) => Number(r.id)), MIGRATIONS.map((m) => m.id).sort((a, b) => a - b), 'each applied once (in id order, whatever the list order)')
      await s.db.query("INSERT INTO addresses (code, level, name, path) VALUES ('D', 'district', 'd', '{D}')")
      const db = await s.reopen()
      assert.equal((await db.query('SELECT count(*)::int AS n FROM addresses')).rows[0]!.n as number, 1)
    })

    test('the mode line says which store runs and what is degraded', () => {
      const line = describeMode(s.db, s.config)
      if (store === 'embedded') {
        assert.equal(s.db.timescale, true)
        assert.match(line, /^store: embedded store \(PGlite, on its own thread\) with TimescaleDB/, 'the store thread is the default')
        assert.match(line, /TimescaleDB: hypertables, continuous aggregates \(hourly, daily\), compression after 7 d, raw readings kept 60 d \(jobs run by gridcare\)/)
      } else {
        assert.equal(s.db.timescale, false, 'the test server has no timescaledb')
        assert.match(line, /plain PostgreSQL without timescaledb: degraded: .*no compression, no retention policy/)
      }
    })

    test('readings keep the primary key (device_id, ts) and, with TimescaleDB, a BRIN on ts that the maintenance summarizes', async () => {
      const { rows } = await s.db.query<{ name: string, method: string }>(`SELECT c.relname AS name, am.amname AS method FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam WHERE i.indrelid = 'readings'::regclass ORDER BY 1`)
      assert.deepEqual(rows, store === 'embedded'
        ? [{ name: 'readings_pkey', method: 'btree' }, { name: 'readings_ts_brin', method: 'brin' }]
        : [{ name: 'readings_pkey', method: 'btree' }], 'one btree per row written, not two')
      if (store !== 'embedded') return
      const from = Date.UTC(2026, 0, 5)
      for (let d = 0; d < 40; d++) await insert(s.db, `brin-${d}`, from, 200)
      await createMaintenance({ db: s.db, config: s.config, logger: silent }).refresh()
      const plan = (await s.db.query<Record<string, string>>('EXPLAIN SELECT count(*) FROM readings WHERE ts >= $1', [new Date(from + 190 * 900_000).toISOString()])).rows.map((r) => Object.values(r)[0]).join('\n')
      assert.match(plan, /readings_ts_brin/, 'a span of time across devices is read through the BRIN')
      await s.db.query("DELETE FROM readings WHERE device_id LIKE 'brin-%'")
    })

    test('hourly and daily energy agree with the raw readings, late rows included', async () => {
      const from = Math.floor(Date.now() / DAY) * DAY - 10 * DAY // recent: the 60-day retention must not take it
      await insert(s.db, 'm1', from, 96 * 3) // three days of 0.25 kWh every 15 minutes
      const maintenance = createMaintenance({ db: s.db, config: s.config, logger: silent })
      const now = Date.now()
      await maintenance.run(now)
      await s.db.query("UPDATE readings SET amount = 1.25 WHERE device_id = 'm1' AND ts = $1", [new Date(from + DAY + 3_600_000).toISOString()])
      await maintenance.run(now + 5 * MINUTE) // the next tick: the hourly
      await maintenance.run(now + HOUR) // the first tick of the next hour: the daily too
      const hourly = await s.db.query<{ amount: number, readings: number }>("SELECT amount, readings FROM energy_hourly WHERE device_id = 'm1' AND bucket = $1", [new Date(from + DAY + 3_600_000).toISOString()])
      assert.equal(Number(hourly.rows[0]!.amount), 2.0)
      assert.equal(Number(hourly.rows[0]!.readings), 4)
      const daily = await s.db.query<{ bucket: Date, amount: number }>("SELECT bucket, amount FROM energy_daily WHERE device_id = 'm1' ORDER BY bucket")
      assert.deepEqual(daily.rows.map((r) => Number(r.amount)), [24, 25, 24])
      const total = await s.db.query<{ n: number }>("SELECT sum(amount) AS n FROM energy_hourly WHERE device_id = 'm1'")
      assert.equal(Number(total.rows[0]!.n), 73)
    })

    test('the views hold the open hour and day: a reading a minute old is in them; a late one below the watermark is aggregated again by the ticks', async () => {
      const maintenance = createMaintenance({ db: s.db, config: s.config, logger: silent })
      // Half past an hour: a reading a minute old then falls in the open hour. (The views do not
      // read the wall clock; in the first minute of an hour a minute old would be the closed one.)
      const now = Math.floor(Date.now() / HOUR) * HOUR - HOUR / 2
      const yesterday = Math.floor(now / DAY) * DAY - DAY
      const amount = async (view: string, bucket: number) => Number((await s.db.query<{ amount: number }>(`SELECT amount FROM ${view} WHERE device_id = 'm4' AND bucket = $1`, [new Date(bucket).toISOString()])).rows[0]?.amount)
      const raw = async (from: number, to: number) => Number((await s.db.query<{ amount: number }>("SELECT sum(amount) AS amount FROM readings WHERE device_id = 'm4' AND ts >= $1 AND ts < $2", [new Date(from).toISOString(), new Date(to).toISOString()])).rows[0]!.amount)
      const reading = (ts: number, kwh: number) => s.db.query('INSERT INTO readings (device_id, ts, register, amount) VALUES ($1, $2, 0, $3)', ['m4', new Date(ts).toISOString(), kwh])
      await insert(s.db, 'm4', yesterday, Math.floor((now - yesterday) / 900_000) + 1) // every 15 minutes since yesterday began, up to now
      await maintenance.run(now) // a tick
      const fresh = now - MINUTE - 1 // written after the tick, a minute old
      await reading(fresh, 2)
      const hour = Math.floor(fresh / HOUR) * HOUR
      const day = Math.floor(fresh / DAY) * DAY
      assert.equal(await amount('energy_hourly', hour), await raw(hour, hour + HOUR), 'the open hour, the fresh reading included')
      assert.equal(await amount('energy_daily', day), await raw(day, day + DAY), 'today, the fresh reading included')
      assert.ok(await raw(day, day + DAY) >= 2)
      assert.equal(await amount('energy_daily', yesterday), 24, 'yesterday, whole')
      // a late reading into yesterday's 10 o'clock hour, below both watermarks
      await reading(yesterday + 10 * HOUR + 7 * MINUTE, 1.5)
      await maintenance.run(now + 5 * MINUTE) // the next tick
      assert.equal(await amount('energy_hourly', yesterday + 10 * HOUR), 2.5, 'the hourly aggregated again at the next tick')
      await maintenance.run(now + HOUR) // the first tick of the next hour
      assert.equal(await amount('energy_daily', yesterday), 25.5, 'the daily within the hour')
      assert.equal(await amount('energy_daily', day), await raw(day, day + DAY))
    })

    // Plain PostgreSQL's views are plain; a TimescaleDB server refreshes on its own connections.
    test.skipIf(store === 'postgres')('a backlog of late readings is aggregated a slice at a time: a write waits for one slice, not the whole backlog', async () => {
      const f = await open(store) // a new store, as gridcare's first start makes
      try {
        const maintenance = createMaintenance({ db: f.db, config: f.config, logger: silent })
        const now = Math.floor(Date.now() / HOUR) * HOUR + 10 * MINUTE
        await maintenance.refresh(now) // as start-up does: the watermark at this hour, so what follows is late
        const from = Math.floor(now / DAY) * DAY - 2 * DAY // two days ago, 30 hours of a concentrator's upload
        for (let d = 0; d < 100; d++) await insert(f.db, `late-${d}`, from, 4 * 30)
        const calls: string[] = []
        let written: Promise<unknown> | undefined
        const watched: Db = {
          ...f.db,
          exec: async (sql: string) => {
            const slice = /refresh_continuous_aggregate\('energy_hourly', '/.test(sql)
            if (slice) calls.push('slice')
            const done = f.db.exec(sql)
            // a device's reading arrives while the first slice runs
            if (slice && !written) written = f.db.query("INSERT INTO readings (device_id, ts, register) VALUES ('late-w', $1, 1)", [new Date(now - MINUTE).toISOString()]).then(() => calls.push('written'))
            await done
            if (slice) calls.push('sliced')
          },
        }
        await createMaintenance({ db: watched, config: f.config, logger: silent }).refresh(now + 5 * MINUTE)
        await written
        assert.ok(calls.filter((c) => c === 'slice').length >= 3, `several slices: ${calls.join(', ')}`)
        assert.ok(calls.indexOf('written') < calls.indexOf('sliced', calls.indexOf('sliced') + 1), `the write answered before the second slice ended: ${calls.join(', ')}`)
        const { rows } = await f.db.query<{ amount: number, readings: number }>(`SELECT sum(amount) AS amount, sum(readings)::int AS readings FROM energy_hourly
          WHERE device_id LIKE 'late-%' AND device_id <> 'late-w' AND bucket >= $1 AND bucket < $2`, [new Date(from).toISOString(), new Date(from + 30 * HOUR).toISOString()])
        assert.equal(rows[0]!.readings, 100 * 4 * 30, 'every late reading in the hourly')
        assert.equal(Number(rows[0]!.amount), 100 * 30)
        const materialized = await f.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM energy_hourly WHERE device_id = 'late-0' AND bucket >= $1 AND bucket < $2`, [new Date(from).toISOString(), new Date(from + 30 * HOUR).toISOString()])
        assert.equal(materialized.rows[0]!.n, 30, 'one row an hour')
      } finally {
        await f.close()
      }
    })

    test('detector warm-up reads hourly energy from the aggregates, in order, leaving the last hour to live data', async () => {
      await s.db.query("INSERT INTO addresses (code, level, name, path) VALUES ('U', 'unit', 'u', '{D,U}')")
      await s.db.query("INSERT INTO subjects (id, kind, address) VALUES ('e9', 'lone_elder', 'U')")
      await s.db.query("INSERT INTO devices (id, kind, address, subject, street, username, password_hash) VALUES ('m9', 'meter', 'U', 'e9', '_', 'device:m9', 'x')")
      const from = Math.floor(Date.now() / DAY) * DAY - 20 * DAY
      await insert(s.db, 'm9', from, 96 * 20) // 20 days; warm-up takes the last 14
      await createMaintenance({ db: s.db, config: s.config, logger: silent }).refresh() // as start-up does
      const fed: Consumption[] = []
      const n = await warmUp(s.db, (c) => fed.push(c), 14)
      assert.equal(n, fed.length)
      assert.equal(fed.length, 14 * 24, 'fourteen days of hours, the last (maybe unfinished) hour left out')
      assert.ok(fed.every((c, i) => c.subjectId === 'e9' && c.intervalMs === 3_600_000 && c.amount === 1 && (i === 0 || c.ts - fed[i - 1]!.ts === 3_600_000)))
      const lastReading = from + (96 * 20 - 1) * 900_000
      assert.equal(fed.at(-1)!.ts, Math.floor(lastReading / 3_600_000) * 3_600_000, 'ends where the last hour begins')
    })

    // Plain PostgreSQL has no compression and no retention (the mode line says so).
    test.skipIf(store === 'postgres')('housekeeping: old chunks are compressed and raw readings past retention dropped', async () => {
      const now = Date.now()
      await insert(s.db, 'm2', now - 120 * DAY, 96)
      await insert(s.db, 'm2', now - 20 * DAY, 96)
      await insert(s.db, 'm2', now - DAY, 96)
      const maintenance = createMaintenance({ db: s.db, config: s.config, logger: silent })
      const redo = async () => (await s.db.query<{ lsn: string }>('SELECT pg_wal_lsn_diff(redo_lsn, \'0/0\')::text AS lsn FROM pg_control_checkpoint()')).rows[0]!.lsn
      await maintenance.run(now - 100 * DAY) // a tick 100 days ago, when the oldest of these readings were 20 days old
      const before = await redo()
      const r = await maintenance.run(now)
      assert.ok(BigInt(await redo()) > BigInt(before), 'a checkpoint: PGlite makes none of its own, so its WAL would grow without end')
      assert.ok(r.dropped >= 1, 'the 120-day-old chunk is past 60 days of retention')
      assert.ok(r.compressed >= 1, 'the 20-day-old chunk is compressed')
      const { rows } = await s.db.query<{ n: number }>("SELECT count(*)::int AS n FROM readings WHERE device_id = 'm2'")
      assert.equal(rows[0]!.n, 192)
      // The aggregates keep what retention dropped from the raw readings, at this tick and the next ones.
      const hours = async () => (await s.db.query<{ n: number }>("SELECT count(*)::int AS n FROM energy_hourly WHERE device_id = 'm2' AND bucket < $1", [new Date(now - 60 * DAY).toISOString()])).rows[0]!.n
      const spanned = new Set(Array.from({ length: 96 }, (_, k) => Math.floor((now - 120 * DAY + k * 900_000) / HOUR))).size // 24 or 25 by the minute
      assert.equal(await hours(), spanned, 'the hourly of the dropped day: 96 readings over a day of hours')
      await insert(s.db, 'm3', now - DAY, 4) // readings now and then, so the ticks have something to refresh
      await maintenance.run(now + 5 * MINUTE)
      await maintenance.run(now + HOUR)
      // A stray reading in the dropped span (a meter's clock reset, a replay) makes a chunk there again.
      await s.db.query(`INSERT INTO readings (device_id, ts, register, amount) VALUES ('m5', $1, 1, 0.5)`, [new Date(now - 119 * DAY).toISOString()])
      await maintenance.run(now + 5 * MINUTE)
      await maintenance.run(now + HOUR)
      assert.equal(await hours(), spanned, 'still there after the next ticks, and after a stray reading among them')
      const daily = (await s.db.query<{ amount: number }>("SELECT sum(amount) AS amount FROM energy_daily WHERE device_id = 'm2' AND bucket < $1", [new Date(now - 60 * DAY).toISOString()])).rows[0]!.amount
      assert.equal(Number(daily), 24, 'and the daily')
      // a late reading into a compressed chunk is still stored, once
      await insert(s.db, 'm2', now - 20 * DAY, 1)
      await s.db.query(`INSERT INTO readings (device_id, ts, register) VALUES ('m2', $1, 1) ON CONFLICT DO NOTHING`, [new Date(now - 20 * DAY + 7 * 60_000).toISOString()])
      assert.equal((await s.db.query<{ n: number }>("SELECT count(*)::int AS n FROM readings WHERE device_id = 'm2'")).rows[0]!.n, 193)
    })
  })
}

test('a store server that is down at start gives a clear error naming DATABASE_URL after retrying', async () => {
  const config = loadConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none', DATABASE_CONNECT_TIMEOUT_S: '1' })
  const logs: string[] = []
  const logger = silent.child({})
  logger.warn = ((obj: unknown, msg?: string) => { logs.push(msg ?? String(obj)) }) as typeof logger.warn
  const t0 = Date.now()
  await assert.rejects(openStore(config, logger), /DATABASE_URL: cannot reach the store \(.*ECONNREFUSED/)
  assert.ok(Date.now() - t0 >= 900, 'it retried for the configured time')
  void pg
})
