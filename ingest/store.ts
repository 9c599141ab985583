import { createHash } from 'node:crypto'
import { MAX_PLAUSIBLE_KW } from './meter.ts'
import { encodeCopy, type CopyColumn, type CopyRow, type CopyRows, type Db, type EncodedRows, type Queryable, type Transaction } from '../store/index.ts'
import type { ReadingRow, RegisterState } from './meter.ts'

const iso = (ms: number) => new Date(ms).toISOString()

/** The columns a reading is written with by COPY, in the order of readingCopyRow(); types as the table's. */
export const READING_COLUMNS: readonly CopyColumn[] = [
  { name: 'device_id', type: 'text' }, { name: 'ts', type: 'timestamptz' }, { name: 'register', type: 'float8' },
  { name: 'amount', type: 'float8' }, { name: 'interval_ms', type: 'int8' }, { name: 'power_w', type: 'float8' },
  { name: 'reset', type: 'bool' },
]

export const readingCopyRow = (r: ReadingRow): CopyRow => [r.deviceId, r.ts, r.register, r.amount, r.intervalMs, r.powerW, r.reset]

/**
 * Batches at least this large go through COPY where the transaction offers it;
 * smaller ones through unnest, whose one round trip beats COPY's three. The
 * two tie at about 30 rows on both stores (`npm run bench -- --detail`).
 */
export const COPY_MIN_ROWS = 50

export interface InsertReadingsOptions {
  /** Batches at least this large take COPY where the transaction offers it; default COPY_MIN_ROWS. */
  copyMinRows?: number
}

/**
 * A batch of readings as the writer takes it (packReadings): its rows in primary-key order, as
 * COPY data when there are COPY_MIN_ROWS or more, else as they are (unnest); and the key of
 * each late one. Plain data: on the embedded store's thread the COPY data is moved there in
 * one buffer (WRITE_READINGS' transfer), no row crosses as an object.
 */
export interface ReadingBatch {
  rows: EncodedRows | ReadingRow[]
  late: Array<{ deviceId: string, ts: number }>
}

/**
 * Readings in primary-key order, which the key's btree takes faster (measured, medians of five:
 * 13-20% on the embedded store, 4-13% on PostgreSQL), encoded for COPY when at least
 * `copyMinRows`. The sort is stable, so the first of two rows with one key still wins.
 */
export function packReadings (rows: readonly ReadingRow[], { copyMinRows = COPY_MIN_ROWS }: InsertReadingsOptions = {}): ReadingBatch {
  const sorted = rows.slice().sort(byKey)
  const late: ReadingBatch['late'] = []
  for (const r of rows) if (r.late) late.push({ deviceId: r.deviceId, ts: r.ts })
  return { rows: sorted.length >= copyMinRows ? encodeCopy(READING_COLUMNS, sorted.map(readingCopyRow)) : sorted, late }
}

/** Writes a batch of readings, ignoring duplicates, by the faster path for its size (packReadings). */
export async function insertReadings (q: Transaction, rows: ReadingRow[], { copyMinRows = COPY_MIN_ROWS }: InsertReadingsOptions = {}): Promise<void> {
  return writeRows(q, packReadings(rows, { copyMinRows: q.copyRows && q.copyNewRows ? copyMinRows : Infinity }).rows)
}

const byKey = (a: ReadingRow, b: ReadingRow) => a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : a.ts - b.ts

/** Packed rows (packReadings) by their path: COPY data by copyReadings, rows by unnest. */
function writeRows (q: Transaction, rows: ReadingBatch['rows']): Promise<void> {
  if (Array.isArray(rows)) return unnestReadings(q, rows)
  if (!q.copyRows || !q.copyNewRows) throw new Error('readings encoded for COPY, and this transaction has no COPY')
  return copyReadings(q as Required<Transaction>, rows)
}

/** One round trip for a whole batch: arrays unnested server-side, duplicates ignored. */
export async function unnestReadings (q: Queryable, rows: ReadingRow[]): Promise<void> {
  if (rows.length === 0) return
  await q.query(`INSERT INTO readings (device_id, ts, register, amount, interval_ms, power_w, reset)
    SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::float8[], $4::float8[], $5::bigint[], $6::float8[], $7::bool[])
    ON CONFLICT (device_id, ts) DO NOTHING`, [
    rows.map((r) => r.deviceId), rows.map((r) => iso(r.ts)), rows.map((r) => r.register), rows.map((r) => r.amount),
    rows.map((r) => r.intervalMs), rows.map((r) => r.powerW), rows.map((r) => r.reset)])
}

/**
 * COPY straight into readings as one step that writes all or nothing (copyNewRows: a
 * savepoint around it): new rows, the usual case, go in at bare COPY speed. A duplicate key
 * fails the COPY whole; then the batch goes through staging, which skips duplicates. Either
 * way the result is that of ON CONFLICT DO NOTHING. `rows` as ReadingRows are taken in the
 * order given (packReadings sorts them).
 */
export async function copyReadings (q: Required<Transaction>, rows: ReadingRow[] | EncodedRows): Promise<void> {
  if (rows.length === 0) return
  const copyRows = Array.isArray(rows) ? rows.map(readingCopyRow) : rows
  if (await q.copyNewRows('readings', READING_COLUMNS, copyRows)) return
  return stageReadings(q, copyRows)
}

const COLUMN_LIST = READING_COLUMNS.map((c) => c.name).join(', ')

/**
 * COPY into a session-local staging table, then one INSERT ... SELECT that
 * ignores duplicates, the first in the batch winning, as with unnest. The
 * DELETE leaves the staging table empty for another batch in the same
 * transaction; ON COMMIT DELETE ROWS frees its space, as no autovacuum visits
 * temporary tables.
 */
export async function stageReadings (q: Required<Transaction>, rows: CopyRows): Promise<void> {
  if (rows.length === 0) return
  await q.query(`CREATE TEMP TABLE IF NOT EXISTS readings_staging (LIKE readings INCLUDING DEFAULTS,
    ord bigint GENERATED ALWAYS AS IDENTITY) ON COMMIT DELETE ROWS`)
  await q.copyRows('readings_staging', READING_COLUMNS, rows)
  await q.query(`WITH staged AS (DELETE FROM readings_staging RETURNING *)
    INSERT INTO readings (${COLUMN_LIST}) SELECT ${COLUMN_LIST} FROM staged ORDER BY ord
    ON CONFLICT (device_id, ts) DO NOTHING`)
}

/**
 * One batch of the ingest writer (packReadings): its readings, then the amounts around its late
 * ones. A store task (store/task.ts): on the embedded store it runs on the store's thread in one
 * message, its COPY data moved there (READING_BATCH_TRANSFER).
 */
export async function writeReadings (tx: Transaction, batch: ReadingBatch): Promise<void> {
  await writeRows(tx, batch.rows)
  await recomputeLate(tx, batch.late)
}

/** The buffer of a batch handed to the store's thread by Db.run (StoreTask.transfer). */
export const READING_BATCH_TRANSFER = (batch: ReadingBatch): ArrayBuffer[] => Array.isArray(batch.rows) ? [] : [batch.rows.encoded.buffer as ArrayBuffer]

/** Late readings closer than this to each other are recomputed as one stretch. */
const LATE_GAP_MS = 6 * 3_600_000

/**
 * Late readings split the intervals of the readings after them: recompute the
 * amounts over each stretch of late readings, from the stored reading before
 * it to the one after it, in one statement for the whole batch. A stretch is a
 * range scan (its chunks found once), not a lookup per reading: a day of late
 * 15-minute points is one stretch however long the meter's history.
 */
export async function recomputeLate (q: Queryable, late: ReadonlyArray<{ deviceId: string, ts: number }>): Promise<void> {
  if (late.length === 0) return
  const stretches: Array<{ deviceId: string, from: number, to: number }> = []
  for (const l of [...late].sort((x, y) => x.deviceId < y.deviceId ? -1 : x.deviceId > y.deviceId ? 1 : x.ts - y.ts)) {
    const last = stretches.at(-1)
    if (last && last.deviceId === l.deviceId && l.ts - last.to <= LATE_GAP_MS) last.to = l.ts
    else stretches.push({ deviceId: l.deviceId, from: l.ts, to: l.ts })
  }
  // First the stored neighbours of each stretch, then the update with the outer
  // bounds as plain values, so the store reads only the chunks they span.
  const { rows: bounds } = await q.query<{ device_id: string, lo: Date, hi: Date }>(`SELECT s.device_id,
      coalesce((SELECT max(r.ts) FROM readings r WHERE r.device_id = s.device_id AND r.ts < s.a), s.a) AS lo,
      coalesce((SELECT min(r.ts) FROM readings r WHERE r.device_id = s.device_id AND r.ts > s.b), s.b) AS hi
    FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS s(device_id, a, b)`,
  [stretches.map((x) => x.deviceId), stretches.map((x) => iso(x.from)), stretches.map((x) => iso(x.to))])
  const lo = Math.min(...bounds.map((b) => b.lo.getTime()))
  const hi = Math.max(...bounds.map((b) => b.hi.getTime()))
  await q.query(`WITH b AS (SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) WITH ORDINALITY AS b(device_id, lo, hi, n)),
    o AS (
      SELECT r.device_id, r.ts, r.register, lag(r.register) OVER w AS prev_reg, lag(r.ts) OVER w AS prev_ts
      FROM b JOIN readings r ON r.device_id = b.device_id AND r.ts BETWEEN b.lo AND b.hi
      WHERE r.ts BETWEEN $4::timestamptz AND $5::timestamptz
      WINDOW w AS (PARTITION BY b.n ORDER BY r.ts))
    UPDATE readings r SET
      -- As step() in meter.ts: a delta (or a reset's count) more than a home can draw is no consumption.
      amount = CASE WHEN (CASE WHEN o.register >= o.prev_reg THEN o.register - o.prev_reg ELSE o.register END)
                      > $6::float8 * extract(epoch FROM o.ts - o.prev_ts) / 3600 THEN NULL
                    WHEN o.register >= o.prev_reg THEN o.register - o.prev_reg ELSE o.register END,
      reset = o.register < o.prev_reg,
      interval_ms = (extract(epoch FROM o.ts - o.prev_ts) * 1000)::bigint
    FROM o
    WHERE r.device_id = o.device_id AND r.ts = o.ts AND o.prev_reg IS NOT NULL AND r.ts BETWEEN $4::timestamptz AND $5::timestamptz`,
  [bounds.map((b) => b.device_id), bounds.map((b) => b.lo), bounds.map((b) => b.hi), iso(lo), iso(hi), MAX_PLAUSIBLE_KW])
}

/** One late reading: recomputeLate() for it alone. */
export const recomputeAround = (q: Queryable, deviceId: string, ts: number) => recomputeLate(q, [{ deviceId, ts }])

/** The latest stored reading of a device, to resume its register state after a restart. */
export async function latestReading (db: Queryable, deviceId: string): Promise<RegisterState | undefined> {
  return (await latestReadings(db, [deviceId])).get(deviceId)
}

/** The latest stored reading of each device, in one statement: an index probe per device, newest first. */
export async function latestReadings (db: Queryable, deviceIds: readonly string[]): Promise<Map<string, RegisterState>> {
  const { rows } = await db.query<{ device_id: string, ts: Date, register: number }>(`SELECT d.device_id, r.ts, r.register
    FROM unnest($1::text[]) AS d(device_id)
    CROSS JOIN LATERAL (SELECT ts, register FROM readings WHERE device_id = d.device_id ORDER BY ts DESC LIMIT 1) r`, [deviceIds])
  return new Map(rows.map((r) => [r.device_id, { lastTs: r.ts.getTime(), lastReg: r.register }]))
}

export async function insertEvent (db: Db, deviceId: string, ts: number, channel: string, body: unknown): Promise<void> {
  await db.query(`INSERT INTO device_events (device_id, ts, channel, body) VALUES ($1, $2, $3, $4)
    ON CONFLICT DO NOTHING`, [deviceId, iso(ts), channel, JSON.stringify(body)])
}

export interface DeadLetter {
  source: string
  topic: string | null
  deviceId: string | null
  code: string
  reason: string
  /** The payload, or the part of it that was refused; kept as an excerpt of at most DEAD_LETTER_EXCERPT bytes. */
  payload: Buffer | string
  /** Size and sha256 of the whole payload when `payload` is only its start (one never held whole); default: of `payload`. */
  whole?: { bytes: number, sha256: string }
}

/** Bytes of a dead payload kept; its size and sha256 are kept whole. */
export const DEAD_LETTER_EXCERPT = 4096

/** Dead letters in one statement, each payload as a bounded excerpt with its size and sha256. */
export async function insertDeadLetters (db: Queryable, list: readonly DeadLetter[]): Promise<void> {
  if (list.length === 0) return
  const kept = list.map((d) => {
    const buf = typeof d.payload === 'string' ? Buffer.from(d.payload, 'utf8') : d.payload
    return { ...d, bytes: d.whole?.bytes ?? buf.length, sha256: d.whole?.sha256 ?? createHash('sha256').update(buf).digest('hex'), excerpt: excerpt(buf) }
  })
  await db.query(`INSERT INTO dead_letters (source, topic, device_id, code, reason, payload, payload_bytes, payload_sha256)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[])`, [
    kept.map((d) => d.source), kept.map((d) => d.topic === null ? null : clean(d.topic.slice(0, 1024))), kept.map((d) => d.deviceId === null ? null : clean(d.deviceId)),
    kept.map((d) => d.code), kept.map((d) => clean(d.reason.slice(0, 2000))), kept.map((d) => d.excerpt), kept.map((d) => d.bytes), kept.map((d) => d.sha256)])
}

export const insertDeadLetter = (db: Queryable, d: DeadLetter) => insertDeadLetters(db, [d])

/**
 * The first DEAD_LETTER_EXCERPT bytes as text; binary that Postgres text cannot
 * hold (NUL, invalid UTF-8) as `base64:`. A character cut at the end is dropped.
 */
export function excerpt (buf: Buffer): string {
  const cut = buf.length > DEAD_LETTER_EXCERPT
  let text = buf.subarray(0, DEAD_LETTER_EXCERPT).toString('utf8')
  if (cut) text = text.replace(/\uFFFD{1,3}$/, '')
  if (text.includes('\u0000') || text.includes('\uFFFD')) return 'base64:' + buf.subarray(0, Math.floor(DEAD_LETTER_EXCERPT * 3 / 4)).toString('base64')
  return text
}

/** Postgres text cannot hold NUL: a poison payload must still be kept, never retried forever. */
const clean = (s: string) => s.replace(/\u0000/g, '\\u0000')
