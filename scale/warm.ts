/**
 * What a partition's detectors are fed when it arrives, read from the store: for devices with a
 * checkpoint, the readings stored after its high-water mark; for the others, history as
 * app/warmup.ts feeds it after a restart (14 days of hourly aggregates, then the raw readings
 * of each device's last hour, so a partition that moved mid-hour misses nothing).
 */
import type { Db } from '../store/index.ts'
import { unitOf, type Consumption, type SubjectKind } from '../vocab/index.ts'

const HOUR = 3_600_000

interface RawRow {
  device_id: string, subject: string, subject_kind: SubjectKind, kind: string, street: string,
  ts: Date, amount: number | null, interval_ms: string | number | null, power_w: number | null, reset: boolean
}

/** A stored reading as ingest hands it to the detectors. */
function rawSample (r: RawRow): Consumption {
  const fault = r.amount === null ? 'implausible' as const : r.reset ? 'reset' as const : null
  return {
    subjectId: r.subject, subjectKind: r.subject_kind, deviceId: r.device_id, street: r.street, unit: unitOf(r.kind),
    ts: r.ts.getTime(), intervalMs: Number(r.interval_ms), amount: r.amount ?? 0, ...(r.power_w !== null ? { powerW: r.power_w } : {}), ...(fault ? { registerFault: fault } : {}),
  }
}

const RAW_COLUMNS = 'r.device_id, d.subject, s.kind AS subject_kind, d.kind, d.street, r.ts, r.amount, r.interval_ms, r.power_w, r.reset'

/** Readings of each device after its mark (ms), in event-time order per device: one index range scan each. */
export async function readSince (db: Db, marks: Array<[deviceId: string, ts: number]>): Promise<Consumption[]> {
  if (marks.length === 0) return []
  const { rows } = await db.query<RawRow>(`
    SELECT ${RAW_COLUMNS}
    FROM unnest($1::text[], $2::timestamptz[]) AS m(device_id, after)
    JOIN readings r ON r.device_id = m.device_id AND r.ts > m.after
    JOIN devices d ON d.id = r.device_id JOIN subjects s ON s.id = d.subject
    WHERE r.interval_ms IS NOT NULL
    ORDER BY r.device_id, r.ts`, [marks.map(([d]) => d), marks.map(([, t]) => new Date(t).toISOString())])
  return rows.map(rawSample)
}

/** Two weeks of hourly aggregates, then the raw readings of each device's last hour. */
export async function readHistory (db: Db, devices: string[]): Promise<Consumption[]> {
  if (devices.length === 0) return []
  // Filters on device_id straight on the view: PostgreSQL pushes them into its GROUP BY (a
  // plain view over readings, or TimescaleDB's continuous aggregate), so only these meters
  // are aggregated.
  const [{ rows: hourly }, { rows: raw }] = await Promise.all([
    db.query<{ device_id: string, subject: string, subject_kind: SubjectKind, kind: string, street: string, bucket: Date, amount: number }>(`
      WITH latest AS (SELECT device_id, max(bucket) AS last FROM energy_hourly WHERE device_id = ANY($1::text[]) GROUP BY device_id)
      SELECT e.device_id, d.subject, s.kind AS subject_kind, d.kind, d.street, e.bucket, e.amount
      FROM energy_hourly e JOIN latest l ON l.device_id = e.device_id JOIN devices d ON d.id = e.device_id JOIN subjects s ON s.id = d.subject
      WHERE e.device_id = ANY($1::text[]) AND e.amount IS NOT NULL
        AND e.bucket >= l.last - INTERVAL '14 days' AND e.bucket < l.last
      ORDER BY e.device_id, e.bucket`, [devices]),
    db.query<RawRow>(`
      WITH latest AS (SELECT device_id, max(ts) AS last FROM readings WHERE device_id = ANY($1::text[]) GROUP BY device_id)
      SELECT ${RAW_COLUMNS}
      FROM readings r JOIN latest l ON l.device_id = r.device_id JOIN devices d ON d.id = r.device_id JOIN subjects s ON s.id = d.subject
      WHERE r.device_id = ANY($1::text[]) AND r.ts >= date_trunc('hour', l.last) AND r.interval_ms IS NOT NULL
      ORDER BY r.device_id, r.ts`, [devices]),
  ])
  const byDevice = new Map<string, Consumption[]>()
  const push = (x: Consumption) => { const l = byDevice.get(x.deviceId) ?? []; l.push(x); byDevice.set(x.deviceId, l) }
  for (const r of hourly) {
    push({ subjectId: r.subject, subjectKind: r.subject_kind, deviceId: r.device_id, street: r.street, unit: unitOf(r.kind), ts: r.bucket.getTime() + HOUR, intervalMs: HOUR, amount: Number(r.amount) })
  }
  for (const r of raw) push(rawSample(r))
  return [...byDevice.values()].flat()
}
