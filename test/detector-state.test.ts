import { test } from 'vitest'
import assert from 'node:assert/strict'
import { restoreDetectors, saveDetectors } from '../app/detector-state.ts'
import { createDetectors, createDetectorSet } from '../detectors/index.ts'
import { createEmbeddedDb } from '../store/embedded.ts'
import { migrate, MIGRATIONS } from '../store/migrations.ts'
import type { Db } from '../store/index.ts'
import { silent } from './helpers.ts'

const QUARTER = 900_000

/**
 * The periodic detector snapshot is written a few hundred subjects a statement: one statement of
 * every subject held the store's one connection, and every reading's write behind it, for as long as
 * they all took (20,000 subjects: 1.3 s a detector). It still restores whole.
 */
test('the detector snapshot goes a few hundred subjects a statement, and a new set restored from it says the same states', async () => {
  const db = await createEmbeddedDb('memory://')
  try {
    await migrate(db, silent)
    const set = createDetectorSet(createDetectors({ utcOffsetHours: 8 }))
    const subjects = 1_200
    const from = Date.UTC(2026, 0, 5)
    for (let t = 1; t <= 8; t++) {
      for (let i = 0; i < subjects; i++) set.update({ subjectId: `e${i}`, subjectKind: 'lone_elder', deviceId: `m${i}`, street: 'S1', unit: 'kwh', ts: from + t * QUARTER, intervalMs: QUARTER, amount: 0.05 + (i % 7) / 100 })
    }
    const sizes: number[] = []
    const watched: Db = { ...db, query: ((sql: string, params?: unknown[]) => { if (sql.includes('INSERT INTO detector_state')) sizes.push((params![0] as string[]).length); return db.query(sql, params) }) as Db['query'] }
    let saved = await saveDetectors(watched, set, { paced: true })
    assert.ok(sizes.length >= 3 * set.detectors.filter((d) => [...d.subjects()].length > 0).length, `several statements a detector: ${sizes.join(', ')}`)
    assert.ok(Math.max(...sizes) <= 500, `at most 500 subjects a statement: ${Math.max(...sizes)}`)
    assert.equal(sizes.reduce((a, b) => a + b, 0), saved)
    const rows = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM detector_state')).rows[0]!.n
    assert.equal(rows, saved, 'one row a subject and detector')
    saved = await saveDetectors(db, set) // again, over the same rows
    assert.equal((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM detector_state')).rows[0]!.n, saved)

    const again = createDetectorSet(createDetectors({ utcOffsetHours: 8 }))
    assert.equal(await restoreDetectors(db, again, silent), saved)
    for (const d of set.detectors) {
      const twin = again.detectors.find((x) => x.name === d.name)!
      for (const s of d.subjects()) assert.deepEqual(twin.snapshot(s), d.snapshot(s), `${d.name} of ${s}`)
    }
  } finally {
    await db.close()
  }
})

test('snapshots written as jsonb before migration 16 are restored after it', async () => {
  const db = await createEmbeddedDb('memory://')
  try {
    await migrate(db, silent, MIGRATIONS.filter((m) => m.id !== 16))
    const set = createDetectorSet(createDetectors({ utcOffsetHours: 8 }))
    const from = Date.UTC(2026, 0, 5)
    for (let t = 1; t <= 8; t++) set.update({ subjectId: 'e1', subjectKind: 'lone_elder', deviceId: 'm1', street: 'S1', unit: 'kwh', ts: from + t * QUARTER, intervalMs: QUARTER, amount: 0.05 * t })
    const inactivity = set.detectors.find((d) => d.name === 'inactivity')!
    // as the earlier build wrote it
    await db.query("INSERT INTO detector_state (subject, detector, state) VALUES ('e1', 'inactivity', $1::jsonb)", [JSON.stringify(inactivity.snapshot('e1'))])
    assert.deepEqual(await migrate(db, silent), [16])
    const again = createDetectorSet(createDetectors({ utcOffsetHours: 8 }))
    assert.equal(await restoreDetectors(db, again, silent), 1)
    assert.deepEqual(again.detectors.find((d) => d.name === 'inactivity')!.snapshot('e1'), inactivity.snapshot('e1'))
    // Text takes anything: a row that is not JSON (an outside edit, a torn write) is skipped, not the start.
    await db.query("INSERT INTO detector_state (subject, detector, state) VALUES ('e2', 'inactivity', '{\"cut')")
    assert.equal(await restoreDetectors(db, createDetectorSet(createDetectors({ utcOffsetHours: 8 })), silent), 1)
  } finally {
    await db.close()
  }
})
