import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import type { DetectorSet } from '../detectors/index.ts'
import type { Db } from '../store/index.ts'

/**
 * Detector state survives a restart: snapshots in `detector_state`, restored at
 * start before the warm-up, which then only adds what came after the snapshot
 * (a detector ignores samples older than the ones it has taken).
 */
export async function restoreDetectors (db: Db, set: DetectorSet, logger: Logger): Promise<number> {
  const { rows } = await db.query<{ subject: string, detector: string, state: string }>('SELECT subject, detector, state FROM detector_state')
  return restoreRows(set, rows, logger)
}

/**
 * Gives each detector of `set` its subjects' states, and says how many it took: snapshots as they
 * are stored here (JSON text, parsed one by one) or states already parsed (the scale-out worker's
 * checkpoints). One a detector refuses (an older detector version, a row that is not JSON) is
 * logged and left: the warm-up rebuilds that state instead.
 */
export function restoreRows (set: DetectorSet, rows: Iterable<{ subject: string, detector: string, state: unknown }>, logger: Logger): number {
  const byName = new Map(set.detectors.map((d) => [d.name, d]))
  let restored = 0
  for (const r of rows) {
    const d = byName.get(r.detector)
    if (!d) continue
    try {
      d.restore(r.subject, typeof r.state === 'string' ? JSON.parse(r.state) : r.state)
      restored++
    } catch (err) {
      logger.warn({ subject: r.subject, detector: r.detector, err: (err as Error).message }, 'detector snapshot not restored')
    }
  }
  return restored
}

/**
 * Subjects' states a statement. One statement a detector held the store (the embedded store's one
 * connection: every write waited) and the main thread (the JSON) for as long as all its subjects
 * took: 2,000 subjects with four detectors 0.5 s in all, the main thread stalled 44-58 ms; 20,000,
 * 5 s and 450 ms; 100,000, 30 s and 2.4-2.7 s (exp, 2026-12-02). A chunk of 500 is ~30 ms (~65 ms
 * when the state was jsonb, parsed by the store: now JSON text, migration 16).
 */
const CHUNK = 500

/**
 * Writes every subject's state of every detector, CHUNK subjects a statement. `paced` (the
 * periodic snapshot, while devices publish): it waits as long as each statement took before the next
 * (at most 100 ms), so readings have the store about half the time. Once `cancelled()` (shutdown,
 * whose own snapshot writes every subject again) it ends at the next statement.
 */
export async function saveDetectors (db: Db, set: DetectorSet, { paced = false, cancelled = () => false }: { paced?: boolean, cancelled?: () => boolean } = {}): Promise<number> {
  let saved = 0
  for (const d of set.detectors) {
    let subjects: string[] = []
    let states: string[] = []
    const write = async () => {
      const t = performance.now()
      await db.query(`INSERT INTO detector_state (subject, detector, state, updated_at)
        SELECT s, $3, st, now() FROM unnest($1::text[], $2::text[]) AS t(s, st)
        ON CONFLICT (subject, detector) DO UPDATE SET state = EXCLUDED.state, updated_at = now()`, [subjects, states, d.name])
      saved += subjects.length
      subjects = []
      states = []
      if (paced) await sleep(Math.min(performance.now() - t, 100))
    }
    for (const s of d.subjects()) {
      const snap = d.snapshot(s)
      if (snap === undefined) continue
      subjects.push(s)
      states.push(JSON.stringify(snap))
      if (subjects.length === CHUNK) {
        await write()
        if (cancelled()) return saved
      }
    }
    if (subjects.length > 0) await write()
    if (cancelled()) return saved
  }
  return saved
}
