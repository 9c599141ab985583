import { test } from 'vitest'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import type { Anomaly } from '../vocab/index.ts'
import { createDetectors, createDetectorSet, type DetectorSet } from '../detectors/index.ts'
import { rememberedAs, thousandths } from '../detectors/inactivity-state.ts'
import { CUT, workload } from './detector-snapshots.workload.ts'

/**
 * Snapshots written by an earlier build (the fixture: main's detectors, before the state was laid
 * out anew) still restore: each detector says back exactly the snapshot it was given (same keys,
 * same order, same numbers; inactivity's remembered hours as its 12-bit codes keep them: exact
 * below 2,048 Wh, to 16 Wh above; its runs' bars, mornings and last raised run's score to thousandths),
 * and goes on to say what the earlier build said after the cut.
 */
const fixture = JSON.parse(readFileSync(new URL('./detector-snapshots.fixture.json', import.meta.url), 'utf8')) as {
  cut: number
  snapshots: Record<string, Record<string, unknown>>
  /** What a set fed everything said after the cut, and one restored from the snapshots (peer groups are not snapshotted: they form again from the next samples, so the two differ on that day). */
  after: Anomaly[]
  afterRestored: Anomaly[]
}
const all = workload()

interface InactivitySnap { hist: number[], lim: number[], wake: number[], lastRun: number[] }
/** An inactivity snapshot as the state keeps it: the remembered hours as their 12-bit codes, the learned fractions of the small tables to thousandths (16 bits). */
const inactivityKept = (snap: InactivitySnap) => ({
  ...snap,
  hist: snap.hist.map(rememberedAs),
  lim: snap.lim.map((x) => x < 0 ? -1 : thousandths(x)),
  wake: snap.wake.map((x, k) => k % 3 === 2 ? x : thousandths(x)),
  lastRun: [snap.lastRun[0], thousandths(snap.lastRun[1]!)],
})

function run (set: DetectorSet, from: number): Anomaly[] {
  const out: Anomaly[] = []
  for (const x of all) {
    if (x.ts <= from) continue
    if ('feedback' in x) { set.feedback(x.feedback); continue }
    out.push(...('event' in x ? set.event(x) : set.update(x)))
  }
  return JSON.parse(JSON.stringify(out)) as Anomaly[]
}

test('the fixture is of this workload', () => {
  assert.equal(fixture.cut, CUT)
  assert.ok(fixture.after.length >= 10, 'episodes after the cut')
})

test('snapshots from the earlier build restore and say themselves back unchanged', () => {
  const set = createDetectorSet(createDetectors())
  for (const d of set.detectors) for (const [id, snap] of Object.entries(fixture.snapshots[d.name] ?? {})) d.restore(id, snap)
  for (const d of set.detectors) {
    const want = fixture.snapshots[d.name] ?? {}
    assert.deepEqual([...d.subjects()].sort(), Object.keys(want).sort(), d.name)
    for (const [id, snap] of Object.entries(want)) {
      const kept = d.name === 'inactivity' ? inactivityKept(snap as InactivitySnap) : snap
      assert.equal(JSON.stringify(d.snapshot(id)), JSON.stringify(kept), `${d.name} ${id}`)
    }
  }
  // One of them remembers an hour past the exact codes, said back to 16 Wh.
  assert.ok(Object.values(fixture.snapshots.inactivity!).some((s) => (s as { hist: number[] }).hist.some((wh) => wh >= 2048 && rememberedAs(wh) !== wh)))
})

test('restored from the earlier build, the set says after the cut what that build said', () => {
  const set = createDetectorSet(createDetectors())
  for (const d of set.detectors) for (const [id, snap] of Object.entries(fixture.snapshots[d.name] ?? {})) d.restore(id, snap)
  assert.deepEqual(run(set, CUT), fixture.afterRestored)
})

test('fed from the start, the set says after the cut what the earlier build said', () => {
  const set = createDetectorSet(createDetectors())
  const out: Anomaly[] = []
  for (const x of all) {
    if ('feedback' in x) { set.feedback(x.feedback); continue }
    const a = 'event' in x ? set.event(x) : set.update(x)
    if (x.ts > CUT) out.push(...a)
  }
  assert.deepEqual(JSON.parse(JSON.stringify(out)), fixture.after)
})
