import { test } from 'vitest'
import assert from 'node:assert/strict'
import {
  chooseInjections, injected, loadHomes, parseTsKwh, runRealEvaluation, runSeries, unusableDays, DEFAULT_DATA_DIR, type RealHome,
} from '../eval/index.ts'
import { createDetectors } from '../detectors/index.ts'

const H = 3_600_000
const DAY = 24 * H

test('a ts,kwh series is read on its own clock, and a day of zeros or of nothing is unusable', () => {
  const s = parseTsKwh('ts,kwh\n2013-01-01T00:00+00:00,0.2\n2013-01-01T00:30+10:00,0.3\nbad,1\n')
  assert.deepEqual(s.map((x) => [x.end, x.kwh]), [[Date.parse('2013-01-01T00:30Z'), 0.2], [Date.parse('2012-12-31T15:00Z'), 0.3]])
  const t0 = Date.parse('2013-01-01T00:00Z')
  const zeros = Array.from({ length: 4 * 48 }, (_, i) => ({ end: t0 + (i + 1) * H / 2, intervalMs: H / 2, kwh: i >= 48 && i < 100 ? 0 : 0.2, row: i }))
  assert.deepEqual([...unusableDays(zeros, 0)].sort(), [15707, 15708], 'the zero run from day 1 into day 2')
  assert.equal(unusableDays(zeros.map((z) => ({ ...z, kwh: 0.2 })).filter((_, i) => i < 60 || i > 62), 0).size, 0, 'short gaps do not count')
})

test('an injection leaves only the standing load (and the lamp) from its moment on, and nothing before', () => {
  const [home] = loadHomes(DEFAULT_DATA_DIR, ['ausgrid'])
  assert.ok(home, 'the ausgrid home is there')
  const injs = chooseInjections(home!, { seed: 3 })
  assert.equal(injs.length, 3)
  assert.deepEqual(injs, chooseInjections(home!, { seed: 3 }), 'seeded')
  const inj = injs[0]!
  assert.ok(inj.at >= home!.series[0]!.end + 28 * DAY, 'after the warm-up')
  assert.ok(inj.standingKwhPerHour > 0 && inj.standingKwhPerHour < 1, `standing load ${inj.standingKwhPerHour}`)
  const kwh = injected({ ...inj, lampW: 100 })
  for (const s of home!.series) {
    if (s.end <= inj.at) assert.equal(kwh(s), s.kwh)
    else if (s.end - s.intervalMs >= inj.at) {
      const v = kwh(s) * 2
      assert.ok(v >= inj.standingKwhPerHour * 0.85 + 0.1 - 1e-9 && v <= inj.standingKwhPerHour * 1.15 + 0.1 + 1e-9)
    }
  }
})

test('a false alert answered false_alarm raises the home\'s bar: fewer alerts than unanswered', () => {
  const home = loadHomes(DEFAULT_DATA_DIR, ['sgsc_nsw'])[0]!
  const series = home.series.slice(0, 48 * 150)
  const on = runSeries(series, { subjectId: 'h', utcOffsetHours: home.utcOffsetHours })
  const off = runSeries(series, { subjectId: 'h', utcOffsetHours: home.utcOffsetHours, feedback: false })
  assert.ok(on.feedbacks > 0 && on.feedbacks <= on.opened.length, 'every alert answered once its time came')
  assert.equal(off.feedbacks, 0)
  assert.ok(on.opened.length < off.opened.length, `${on.opened.length} answered vs ${off.opened.length} unanswered`)
})

test('the real-homes evaluation counts false alerts and catches injected incapacitation, per source and overall', () => {
  const r = runRealEvaluation({ sources: ['ausgrid', 'sgsc_nsw'], homes: 1, days: 120 })
  assert.deepEqual(r.rows.map((x) => x.group), ['sgsc_nsw', 'ausgrid', 'all'])
  const all = r.rows.at(-1)!
  assert.equal(all.homes, 2)
  assert.equal(all.injected, 6)
  assert.ok(all.caught >= 3, `${all.caught} of 6 caught`)
  assert.ok(all.days > 150 && all.days < 240, `${all.days} household-days`)
  assert.ok(all.falsePer100 !== null && all.falsePer100 < 20)
  assert.match(r.text, /recall within 24 h/)
})

/** The last evaluation row of the first `homes` London homes over `days` days, with one inactivity option set. */
const londonWith = (homes: number, days: number, inactivity: Record<string, number>) => runRealEvaluation({
  sources: ['lcl_london'], homes, days, detectors: (u) => createDetectors({ utcOffsetHours: u, inactivity }),
}).rows.at(-1)!

/** The option fewer false inactivity alerts than without it (under `share` of them), none fewer caught. */
function fewerFalseNoneFewerCaught (alone: ReturnType<typeof londonWith>, both: ReturnType<typeof londonWith>, share: number) {
  assert.ok((both.falseByKind.inactivity ?? 0) < share * (alone.falseByKind.inactivity ?? 0), `${both.falseByKind.inactivity} vs ${alone.falseByKind.inactivity} false`)
  assert.ok(both.caught >= alone.caught, `${both.caught} vs ${alone.caught} caught`)
}

test('while a home is learned (its first 35 days) a quiet run outlasting its runs raises only once the expected activity finds it unlikely too: fewer false alerts, none fewer caught', () => {
  // The first 12 London homes' first six weeks: 21 false inactivity alerts on the runs alone, 13 now; 28 and 29 of 30 caught.
  const alone = londonWith(12, 42, { runsMinEvidence: 0 }), both = londonWith(12, 42, { runsMinEvidence: 2 })
  assert.equal(both.injected, 30)
  fewerFalseNoneFewerCaught(alone, both, 0.8)
})

test('a late morning raises only when the silence is also unlikely by this home\'s expected activity: fewer false alerts, none fewer caught', () => {
  // The first 10 London homes' first five months: 30 false inactivity alerts on the missed morning alone, 22 now; 24 of 27 caught either way.
  const alone = londonWith(10, 150, { wakeMinEvidence: 0 }), both = londonWith(10, 150, { wakeMinEvidence: 4 })
  assert.equal(both.injected, 27)
  fewerFalseNoneFewerCaught(alone, both, 0.85)
})

test('homes whose meter reads zero most of the time are left out', () => {
  const h: RealHome = { ...loadHomes(DEFAULT_DATA_DIR, ['ausgrid'])[0]!, nearAllZero: true }
  assert.deepEqual(chooseInjections(h), [])
})
