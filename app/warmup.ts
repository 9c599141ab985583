import type { Db } from '../store/index.ts'
import { unitOf, type Consumption, type SubjectKind } from '../vocab/index.ts'

const HOUR = 3_600_000

/**
 * Detector warm-up after a restart: the last days of hourly energy per metered
 * subject, read from the aggregates (not the raw rows), fed in event-time order.
 * The device's last, possibly unfinished, hour is left to the live readings.
 */
export async function warmUp (db: Db, feed: (s: Consumption) => void, days = 14): Promise<number> {
  const { rows } = await db.query<{ device_id: string, subject: string, subject_kind: SubjectKind, kind: string, street: string, bucket: Date, amount: number }>(`
    WITH latest AS (SELECT device_id, max(bucket) AS last FROM energy_hourly GROUP BY device_id)
    SELECT e.device_id, d.subject, s.kind AS subject_kind, d.kind, d.street, e.bucket, e.amount
    FROM energy_hourly e
    JOIN latest l ON l.device_id = e.device_id
    JOIN devices d ON d.id = e.device_id
    JOIN subjects s ON s.id = d.subject
    WHERE d.kind IN ('meter', 'water_meter') AND e.amount IS NOT NULL
      AND e.bucket >= l.last - make_interval(days => $1::int) AND e.bucket < l.last
    ORDER BY e.device_id, e.bucket`, [days])
  for (const r of rows) {
    feed({
      subjectId: r.subject, subjectKind: r.subject_kind, deviceId: r.device_id, street: r.street, unit: unitOf(r.kind),
      ts: r.bucket.getTime() + HOUR, intervalMs: HOUR, amount: Number(r.amount),
    })
  }
  return rows.length
}
