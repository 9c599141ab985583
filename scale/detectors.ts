/**
 * Detector state by partition: a worker keeps one detector set per partition it is active
 * for, built when the partition arrives and dropped when it goes. It is built from the
 * partition's checkpoints (checkpoint.ts, taken every few seconds, on hand-over and on stop)
 * and the readings stored after them; subjects without one from their stored history
 * (warm.ts). Outwardly one DetectorSet that routes by street, so the composition root wires
 * it as it wires the single set.
 */
import type { Logger } from 'pino'
import { restoreRows } from '../app/detector-state.ts'
import type { DetectorSet } from '../detectors/index.ts'
import type { Feedback } from '../detectors/types.ts'
import type { Db } from '../store/index.ts'
import type { Anomaly, Consumption } from '../vocab/index.ts'
import { capture, readCheckpoints, writeCheckpoints } from './checkpoint.ts'
import { partitionOf } from './partition.ts'
import { readHistory, readSince } from './warm.ts'

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

/** One active partition: its detectors, the last sample time per subject and device, the subjects changed since the last checkpoint. */
interface Part {
  set: DetectorSet
  fed: Map<string, Map<string, number>>
  dirty: Set<string>
}

export function createPartitionedDetectors (deps: PartitionedDetectorsDeps) {
  const log = deps.logger.child({ module: 'partitions' })
  const parts = new Map<number, Part>()
  const deviceStreet = new Map<string, string>()
  const subjectStreet = new Map<string, string>()
  const partOf = (street: string | undefined) => street === undefined ? undefined : parts.get(partitionOf(street, deps.partitions))
  const NONE: Anomaly[] = []

  /** Feeds a sample to its partition, noting how far its device has got and that its subject changed. */
  function feed (part: Part, sample: Consumption): Anomaly[] {
    let marks = part.fed.get(sample.subjectId)
    if (!marks) part.fed.set(sample.subjectId, marks = new Map())
    const had = marks.get(sample.deviceId)
    if (had === undefined || sample.ts > had) marks.set(sample.deviceId, sample.ts)
    part.dirty.add(sample.subjectId)
    return part.set.update(sample)
  }

  /** Applies feedback here when the subject's partition is here; true if it was. */
  function applyLocal (fb: Feedback, street: string | undefined): boolean {
    const part = partOf(street)
    if (!part) return false
    part.set.feedback(fb)
    part.dirty.add(fb.subjectId)
    return true
  }

  const set: DetectorSet = {
    detectors: [],
    update (sample: Consumption) {
      const street = sample.street ?? deviceStreet.get(sample.deviceId)
      if (street !== undefined) subjectStreet.set(sample.subjectId, street)
      const part = partOf(street)
      return part ? feed(part, sample) : NONE
    },
    event (e) {
      const street = deviceStreet.get(e.deviceId)
      if (street !== undefined) subjectStreet.set(e.subjectId, street)
      const part = partOf(street)
      if (!part) return NONE
      part.dirty.add(e.subjectId)
      return part.set.event(e)
    },
    tick (now) {
      const out: Anomaly[] = []
      for (const part of parts.values()) out.push(...part.set.tick(now))
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

  /**
   * Builds partition p's detector state: the checkpoints of its subjects, then the readings
   * stored after them; subjects or meters without one get their history (and the older
   * restart snapshot in detector_state, if any) instead.
   */
  async function activate (p: number, how: Activation, known?: Iterable<string>): Promise<{ restored: number, samples: number }> {
    const t0 = Date.now()
    const streets = known ? [...known].filter((s) => partitionOf(s, deps.partitions) === p) : await streetsOf(p)
    const part: Part = { set: deps.make(), fed: new Map(), dirty: new Set() }
    parts.set(p, part)
    const { rows: devices } = await deps.db.query<{ id: string, subject: string | null, street: string, kind: string }>(
      'SELECT id, subject, street, kind FROM devices WHERE street = ANY($1)', [streets])
    for (const d of devices) {
      deviceStreet.set(d.id, d.street)
      if (d.subject) subjectStreet.set(d.subject, d.street)
    }
    how.onDevices?.(devices.map((d) => d.id))
    const subjects = [...new Set(devices.map((d) => d.subject).filter((x): x is string => x !== null))]
    const t1 = Date.now()
    const checkpoints = await readCheckpoints(deps.db, subjects)
    const restored = restoreRows(part.set, checkpoints.map((c) => Object.entries(c.state).map(([detector, state]) => ({ subject: c.subject, detector, state }))).flat(), log)
    const marks: Array<[string, number]> = []
    const withMark = new Set<string>()
    for (const c of checkpoints) {
      const fed = new Map(Object.entries(c.fed))
      part.fed.set(c.subject, fed)
      for (const [id, ts] of fed) { marks.push([id, ts]); withMark.add(id) }
    }
    const metered = devices.filter((d) => d.subject !== null && (d.kind === 'meter' || d.kind === 'water_meter'))
    const rest = metered.filter((d) => !withMark.has(d.id))
    const checkpointed = new Set(checkpoints.map((c) => c.subject))
    const [since, history, snapshots] = await Promise.all([
      readSince(deps.db, marks),
      readHistory(deps.db, rest.map((d) => d.id)),
      readSnapshots([...new Set(rest.map((d) => d.subject!))].filter((s) => !checkpointed.has(s))),
    ])
    const t2 = Date.now()
    const older = restoreRows(part.set, snapshots, log)
    // Anomalies of the rebuild go to the alerts, whose episode check drops what was raised already.
    for (const x of [...history, ...since]) { if (parts.get(p) !== part) break; for (const a of feed(part, x)) how.onAnomaly(a) }
    // Absence windows follow without holding the partition's messages: the alerts check
    // declared absences themselves before raising.
    how.onSubjects?.(subjects).catch((err) => log.warn({ err: (err as Error).message, partition: p }, 'absence windows not sent'))
    log.info({ partition: p, streets: streets.length, subjects: subjects.length, checkpoints: checkpoints.length, restored: restored + older, sinceCheckpoint: since.length, history: history.length, ms: Date.now() - t0, lookupMs: t1 - t0, readMs: t2 - t1 }, `partition ${p}: detector state rebuilt`)
    return { restored: restored + older, samples: since.length + history.length }
  }

  /** Restart snapshots (app/detector-state.ts) of subjects that have no checkpoint yet. */
  async function readSnapshots (subjects: string[]) {
    if (subjects.length === 0) return []
    return (await deps.db.query<{ subject: string, detector: string, state: string }>(
      'SELECT subject, detector, state FROM detector_state WHERE subject = ANY($1)', [subjects])).rows
  }

  /** Checkpoints the subjects of partition p changed since its last checkpoint (all with `all`). */
  async function checkpoint (p: number, all = false): Promise<number> {
    const part = parts.get(p)
    if (!part) return 0
    const subjects = all ? new Set([...part.fed.keys(), ...part.set.detectors.flatMap((d) => [...d.subjects()])]) : part.dirty
    part.dirty = new Set()
    const cps = capture(part.set, subjects, part.fed)
    try {
      return await writeCheckpoints(deps.db, cps)
    } catch (err) {
      for (const s of subjects) part.dirty.add(s) // tried again next time
      throw err
    }
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
    /** Partition p goes to another worker: a checkpoint first, then it is forgotten here. */
    async handOver (p: number): Promise<void> {
      const part = parts.get(p)
      if (!part) return
      await checkpoint(p)
      if (parts.get(p) === part) parts.delete(p)
    },
    /** Every partition went elsewhere. */
    release () { parts.clear() },
    /** Checkpoints what changed in every active partition; returns the subjects written. */
    async save (): Promise<number> {
      let n = 0
      for (const p of [...parts.keys()]) n += await checkpoint(p)
      return n
    },
    checkpoint,
    /** Partition p's detector set while it is active here. */
    detectorsOf (p: number): DetectorSet | undefined { return parts.get(p)?.set },
    get active () { return [...parts.keys()].sort((a, b) => a - b) },
  }
}

export type PartitionedDetectors = ReturnType<typeof createPartitionedDetectors>
