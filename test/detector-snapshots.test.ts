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
 * below 256 Wh, within 0.4 % above (0.8 % past 8,192 Wh); its runs' bars, mornings and last raised
 * run's score to thousandths), and goes on to say what the earlier build said after the cut (sameAs()).
 */
const fixture = JSON.parse(readFileSync(new URL('./detector-snapshots.fixture.json', import.meta.url), 'utf8')) as {
  cut: number
  snapshots: Record<string, Record<string, unknown>>
  /** What a set fed everything said after the cut, and one restored from the snapshots (peer groups are not snapshotted: they form again from the next samples, so the two differ on that day). */
  after: Anomaly[]
  afterRestored: Anomaly[]
}
const all = workload()

/**
 * The anomalies the earlier build said, the same in every field but two of the evidence's: the
 * usual energy over the quiet run (usualKwh) is the sum of the remembered hours' medians, and the
 * hours are remembered within 0.4 % (10-bit codes: within 0.8 % above 8,192 Wh), so it is within
 * 0.5 % of the earlier build's, and the ratio of the run's use to it within 0.005.
 */
function sameAs (got: Anomaly[], want: Anomaly[]) {
  const bare = (list: Anomaly[]) => list.map((a) => ({ ...a, evidence: { ...a.evidence, usualKwh: undefined, ratio: undefined } }))
  assert.deepEqual(bare(got), bare(want))
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!.evidence as { usualKwh?: number, ratio?: number | null }, w = want[i]!.evidence as typeof g
    if (w.usualKwh !== undefined) assert.ok(Math.abs(g.usualKwh! - w.usualKwh) <= 0.005 * w.usualKwh, `usualKwh ${g.usualKwh} against ${w.usualKwh}`)
    if (w.ratio !== undefined) assert.ok(w.ratio === null ? g.ratio === null : Math.abs(g.ratio! - w.ratio) <= 0.005, `ratio ${g.ratio} against ${w.ratio}`)
  }
}

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
  // One of them remembers an hour past the exact codes, said back as its code keeps it.
  assert.ok(Object.values(fixture.snapshots.inactivity!).some((s) => (s as { hist: number[] }).hist.some((wh) => wh >= 256 && rememberedAs(wh) !== wh)))
})

test('restored from the earlier build, the set says after the cut what that build said', () => {
  const set = createDetectorSet(createDetectors())
  for (const d of set.detectors) for (const [id, snap] of Object.entries(fixture.snapshots[d.name] ?? {})) d.restore(id, snap)
  sameAs(run(set, CUT), fixture.afterRestored)
})

test('fed from the start, the set says after the cut what the earlier build said', () => {
  const set = createDetectorSet(createDetectors())
  const out: Anomaly[] = []
  for (const x of all) {
    if ('feedback' in x) { set.feedback(x.feedback); continue }
    const a = 'event' in x ? set.event(x) : set.update(x)
    if (x.ts > CUT) out.push(...a)
  }
  sameAs(JSON.parse(JSON.stringify(out)), fixture.after)
})
