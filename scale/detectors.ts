/**
 * Detector state by partition: a worker keeps one detector set per partition it is active
 * for, built when the partition arrives (snapshots of its streets' subjects, then the stored
 * readings since: hourly aggregates, then the raw readings of the last hour) and dropped
 * when it goes. Outwardly one DetectorSet that routes by street, so the composition root
 * wires it as it wires the single set.
 */
import type { Logger } from 'pino'
import type { DetectorSet } from '../detectors/index.ts'
import type { Feedback } from '../detectors/types.ts'
import type { Db } from '../store/index.ts'
import type { Anomaly, Consumption, SubjectKind } from '../vocab/index.ts'
import { saveDetectors } from '../app/detector-state.ts'
import { partitionOf } from './partition.ts'

const HOUR = 3_600_000

export interface PartitionedDetectorsDeps {
  db: Db
  logger: Logger
  partitions: number
  /** A fresh, empty detector set. */
  make: () => DetectorSet
  /** Feedback for a subject of a partition active on another worker (sent there). */
  remoteFeedback?: (fb: Feedback) => void
}

export interface Activation {
  /** Anomalies the rebuild raised (an episode the last owner had not applied, say): to the alerts. */
  onAnomaly: (a: Anomaly) => void
  /** Subjects of the partition, to be sent their absence windows. */
  onSubjects?: (subjects: string[]) => Promise<void>
  /** Devices of the partition, whose cached register state may be stale. */
  onDevices?: (ids: string[]) => void
}

export function createPartitionedDetectors (deps: PartitionedDetectorsDeps) {
  const log = deps.logger.child({ module: 'partitions' })
  const sets = new Map<number, DetectorSet>()
  const deviceStreet = new Map<string, string>()
  const subjectStreet = new Map<string, string>()
  const setOf = (street: string | undefined) => street === undefined ? undefined : sets.get(partitionOf(street, deps.partitions))
  const NONE: Anomaly[] = []

  /** Applies feedback here when the subject's partition is here; true if it was. */
  function applyLocal (fb: Feedback, street: string | undefined): boolean {
    const s = setOf(street)
    if (!s) return false
    s.feedback(fb)
    return true
  }

  const set: DetectorSet = {
    detectors: [],
    update (sample: Consumption) {
      const street = sample.street ?? deviceStreet.get(sample.deviceId)
      if (street !== undefined) subjectStreet.set(sample.subjectId, street)
      return setOf(street)?.update(sample) ?? NONE
    },
    event (e) {
      const street = deviceStreet.get(e.deviceId)
      if (street !== undefined) subjectStreet.set(e.subjectId, street)
      return setOf(street)?.event(e) ?? NONE
    },
    tick (now) {
      const out: Anomaly[] = []
      for (const s of sets.values()) out.push(...s.tick(now))
      return out
    },
    feedback (fb) {
      const known = subjectStreet.get(fb.subjectId)
      if (known !== undefined) {
        if (!applyLocal(fb, known)) deps.remoteFeedback?.(fb)
        return
      }
      deps.db.query<{ street: string }>('SELECT street FROM devices WHERE subject = $1 LIMIT 1', [fb.subjectId]).then(({ rows }) => {
        const street = rows[0]?.street
        if (street === undefined) return
        subjectStreet.set(fb.subjectId, street)
        if (!applyLocal(fb, street)) deps.remoteFeedback?.(fb)
      }, (err) => log.warn({ err: (err as Error).message }, 'feedback not routed'))
    },
  }

  /** Streets of one partition among those the registry and address base know. */
  async function streetsOf (p: number): Promise<string[]> {
    const { rows } = await deps.db.query<{ street: string }>(`SELECT DISTINCT street FROM devices
      UNION SELECT code FROM addresses WHERE level = 'street'`)
    return rows.map((r) => r.street).filter((s) => partitionOf(s, deps.partitions) === p)
  }

  /** Builds partition p's detector state from the store. */
  async function activate (p: number, how: Activation, known?: Iterable<string>): Promise<void> {
    const t0 = Date.now()
    const streets = known ? [...known].filter((s) => partitionOf(s, deps.partitions) === p) : await streetsOf(p)
    const s = deps.make()
    sets.set(p, s)
    const { rows: devices } = await deps.db.query<{ id: string, subject: string | null, street: string }>(
      'SELECT id, subject, street FROM devices WHERE street = ANY($1)', [streets])
    for (const d of devices) {
      deviceStreet.set(d.id, d.street)
      if (d.subject) subjectStreet.set(d.subject, d.street)
    }
    how.onDevices?.(devices.map((d) => d.id))
    const subjects = [...new Set(devices.map((d) => d.subject).filter((x): x is string => x !== null))]
    const t1 = Date.now()
    // Both reads at once; the snapshots go in first, then the samples (older ones are ignored).
    const [snapshots, samples] = await Promise.all([readSnapshots(subjects), readSamples(devices.map((d) => d.id))])
    const t2 = Date.now()
    const restored = restore(s, snapshots)
    // Anomalies of the rebuild go to the alerts, whose episode check drops what was raised already.
    for (const x of samples) { if (sets.get(p) !== s) break; for (const a of s.update(x)) how.onAnomaly(a) }
    // Absence windows follow without holding the partition's messages: the alerts check
    // declared absences themselves before raising.
    how.onSubjects?.(subjects).catch((err) => log.warn({ err: (err as Error).message, partition: p }, 'absence windows not sent'))
    log.info({ partition: p, streets: streets.length, subjects: subjects.length, restored, samples: samples.length, ms: Date.now() - t0, lookupMs: t1 - t0, readMs: t2 - t1 }, `partition ${p}: detector state rebuilt`)
  }

  async function readSnapshots (subjects: string[]) {
    if (subjects.length === 0) return []
    return (await deps.db.query<{ subject: string, detector: string, state: unknown }>(
      'SELECT subject, detector, state FROM detector_state WHERE subject = ANY($1)', [subjects])).rows
  }

  function restore (s: DetectorSet, rows: Array<{ subject: string, detector: string, state: unknown }>): number {
    const byName = new Map(s.detectors.map((d) => [d.name, d]))
    let n = 0
    for (const r of rows) {
      try { byName.get(r.detector)?.restore(r.subject, r.state); n++ } catch (err) {
        log.warn({ subject: r.subject, detector: r.detector, err: (err as Error).message }, 'detector snapshot not restored')
      }
    }
    return n
  }

  /**
   * The partition's stored readings, as app/warmup.ts feeds them after a restart (14 days of
   * hourly aggregates), then the raw readings of each device's last hour, so a partition that
   * moved mid-hour misses nothing its last owner stored.
   */
  async function readSamples (devices: string[]): Promise<Consumption[]> {
    if (devices.length === 0) return []
    // Filters on device_id straight on the view: PostgreSQL pushes them into its GROUP BY (a
    // plain view over readings, or TimescaleDB's continuous aggregate), so only this
    // partition's meters are aggregated.
    const { rows: hourly } = await deps.db.query<{ device_id: string, subject: string, subject_kind: SubjectKind, kind: string, street: string, bucket: Date, amount: number }>(`
      WITH latest AS (SELECT device_id, max(bucket) AS last FROM energy_hourly WHERE device_id = ANY($1::text[]) GROUP BY device_id)
      SELECT e.device_id, d.subject, s.kind AS subject_kind, d.kind, d.street, e.bucket, e.amount
      FROM energy_hourly e JOIN latest l ON l.device_id = e.device_id JOIN devices d ON d.id = e.device_id JOIN subjects s ON s.id = d.subject
      WHERE e.device_id = ANY($1::text[]) AND d.kind IN ('meter', 'water_meter') AND e.amount IS NOT NULL
        AND e.bucket >= l.last - INTERVAL '14 days' AND e.bucket < l.last
      ORDER BY e.device_id, e.bucket`, [devices])
    const { rows: raw } = await deps.db.query<{ device_id: string, subject: string, subject_kind: SubjectKind, kind: string, street: string, ts: Date, amount: number | null, interval_ms: string | number | null, power_w: number | null, reset: boolean }>(`
      WITH latest AS (SELECT device_id, max(ts) AS last FROM readings WHERE device_id = ANY($1::text[]) GROUP BY device_id)
      SELECT r.device_id, d.subject, s.kind AS subject_kind, d.kind, d.street, r.ts, r.amount, r.interval_ms, r.power_w, r.reset
      FROM readings r JOIN latest l ON l.device_id = r.device_id JOIN devices d ON d.id = r.device_id JOIN subjects s ON s.id = d.subject
      WHERE r.device_id = ANY($1::text[]) AND d.kind IN ('meter', 'water_meter') AND r.ts >= date_trunc('hour', l.last) AND r.interval_ms IS NOT NULL
      ORDER BY r.device_id, r.ts`, [devices])
    const byDevice = new Map<string, Consumption[]>()
    const push = (x: Consumption) => { const l = byDevice.get(x.deviceId) ?? []; l.push(x); byDevice.set(x.deviceId, l) }
    for (const r of hourly) {
      push({ subjectId: r.subject, subjectKind: r.subject_kind, deviceId: r.device_id, street: r.street, unit: r.kind === 'water_meter' ? 'm3' : 'kwh', ts: r.bucket.getTime() + HOUR, intervalMs: HOUR, amount: Number(r.amount) })
    }
    for (const r of raw) {
      const fault = r.amount === null ? 'implausible' as const : r.reset ? 'reset' as const : null
      push({
        subjectId: r.subject, subjectKind: r.subject_kind, deviceId: r.device_id, street: r.street, unit: r.kind === 'water_meter' ? 'm3' : 'kwh',
        ts: r.ts.getTime(), intervalMs: Number(r.interval_ms), amount: r.amount ?? 0, ...(r.power_w !== null ? { powerW: r.power_w } : {}), ...(fault ? { registerFault: fault } : {}),
      })
    }
    return [...byDevice.values()].flat()
  }

  return {
    set,
    activate,
    /** Records a device's street (from its topic) so its camera events find their partition. */
    noteDevice (id: string, street: string) { deviceStreet.set(id, street) },
    /** Feedback from another worker: applied only where the subject's partition is active. */
    applyRemote (fb: Feedback) {
      const street = subjectStreet.get(fb.subjectId)
      if (street !== undefined) { applyLocal(fb, street); return }
      deps.db.query<{ street: string }>('SELECT street FROM devices WHERE subject = $1 LIMIT 1', [fb.subjectId])
        .then(({ rows }) => { if (rows[0]) applyLocal(fb, rows[0].street) }, () => {})
    },
    /** Partition p goes to another worker: its snapshots first, then it is forgotten here. */
    async handOver (p: number): Promise<void> {
      const s = sets.get(p)
      if (!s) return
      await saveDetectors(deps.db, s)
      if (sets.get(p) === s) sets.delete(p)
    },
    /** Every partition went elsewhere. */
    release () { sets.clear() },
    /** Snapshots of every active partition's subjects. */
    async save (): Promise<number> {
      let n = 0
      for (const s of [...sets.values()]) n += await saveDetectors(deps.db, s)
      return n
    },
    get active () { return [...sets.keys()].sort((a, b) => a - b) },
  }
}

export type PartitionedDetectors = ReturnType<typeof createPartitionedDetectors>
