import type { Logger } from 'pino'
import type { DetectorSet } from '../detectors/index.ts'
import type { Db } from '../store/index.ts'

/**
 * Detector state survives a restart: snapshots in `detector_state`, restored at
 * start before the warm-up, which then only adds what came after the snapshot
 * (a detector ignores samples older than the ones it has taken).
 */
export async function restoreDetectors (db: Db, set: DetectorSet, logger: Logger): Promise<number> {
  const byName = new Map(set.detectors.map((d) => [d.name, d]))
  const { rows } = await db.query<{ subject: string, detector: string, state: unknown }>('SELECT subject, detector, state FROM detector_state')
  let restored = 0
  for (const r of rows) {
    const d = byName.get(r.detector)
    if (!d) continue
    try {
      d.restore(r.subject, r.state)
      restored++
    } catch (err) {
      // A snapshot from an older detector version: the warm-up rebuilds the state instead.
      logger.warn({ subject: r.subject, detector: r.detector, err: (err as Error).message }, 'detector snapshot not restored')
    }
  }
  return restored
}

/** Writes every subject's state of every detector; one statement per detector. */
export async function saveDetectors (db: Db, set: DetectorSet): Promise<number> {
  let saved = 0
  for (const d of set.detectors) {
    const subjects: string[] = []
    const states: string[] = []
    for (const s of d.subjects()) {
      const snap = d.snapshot(s)
      if (snap === undefined) continue
      subjects.push(s)
      states.push(JSON.stringify(snap))
    }
    if (subjects.length === 0) continue
    await db.query(`INSERT INTO detector_state (subject, detector, state, updated_at)
      SELECT s, $3, st::jsonb, now() FROM unnest($1::text[], $2::text[]) AS t(s, st)
      ON CONFLICT (subject, detector) DO UPDATE SET state = EXCLUDED.state, updated_at = now()`, [subjects, states, d.name])
    saved += subjects.length
  }
  return saved
}
