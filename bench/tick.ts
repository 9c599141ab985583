// `node --import tsx bench/tick.ts [--variants today,production] [--burst 240000] [--runs 1] [--devices 2000] [--all]`
//
// What the housekeeping tick (store/maintenance.ts) costs the embedded store's thread at each moment
// of the clock, on a fresh store: a simulated day of 15-minute readings from `devices` meters, then
// an hour of bench-like burst (`burst` readings in it), an ordinary hour, a second burst hour that
// ends at midnight, and the new day's first half hour with a batch of late readings. A tick is run
// every 5 minutes of simulated time with a controlled `now`; each of its statements is timed (wall
// time: PGlite is synchronous WASM on this thread, so wall time is the pause). Variants are refresh
// strategies (`production`: maintenance.run() itself). Run under `flock /work/wt/bench.lock`.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import pino from 'pino'
import type { ReadingRow } from '../ingest/meter.ts'
import { insertReadings } from '../ingest/store.ts'
import { createEmbeddedDb } from '../store/embedded.ts'
import { createMaintenance } from '../store/maintenance.ts'
import { migrate } from '../store/migrations.ts'
import type { Db } from '../store/types.ts'

const MIN = 60_000
const HOUR = 3_600_000
const DAY = 86_400_000
const iso = (ms: number) => new Date(ms).toISOString()

type Step = [name: string, sql: (now: number) => string]
const BRIN = `SELECT count(brin_summarize_new_values(i.indexrelid)) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
  WHERE c.relam = (SELECT oid FROM pg_am WHERE amname = 'brin') AND i.indrelid IN (SELECT format('%I.%I', chunk_schema, chunk_name)::regclass
  FROM timescaledb_information.chunks WHERE hypertable_name = 'readings' AND NOT is_compressed)`
const refresh = (view: string, end: (now: number) => string | null) => (now: number) => {
  const e = end(now)
  return `CALL refresh_continuous_aggregate('${view}', NULL, ${e === null ? 'NULL' : `'${e}'::timestamptz`})`
}
const floorTo = (ms: number, unit: number) => Math.floor(ms / unit) * unit

/** Refresh strategies: the statements of one tick (each timed), before the checkpoint. */
const VARIANTS: Record<string, Step[]> = {
  // main before this branch: everything up to the newest data
  today: [['brin', () => BRIN], ['hourly', refresh('energy_hourly', () => null)], ['daily', refresh('energy_daily', () => null)]],
  // the last session's first try: the hourly up to an hour ago, the daily as before
  'hourly-1h': [['brin', () => BRIN], ['hourly', refresh('energy_hourly', (n) => iso(n - HOUR))], ['daily', refresh('energy_daily', () => null)]],
  // the last session's second try: both like the server's policies (end offsets 1 hour, 1 day)
  'both-1h/1d': [['brin', () => BRIN], ['hourly', refresh('energy_hourly', (n) => iso(n - HOUR))], ['daily', refresh('energy_daily', (n) => iso(n - DAY))]],
  // closed buckets only, the hourly first: up to the start of the current hour, then the daily up to the start of today
  closed: [['brin', () => BRIN], ['hourly', refresh('energy_hourly', (n) => iso(floorTo(n, HOUR)))], ['daily', refresh('energy_daily', (n) => iso(floorTo(n, DAY)))]],
  // as closed, the daily first (so it reads the just-closed hour through the hourly's real-time part)
  'closed-daily-first': [['brin', () => BRIN], ['daily', refresh('energy_daily', (n) => iso(floorTo(n, DAY)))], ['hourly', refresh('energy_hourly', (n) => iso(floorTo(n, HOUR)))]],
}

/** How long a production tick held the store: its statements' time, not the pauses a paced refresh makes between them. */
const held = (ms: Record<string, number>) => Object.entries(ms).reduce((sum, [k, v]) => k === 'hourly calls' || k === 'hourly longest' ? sum : sum + v, 0)

interface Tick { at: number, label: string, rowsInHour: number, ms: Record<string, number>, total: number }

const silent = pino({ level: 'silent' })

/** One meter's register, advanced by each reading written. */
function writerFor (devices: number) {
  const reg = new Float64Array(devices).fill(1000)
  const ids = Array.from({ length: devices }, (_, d) => `meter-S${1 + (d % 7)}-${String(d).padStart(4, '0')}`)
  /** Readings of every device at each of `times` (time-major, as they arrive). */
  return (times: number[], intervalMs: number): ReadingRow[] => {
    const rows: ReadingRow[] = []
    for (const ts of times) {
      for (let d = 0; d < devices; d++) {
        const amount = 0.25 * intervalMs / (15 * MIN)
        reg[d]! += amount
        rows.push({ deviceId: ids[d]!, ts, register: reg[d]!, amount, intervalMs, powerW: 1000, reset: false })
      }
    }
    return rows
  }
}

async function write (db: Db, rows: ReadingRow[], batch = 2000): Promise<void> {
  for (let i = 0; i < rows.length; i += batch) {
    const part = rows.slice(i, i + batch)
    await db.transaction((tx) => insertReadings(tx, part))
  }
}

async function runVariant (variant: string, opts: { devices: number, burst: number }): Promise<Tick[]> {
  const dir = mkdtempSync(join(tmpdir(), 'gridcare-tick-'))
  const db = await createEmbeddedDb(dir)
  const ticks: Tick[] = []
  try {
    await migrate(db, silent)
    // maintenance.run()'s statements timed one by one, named by what they do
    const timed: Record<string, number> = {}
    const stepOf = (sql: string) => /brin_summarize/.test(sql) ? 'brin' : /invalidations/.test(sql) ? 'ranges' : /energy_hourly/.test(sql) ? 'hourly' : /energy_daily/.test(sql) ? 'daily' : /CHECKPOINT/.test(sql) ? 'checkpoint' : 'other'
    const time = <A extends unknown[], R>(fn: (sql: string, ...rest: A) => Promise<R>) => async (sql: string, ...rest: A): Promise<R> => {
      const t = performance.now()
      try { return await fn(sql, ...rest) } finally {
        const step = stepOf(sql)
        const ms = performance.now() - t
        timed[step] = (timed[step] ?? 0) + ms
        if (step === 'hourly') { timed['hourly calls'] = (timed['hourly calls'] ?? 0) + 1; timed['hourly longest'] = Math.max(timed['hourly longest'] ?? 0, ms) }
      }
    }
    const watched: Db = { ...db, query: time(db.query) as Db['query'], exec: time(db.exec) }
    const maintenance = createMaintenance({ db: watched, config: { compressAfterDays: 0, retainRawDays: 0 }, logger: silent })
    const steps = VARIANTS[variant] ?? []
    if (variant !== 'production' && !VARIANTS[variant]) throw new Error(`no variant ${variant}: ${Object.keys(VARIANTS).join(', ')}, production`)
    const readings = writerFor(opts.devices)
    const day0 = Date.UTC(2026, 0, 5) // a Monday; chunks (7 days from the epoch, a Thursday) do not start here
    let rowsInHour = 0
    let hourOf = 0
    const tick = async (at: number, label: string, keep = true) => {
      const ms: Record<string, number> = {}
      const t0 = performance.now()
      if (variant === 'production') {
        for (const k of Object.keys(timed)) delete timed[k]
        await maintenance.run(at)
        for (const [k, v] of Object.entries(timed)) ms[k] = v
      } else {
        for (const [name, sql] of steps) {
          const t = performance.now()
          await db.exec(sql(at))
          ms[name] = performance.now() - t
        }
        const t = performance.now()
        await db.exec('CHECKPOINT')
        ms.checkpoint = performance.now() - t
      }
      if (keep) ticks.push({ at, label, rowsInHour: floorTo(at - 1, HOUR) === hourOf ? rowsInHour : 0, ms, total: variant === 'production' ? held(ms) : performance.now() - t0 })
    }
    /** Writes readings every `everyMs` in [from, to), ticking at every fifth minute inside. */
    const span = async (from: number, to: number, everyMs: number, label: (at: number) => string) => {
      for (let t = from; t < to; t += 5 * MIN) {
        const times: number[] = []
        for (let ts = t; ts < t + 5 * MIN; ts += everyMs) if (ts % everyMs === 0) times.push(ts)
        const rows = readings(times, everyMs)
        if (floorTo(t, HOUR) !== hourOf) { hourOf = floorTo(t, HOUR); rowsInHour = 0 }
        await write(db, rows)
        rowsInHour += rows.length
        await tick(t + 5 * MIN, label(t + 5 * MIN))
      }
    }
    // A day of history (yesterday, 00:00-21:00) at 15 minutes, brought up to date by one tick (not timed).
    await write(db, readings(Array.from({ length: 84 }, (_, q) => day0 - DAY + q * 15 * MIN), 15 * MIN))
    await tick(day0 - 3 * HOUR, 'history', false)
    const burstEvery = Math.max(1000, Math.round(HOUR / (opts.burst / opts.devices)))
    const name = (at: number) => at % DAY === 0 ? 'day close' : at % HOUR === 0 ? 'hour close' : 'ordinary'
    await span(day0 - 3 * HOUR, day0 - 2 * HOUR, burstEvery, name) // burst hour, 21:00-22:00
    await span(day0 - 2 * HOUR, day0 - HOUR, 15 * MIN, name) // an ordinary hour, 22:00-23:00
    await span(day0 - HOUR, day0, burstEvery, name) // burst hour to midnight
    // The new day's first hour, a burst; late readings (one of yesterday afternoon, for a tenth of the
    // devices) written before the ticks at 00:35 and 00:55, then the hour's close.
    const late = (at: number) => (at === day0 + 35 * MIN || at === day0 + 55 * MIN) ? 'late readings' : name(at)
    const lateRows = (m: number) => readings([day0 - 10 * HOUR + m * MIN], 15 * MIN).slice(0, Math.ceil(opts.devices / 10))
    await span(day0, day0 + 30 * MIN, burstEvery, late)
    await write(db, lateRows(7))
    await span(day0 + 30 * MIN, day0 + 50 * MIN, burstEvery, late)
    await write(db, lateRows(8))
    await span(day0 + 50 * MIN, day0 + HOUR, burstEvery, late)
    await check(db, day0 + HOUR)
  } finally {
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  }
  return ticks
}

/** The views agree with the raw readings, hour by hour and day by day, open buckets included. */
async function check (db: Db, now: number): Promise<void> {
  for (const [view, unit] of [['energy_hourly', 'hour'], ['energy_daily', 'day']] as const) {
    const { rows } = await db.query<{ bucket: Date, raw: number, agg: number, rawn: number, aggn: number }>(`SELECT r.bucket, r.amount AS raw, v.amount AS agg, r.n AS rawn, v.n AS aggn
      FROM (SELECT date_trunc('${unit}', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket, sum(amount) AS amount, count(*)::int AS n FROM readings GROUP BY 1) r
      FULL JOIN (SELECT bucket, sum(amount) AS amount, sum(readings)::int AS n FROM ${view} GROUP BY 1) v USING (bucket)
      WHERE v.amount IS NULL OR r.amount IS NULL OR abs(r.amount - v.amount) > 1e-6 * r.n OR r.n IS DISTINCT FROM v.n`)
    if (rows.length > 0) throw new Error(`${view} differs from the raw readings at ${now}: ${JSON.stringify(rows.slice(0, 3))}`)
  }
}

async function main () {
  const { values } = parseArgs({
    options: {
      variants: { type: 'string', default: 'today,production' },
      burst: { type: 'string', default: '240000' },
      devices: { type: 'string', default: '2000' },
      runs: { type: 'string', default: '1' },
      all: { type: 'boolean', default: false },
    },
  })
  const variants = values.variants.split(',')
  const opts = { devices: Number(values.devices), burst: Number(values.burst) }
  const f = (n: number) => n.toFixed(0).padStart(6)
  for (let run = 0; run < Number(values.runs); run++) {
    for (const v of variants) {
      const ticks = await runVariant(v, opts)
      console.log(`\n${v} (run ${run + 1}; ${opts.devices} devices, burst ${opts.burst} readings/hour)`)
      for (const t of ticks) {
        const hhmm = new Date(t.at).toISOString().slice(11, 16)
        if (!values.all && t.label === 'ordinary' && !/:(05|30|55)$/.test(hhmm) && !hhmm.endsWith('0:05')) continue
        console.log(`${hhmm} ${t.label.padEnd(14)} rows this hour ${String(t.rowsInHour).padStart(7)}  total ${f(t.total)} ms  ${Object.entries(t.ms).map(([k, ms]) => `${k} ${ms.toFixed(0)}`).join('  ')}`)
      }
      const ord = ticks.filter((t) => t.label === 'ordinary').map((t) => t.total)
      console.log(`ordinary ticks: max ${f(Math.max(...ord))} ms, median ${f(ord.sort((a, b) => a - b)[Math.floor(ord.length / 2)]!)} ms`)
    }
  }
}

await main()
