/**
 * Checkpoints of a partition's detector state, kept with the data (migration 13): per subject,
 * every detector's snapshot and, per device, the event time of the last sample the detectors
 * were given. Both are taken in one synchronous pass, so they match: a worker that takes the
 * partition over restores the snapshots and feeds only the readings stored after those times,
 * instead of rebuilding two weeks of history. A checkpoint only replaces an older one (a
 * worker that lost its partition cannot overwrite what the new owner saved since).
 */
import type { DetectorSet } from '../detectors/index.ts'
import type { Db } from '../store/index.ts'

export interface Checkpoint {
  subject: string
  /** Detector name -> its snapshot of the subject. */
  state: Record<string, unknown>
  /** Device id -> event time (ms) of the last sample of that device the detectors were given. */
  fed: Record<string, number>
}

/** Snapshots of `subjects` with the matching high-water marks; synchronous, so nothing is fed in between. */
export function capture (set: DetectorSet, subjects: Iterable<string>, fed: Map<string, Map<string, number>>): Checkpoint[] {
  const out: Checkpoint[] = []
  for (const subject of subjects) {
    const state: Record<string, unknown> = {}
    let any = false
    for (const d of set.detectors) {
      const snap = d.snapshot(subject)
      if (snap === undefined) continue
      state[d.name] = snap
      any = true
    }
    const marks = fed.get(subject)
    if (!any && !marks) continue
    out.push({ subject, state, fed: marks ? Object.fromEntries(marks) : {} })
  }
  return out
}

/** Upserts checkpoints, each only over an older one (by its latest high-water mark); returns how many were written. */
export async function writeCheckpoints (db: Db, cps: Checkpoint[]): Promise<number> {
  if (cps.length === 0) return 0
  const latest = cps.map((c) => {
    const ts = Object.values(c.fed)
    return ts.length > 0 ? new Date(Math.max(...ts)).toISOString() : null
  })
  const { rowCount } = await db.query(`INSERT INTO partition_checkpoints (subject, state, fed, fed_max, saved_at)
    SELECT s, st::jsonb, f::jsonb, m, now() FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS t(s, st, f, m)
    ON CONFLICT (subject) DO UPDATE SET state = EXCLUDED.state, fed = EXCLUDED.fed, fed_max = EXCLUDED.fed_max, saved_at = now()
    WHERE partition_checkpoints.fed_max IS NULL OR EXCLUDED.fed_max >= partition_checkpoints.fed_max`,
  [cps.map((c) => c.subject), cps.map((c) => JSON.stringify(c.state)), cps.map((c) => JSON.stringify(c.fed)), latest])
  return rowCount ?? cps.length
}

export async function readCheckpoints (db: Db, subjects: string[]): Promise<Checkpoint[]> {
  if (subjects.length === 0) return []
  const { rows } = await db.query<{ subject: string, state: Record<string, unknown>, fed: Record<string, number> }>(
    'SELECT subject, state, fed FROM partition_checkpoints WHERE subject = ANY($1)', [subjects])
  return rows
}
