import { afterAll, beforeAll, beforeEach, describe, test } from 'vitest'
import assert from 'node:assert/strict'
import type { ReadingRow } from '../ingest/meter.ts'
import { COPY_MIN_ROWS, copyReadings, insertReadings, unnestReadings } from '../ingest/store.ts'
import { createEmbeddedDb } from '../store/embedded.ts'
import { migrate } from '../store/migrations.ts'
import { createServerDb } from '../store/server.ts'
import type { Db, Transaction } from '../store/types.ts'
import { freshDatabase, silent, STORES } from './helpers.ts'

/** Ids the writer must carry unchanged; the registry forbids some of them, the writer must not care. */
const AWKWARD_IDS = [
  'm1', '', ' lead and trail ', "it's", 'quote"d', 'comma,semi;colon', '\\N', 'back\\slash', 'tab\there',
  'new\nline\r', 'ünïcödé-电表-🔌', 'x'.repeat(300), 'NULL',
]

const TIMES = [
  0, Date.UTC(1999, 11, 31, 23, 59, 59, 999), Date.UTC(2000, 0, 1), Date.UTC(2026, 2, 1, 12, 0, 0, 1), Date.UTC(2200, 5, 30, 0, 0, 0, 999),
]

/** Readings that cover every column's awkward values: nulls, resets, extreme numbers, old and far times. */
function awkwardRows (): ReadingRow[] {
  const rows: ReadingRow[] = []
  const values = [0, 1e-12, -5.5, 123456789.123456789, 1.7976931348623157e308, 0.1 + 0.2]
  for (const [d, deviceId] of AWKWARD_IDS.entries()) {
    for (const [t, ts] of TIMES.entries()) {
      const k = d * TIMES.length + t
      rows.push({
        deviceId, ts, register: values[k % values.length]!,
        amount: k % 3 === 0 ? null : values[(k + 1) % values.length]!,
        intervalMs: k % 4 === 0 ? null : [0, 900_000, 2 ** 40][k % 3]!,
        powerW: k % 5 === 0 ? null : k * 10.25,
        reset: k % 2 === 1,
      })
    }
  }
  return rows
}

/** Plain rows to make a batch large enough for the COPY path. */
function fillerRows (n: number, from = 0): ReadingRow[] {
  return Array.from({ length: n }, (_, i) => ({
    deviceId: `filler-${(from + i) % 97}`, ts: Date.UTC(2026, 0, 1) + Math.floor((from + i) / 97) * 900_000,
    register: from + i + 0.5, amount: 0.25, intervalMs: 900_000, powerW: 1000, reset: false,
  }))
}

const key = (r: Pick<ReadingRow, 'deviceId' | 'ts'>) => `${r.deviceId}\u0000${r.ts}`

/** What ON CONFLICT DO NOTHING keeps: the first row of each key, in the order written. */
function firstPerKey (...batches: ReadingRow[][]): Map<string, ReadingRow> {
  const out = new Map<string, ReadingRow>()
  for (const r of batches.flat()) if (!out.has(key(r))) out.set(key(r), r)
  return out
}

for (const store of STORES) describe(`COPY write path: ${store}`, () => {
  let db: Db
  let drop: (() => Promise<void>) | undefined

  beforeAll(async () => {
    if (store === 'postgres') {
      const fresh = await freshDatabase()
      drop = fresh.drop
      db = await createServerDb({ url: fresh.url, logger: silent })
    } else {
      db = await createEmbeddedDb('memory://')
    }
    await migrate(db, silent)
  })
  afterAll(async () => {
    await db?.close()
    await drop?.()
  })
  beforeEach(async () => { await db.exec('TRUNCATE readings') })

  async function stored (): Promise<Map<string, ReadingRow>> {
    const { rows } = await db.query<{ device_id: string, ts: Date, register: number, amount: number | null, interval_ms: string | number | bigint | null, power_w: number | null, reset: boolean }>(
      'SELECT device_id, ts, register, amount, interval_ms, power_w, reset FROM readings')
    const out = new Map<string, ReadingRow>()
    for (const r of rows) {
      const row: ReadingRow = {
        deviceId: r.device_id, ts: r.ts.getTime(), register: r.register, amount: r.amount,
        intervalMs: r.interval_ms === null ? null : Number(r.interval_ms), powerW: r.power_w, reset: r.reset,
      }
      assert.ok(!out.has(key(row)), `one row per key: ${key(row)}`)
      out.set(key(row), row)
    }
    return out
  }

  /** Runs the write in a transaction whose COPYs are counted, to know which path ran. */
  async function write (fn: (tx: Transaction) => Promise<void>): Promise<string[]> {
    const copies: string[] = []
    await db.transaction(async (tx) => {
      assert.equal(typeof tx.copyRows, 'function', 'the store offers COPY in a transaction')
      await fn({
        ...tx,
        copyRows: (table, columns, rows) => { copies.push(table); return tx.copyRows!(table, columns, rows) },
        copyNewRows: (table, columns, rows) => { copies.push(table); return tx.copyNewRows!(table, columns, rows) },
      })
    })
    return copies
  }

  test('a large batch goes through COPY and reads back exactly: nulls, resets, awkward ids, old and far times', async () => {
    const rows = [...awkwardRows(), ...fillerRows(COPY_MIN_ROWS)]
    const copies = await write((tx) => insertReadings(tx, rows))
    assert.deepEqual(copies, ['readings'], 'straight into readings, no fallback')
    assert.deepEqual(await stored(), firstPerKey(rows))
  })

  test('duplicate keys within one batch: the first of each wins, as with unnest', async () => {
    const base = [...awkwardRows(), ...fillerRows(COPY_MIN_ROWS)]
    const again = base.slice(0, 200).map((r) => ({ ...r, register: r.register + 1, reset: !r.reset }))
    const rows = [...base.slice(0, 500), ...again, ...base.slice(500)]
    const copies = await write((tx) => insertReadings(tx, rows))
    assert.deepEqual(copies, ['readings', 'readings_staging'], 'the COPY fails on the duplicate, staging takes the batch')
    assert.deepEqual(await stored(), firstPerKey(rows))

    await db.exec('TRUNCATE readings')
    await db.transaction((tx) => unnestReadings(tx, rows))
    assert.deepEqual(await stored(), firstPerKey(rows), 'unnest keeps the same rows')
  })

  test('a batch written again, and one overlapping stored rows, leave what is stored alone', async () => {
    const first = [...awkwardRows(), ...fillerRows(COPY_MIN_ROWS)]
    await write((tx) => insertReadings(tx, first))
    const replay = first.map((r) => ({ ...r, register: -1, amount: 42 }))
    assert.deepEqual(await write((tx) => insertReadings(tx, replay)), ['readings', 'readings_staging'])
    assert.deepEqual(await stored(), firstPerKey(first))

    const overlap = [...first.slice(-300).map((r) => ({ ...r, powerW: -1 })), ...fillerRows(COPY_MIN_ROWS, 5000)]
    await write((tx) => insertReadings(tx, overlap))
    assert.deepEqual(await stored(), firstPerKey(first, overlap))
  })

  test('two COPY writes in one transaction, the second overlapping the first', async () => {
    const a = fillerRows(COPY_MIN_ROWS)
    const b = [...fillerRows(COPY_MIN_ROWS, COPY_MIN_ROWS / 2)].map((r) => ({ ...r, amount: null }))
    await write(async (tx) => {
      await copyReadings(tx as Required<Transaction>, a)
      await copyReadings(tx as Required<Transaction>, b)
      await copyReadings(tx as Required<Transaction>, b)
    })
    assert.deepEqual(await stored(), firstPerKey(a, b))
  })

  test('a batch that breaks a constraint fails whole, nothing stays, and the store goes on', async () => {
    const good = fillerRows(COPY_MIN_ROWS)
    const bad = [...good, { ...good[0]!, deviceId: 'nulled', register: null as unknown as number }]
    await assert.rejects(write((tx) => insertReadings(tx, bad)), (err: { code?: string }) => err.code === '23502')
    const dupAndBad = [...bad, good[1]!]
    await assert.rejects(write((tx) => insertReadings(tx, dupAndBad)))
    assert.equal((await stored()).size, 0)
    await write((tx) => insertReadings(tx, good))
    assert.deepEqual(await stored(), firstPerKey(good))
  })

  test('a value the column type cannot take is refused before anything is sent', async () => {
    const rows = [...fillerRows(COPY_MIN_ROWS), { ...fillerRows(1)[0]!, deviceId: 'frac', intervalMs: 1.5 }]
    await assert.rejects(write((tx) => insertReadings(tx, rows)), /interval_ms \(int8\) cannot take number 1.5/)
    assert.equal((await stored()).size, 0)
  })

  test('small batches take unnest, with the same result', async () => {
    const rows = awkwardRows().slice(0, COPY_MIN_ROWS - 1)
    assert.deepEqual(await write((tx) => insertReadings(tx, rows)), [])
    assert.deepEqual(await stored(), firstPerKey(rows))
    assert.deepEqual(await write((tx) => insertReadings(tx, [])), [])
  })
})
