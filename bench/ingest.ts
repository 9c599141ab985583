import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import pino from 'pino'
import type { ReadingRow } from '../ingest/meter.ts'
import { copyReadings, insertReadings, READING_COLUMNS, readingCopyRow, stageReadings, unnestReadings } from '../ingest/store.ts'
import { createEmbeddedDb } from '../store/embedded.ts'
import { migrate } from '../store/migrations.ts'
import { createServerDb } from '../store/server.ts'
import type { Db, Transaction } from '../store/types.ts'
import type { BenchLine } from './report.ts'
import { mulberry32 } from '../simulators/random.ts'

export interface IngestBenchOptions {
  /** Admin URL of the PostgreSQL server; a fresh database is made on it and dropped after. */
  pgAdminUrl: string
  /** Rows per measurement into PostgreSQL; default 200000. */
  serverRows?: number
  /** Rows per measurement into the embedded store; default 100000. */
  embeddedRows?: number
  /** Batch sizes; default [1000, 10000]. */
  batches?: number[]
  /** Times each case is run; the median is reported; default 3. */
  rounds?: number
  /** Also the crossover between unnest and COPY, staging, the sort, and batches that hold a duplicate; default false. */
  detail?: boolean
  /** Which stores; default both. */
  stores?: StoreKind[]
  progress?: (msg: string) => void
}

type StoreKind = 'embedded' | 'postgres'
type Write = (tx: Transaction, batch: ReadingRow[], prev: ReadingRow | undefined) => Promise<void>
interface Case { section: string, path: string, batch: number, rows: number, write: Write, ref?: boolean, target?: boolean }

const TARGETS: Record<StoreKind, number> = { postgres: 150_000, embedded: 50_000 }
const QUARTER_HOUR = 15 * 60_000
const CROSSOVER = [10, 30, 50, 100, 300, 1000]

const bareCopy: Write = (tx, b) => tx.copyRows!('readings_bare', READING_COLUMNS, b.map(readingCopyRow))
const writer: Write = (tx, b) => insertReadings(tx, b)

/**
 * The ingest writer (insertReadings in a transaction, as ingest's batcher
 * writes) into each store, beside a bare COPY of the same rows into an
 * identical table without conflict handling, committed per batch alike.
 */
export async function benchIngest (opts: IngestBenchOptions): Promise<BenchLine[]> {
  const out: BenchLine[] = []
  for (const store of opts.stores ?? ['embedded', 'postgres'] as const) {
    const rows = readingRows(store === 'postgres' ? opts.serverRows ?? 200_000 : opts.embeddedRows ?? 100_000)
    const { db, dispose } = store === 'postgres' ? await freshServer(opts.pgAdminUrl) : await freshEmbedded()
    try {
      await db.exec('CREATE TABLE readings_bare (LIKE readings INCLUDING ALL)')
      if (db.timescale) await db.query("SELECT create_hypertable('readings_bare', by_range('ts', INTERVAL '7 days'))")
      const cases = mainCases(rows.length, opts.batches ?? [1000, 10_000])
      if (opts.detail) cases.push(...detailCases(rows.length, opts.batches ?? [1000, 10_000]))
      await run(db, rows.slice(0, 20_000), 1000, writer) // warm up caches, plans and the staging table
      const ms = new Map<Case, number[]>()
      for (let round = 0; round < (opts.rounds ?? 3); round++) {
        for (const c of cases) {
          opts.progress?.(`ingest: ${store} round ${round + 1} ${c.path} batch ${c.batch}`)
          ms.set(c, [...ms.get(c) ?? [], await run(db, rows.slice(0, c.rows), c.batch, c.write)])
        }
      }
      for (const c of cases) {
        const ref = cases.find((r) => r.ref && r.batch === c.batch && r.rows === c.rows)
        const line: BenchLine = { section: c.section, store, path: c.path, batch: c.batch, rows: c.rows, ms: median(ms.get(c)!) }
        if (ref && !c.ref) line.refRowsPerSec = c.rows / (median(ms.get(ref)!) / 1000)
        if (c.target) line.target = TARGETS[store]
        out.push(line)
      }
    } finally {
      await dispose()
    }
  }
  return out
}

function mainCases (rows: number, batches: number[]): Case[] {
  return batches.flatMap((batch) => [
    { section: 'ingest', path: 'bare COPY', batch, rows, write: bareCopy, ref: true },
    { section: 'ingest', path: 'writer', batch, rows, write: writer, target: true },
    { section: 'ingest', path: 'unnest only', batch, rows, write: (tx, b) => unnestReadings(tx, b) },
  ] satisfies Case[])
}

function detailCases (rows: number, batches: number[]): Case[] {
  return [
    ...CROSSOVER.flatMap((batch) => [
      { section: 'crossover', path: 'writer via unnest', batch, rows: Math.min(rows, batch * 100, 20_000), write: (tx, b) => insertReadings(tx, b, { copyMinRows: Infinity }) },
      { section: 'crossover', path: 'writer via COPY', batch, rows: Math.min(rows, batch * 100, 20_000), write: (tx, b) => insertReadings(tx, b, { copyMinRows: 0 }) },
    ] satisfies Case[]),
    ...batches.flatMap((batch) => [
      { section: 'detail', path: 'COPY+staging only', batch, rows, write: (tx, b) => stageReadings(tx as Required<Transaction>, b.map(readingCopyRow)) },
      { section: 'detail', path: 'COPY, rows unsorted', batch, rows, write: (tx, b) => copyReadings(tx as Required<Transaction>, b) },
      // A redelivered row in every batch: each COPY fails and the batch goes through staging.
      { section: 'detail', path: 'writer, 1 dup/batch', batch, rows, write: (tx, b, prev) => insertReadings(tx, prev ? [...b, prev] : b) },
    ] satisfies Case[]),
  ]
}

/** Empties both tables, then writes rows in batches, one transaction each; returns ms. */
async function run (db: Db, rows: ReadingRow[], batch: number, write: Write): Promise<number> {
  await db.exec('TRUNCATE readings; TRUNCATE readings_bare')
  // Flush the last run's dirty pages now, so a checkpoint does not land inside
  // this one's timing (runs varied by half without it). Needs superuser or pg_checkpoint.
  await db.exec('CHECKPOINT').catch(() => {})
  const t0 = performance.now()
  for (let i = 0; i < rows.length; i += batch) {
    const part = rows.slice(i, i + batch)
    await db.transaction((tx) => write(tx, part, rows[i - 1]))
  }
  const ms = performance.now() - t0
  const { rows: [n] } = await db.query<{ n: string }>('SELECT (SELECT count(*) FROM readings) + (SELECT count(*) FROM readings_bare) AS n')
  if (Number(n!.n) !== rows.length) throw new Error(`wrote ${n!.n} rows, expected ${rows.length}`)
  return ms
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/**
 * Meters reporting every quarter hour, time-major as they arrive: a first
 * reading without an interval, then register steps from a random draw, and a
 * rare register reset. Seeded, so every run writes the same rows.
 */
export function readingRows (count: number, devices = 500, start = Date.UTC(2026, 0, 1)): ReadingRow[] {
  const rand = mulberry32(42)
  const reg = Array.from({ length: devices }, () => 1000 + rand() * 4000)
  const rows: ReadingRow[] = []
  for (let i = 0; i < count; i++) {
    const d = i % devices
    const t = Math.floor(i / devices)
    const powerW = Math.round(50 + rand() * 2950)
    const step = powerW * 0.25 / 1000
    const deviceId = `meter-S${1 + (d % 7)}-${String(d).padStart(4, '0')}`
    if (t === 0) {
      rows.push({ deviceId, ts: start, register: reg[d]!, amount: null, intervalMs: null, powerW, reset: false })
      continue
    }
    const reset = rand() < 0.0002
    reg[d] = reset ? step : reg[d]! + step
    rows.push({ deviceId, ts: start + t * QUARTER_HOUR, register: reg[d]!, amount: step, intervalMs: QUARTER_HOUR, powerW, reset })
  }
  return rows
}


const silent = pino({ level: 'silent' })

async function freshServer (adminUrl: string): Promise<{ db: Db, dispose: () => Promise<void> }> {
  const name = `gridcare_bench_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: adminUrl })
    await c.connect()
    try { await c.query(sql) } finally { await c.end() }
  }
  await admin(`CREATE DATABASE ${name}`)
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  let db: Db | undefined
  try {
    db = await createServerDb({ url: url.toString(), logger: silent, max: 2 })
    await migrate(db, silent)
  } catch (err) {
    await db?.close()
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    throw err
  }
  const opened = db
  return { db: opened, dispose: async () => { await opened.close(); await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) } }
}

async function freshEmbedded (): Promise<{ db: Db, dispose: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'gridcare-bench-'))
  const db = await createEmbeddedDb(dir)
  try { await migrate(db, silent) } catch (err) { await db.close(); rmSync(dir, { recursive: true, force: true }); throw err }
  return { db, dispose: async () => { await db.close(); rmSync(dir, { recursive: true, force: true }) } }
}
