import type { Db, Queryable } from '../store/index.ts'
import type { ReadingRow } from './meter.ts'

const iso = (ms: number) => new Date(ms).toISOString()

/** One round trip for a whole batch: arrays unnested server-side, duplicates ignored. */
export async function insertReadings (q: Queryable, rows: ReadingRow[]): Promise<void> {
  if (rows.length === 0) return
  await q.query(`INSERT INTO readings (device_id, ts, register, amount, interval_ms, power_w, reset)
    SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::float8[], $4::float8[], $5::bigint[], $6::float8[], $7::bool[])
    ON CONFLICT (device_id, ts) DO NOTHING`, [
    rows.map((r) => r.deviceId), rows.map((r) => iso(r.ts)), rows.map((r) => r.register), rows.map((r) => r.amount),
    rows.map((r) => r.intervalMs), rows.map((r) => r.powerW), rows.map((r) => r.reset)])
}

/**
 * A late reading splits the interval of the reading after it: recompute the
 * amounts from the previous stored reading to the next one.
 */
export async function recomputeAround (q: Queryable, deviceId: string, ts: number): Promise<void> {
  await q.query(`WITH bounds AS (
      SELECT coalesce((SELECT max(ts) FROM readings WHERE device_id = $1 AND ts < $2), $2) AS lo,
             coalesce((SELECT min(ts) FROM readings WHERE device_id = $1 AND ts > $2), $2) AS hi),
    ordered AS (
      SELECT r.ts, r.register, lag(r.register) OVER w AS prev_reg, lag(r.ts) OVER w AS prev_ts
      FROM readings r, bounds b WHERE r.device_id = $1 AND r.ts BETWEEN b.lo AND b.hi
      WINDOW w AS (ORDER BY r.ts))
    UPDATE readings r SET
      amount = CASE WHEN o.register >= o.prev_reg THEN o.register - o.prev_reg ELSE o.register END,
      reset = o.register < o.prev_reg,
      interval_ms = (extract(epoch FROM o.ts - o.prev_ts) * 1000)::bigint
    FROM ordered o
    WHERE r.device_id = $1 AND r.ts = o.ts AND o.prev_reg IS NOT NULL`, [deviceId, iso(ts)])
}

/** The latest stored reading of a device, to resume its register state after a restart. */
export async function latestReading (db: Db, deviceId: string): Promise<{ lastTs: number, lastReg: number } | undefined> {
  const { rows } = await db.query<{ ts: Date, register: number }>(
    'SELECT ts, register FROM readings WHERE device_id = $1 ORDER BY ts DESC LIMIT 1', [deviceId])
  const r = rows[0]
  return r ? { lastTs: r.ts.getTime(), lastReg: r.register } : undefined
}

export async function insertEvent (db: Db, deviceId: string, ts: number, channel: string, body: unknown): Promise<void> {
  await db.query(`INSERT INTO device_events (device_id, ts, channel, body) VALUES ($1, $2, $3, $4)
    ON CONFLICT DO NOTHING`, [deviceId, iso(ts), channel, JSON.stringify(body)])
}

export interface DeadLetter { source: string, topic: string | null, deviceId: string | null, code: string, reason: string, payload: string }

export async function insertDeadLetter (db: Db, d: DeadLetter): Promise<void> {
  await db.query('INSERT INTO dead_letters (source, topic, device_id, code, reason, payload) VALUES ($1,$2,$3,$4,$5,$6)',
    [d.source, d.topic, d.deviceId, d.code, clean(d.reason), clean(d.payload)])
}

/** Postgres text cannot hold NUL: a poison payload must still be kept, never retried forever. */
const clean = (s: string) => s.replace(/\u0000/g, '\\u0000')
