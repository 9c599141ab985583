import { test } from 'vitest'
import assert from 'node:assert/strict'
import type { Detector, Feedback } from '../detectors/index.ts'
import { generateReadings, labelAt } from '../simulators/index.ts'
import type { Anomaly, Consumption } from '../vocab/index.ts'
import {
  FIRST_SCENARIO_DAY, assignSubjects, createEpisodes, judge, quantiles, resolvePlan, runEvaluation, scoreRun, simulate, type EvalSubject,
} from '../eval/index.ts'

const H = 3_600_000
const DAY = 24 * H

// ---------------------------------------------------------------- scenario assignment

test('the scenario mix is deterministic for a seed and every scenario fits the run', () => {
  const plan = resolvePlan({ elders: 40, rentals: 24, days: 40, seed: 7 })
  const a = assignSubjects(plan)
  assert.deepEqual(a, assignSubjects(plan))
  assert.notDeepEqual(a.map((s) => s.profile.scenarios), assignSubjects(resolvePlan({ elders: 40, rentals: 24, days: 40, seed: 8 })).map((s) => s.profile.scenarios))
  const count = (c: string) => a.filter((s) => s.case === c).length
  assert.equal(count('incapacitated') + count('incapacitated_residual'), 16)
  assert.equal(count('incapacitated_residual'), 8)
  assert.equal(count('trip_declared'), 4)
  assert.equal(count('trip_undeclared'), 4)
  assert.equal(count('meter_fault'), 4)
  assert.equal(count('crowded'), 8)
  assert.deepEqual([...new Set(a.filter((s) => s.subjectKind === 'lone_elder').map((s) => s.street))], ['st-0', 'st-1'], 'streets of 20')
  const end = plan.start + plan.days * DAY
  for (const s of a) {
    for (const sc of s.profile.scenarios ?? []) {
      const from = sc.kind === 'incapacitated' ? sc.at : sc.from
      assert.ok(from >= plan.start + FIRST_SCENARIO_DAY * DAY, `${s.subjectId} starts after the warm-up`)
      if (sc.kind === 'incapacitated') {
        assert.ok(sc.at + DAY <= end, 'a day left to find it')
        assert.equal(sc.residualW !== undefined, s.case === 'incapacitated_residual')
        if (sc.residualW !== undefined) assert.ok(sc.residualW >= 40 && sc.residualW <= 150)
      }
      if (sc.kind === 'crowded') { assert.ok(sc.occupants >= 4 && sc.occupants <= 8); assert.ok(sc.from + 3 * DAY <= end) }
      if (sc.kind === 'away') {
        assert.ok(sc.until - sc.from >= 2 * DAY && sc.until - sc.from <= 6 * DAY)
        assert.equal(s.declaration !== undefined, s.case === 'trip_declared')
        if (s.declaration) {
          assert.equal(s.declaration.awayUntil, sc.until)
          assert.ok(sc.from - s.declaration.at >= 2 * H && sc.from - s.declaration.at <= 6 * H, 'declared a few hours ahead')
        }
      }
    }
    assert.equal(s.water && s.subjectKind === 'rental_unit', false)
  }
  assert.deepEqual([...new Set(a.filter((s) => s.case === 'meter_fault').map((s) => s.profile.scenarios![0]!.kind === 'meter_fault' && s.profile.scenarios![0]!.fault))].sort(), ['offline', 'reset', 'stuck'])
  assert.throws(() => resolvePlan({ days: 10 }), /days must be at least 20/)
  assert.throws(() => resolvePlan({ elders: -1 }), /elders/)
})

// ---------------------------------------------------------------- scoring made-up anomalies

const T0 = Date.UTC(2026, 0, 5) - 8 * H
const elder = (id: string, scenarios: NonNullable<EvalSubject['profile']['scenarios']>, declaration?: EvalSubject['declaration']): EvalSubject =>
  ({ subjectId: id, subjectKind: 'lone_elder', deviceId: `m-${id}`, street: 'st-0', case: 'normal', profile: { subjectKind: 'lone_elder', seed: 1, scenarios }, water: false, door: false, ...(declaration ? { declaration } : {}) })
const flat = (id: string, scenarios: NonNullable<EvalSubject['profile']['scenarios']>): EvalSubject =>
  ({ subjectId: id, subjectKind: 'rental_unit', deviceId: `m-${id}`, street: 'st-0', case: 'normal', profile: { subjectKind: 'rental_unit', seed: 2, scenarios }, water: false, door: false })
const at = (day: number, hour = 0) => T0 + day * DAY + hour * H
const an = (subjectId: string, detector: string, kind: string, phase: Anomaly['phase'], observedAt: number): Anomaly =>
  ({ subjectId, detector, kind, phase, severity: 'high', startedAt: observedAt - H, observedAt, evidence: {} })

const subjects: EvalSubject[] = [
  elder('e1', [{ kind: 'incapacitated', at: at(20, 9) }]),
  elder('e2', [{ kind: 'incapacitated', at: at(22, 3) }]),
  elder('e3', [{ kind: 'away', from: at(18, 10), until: at(21, 10) }], { at: at(18, 6), awayFrom: at(18, 10), awayUntil: at(21, 10) }),
  elder('e4', [{ kind: 'away', from: at(18, 10), until: at(21, 10) }]),
  elder('e5', [{ kind: 'meter_fault', from: at(16), fault: 'stuck' }]),
  flat('f1', [{ kind: 'crowded', from: at(16), occupants: 6 }]),
  flat('f2', [{ kind: 'crowded', from: at(16), occupants: 5 }]),
  flat('f3', []),
]

test('a raise is judged by the scenario in effect when its data was seen', () => {
  const [e1, , e3, e4, e5, f1] = subjects
  assert.deepEqual(judge(e1, 'inactivity', at(20, 12)), { verdict: 'true', ttdMs: 3 * H })
  assert.deepEqual(judge(e1, 'inactivity', at(21, 10)), { verdict: 'late' }, 'more than a day after')
  assert.deepEqual(judge(e1, 'inactivity', at(20, 8)), { verdict: 'false' }, 'before the fall')
  assert.deepEqual(judge(e1, 'crowding', at(20, 12)), { verdict: 'false' }, 'wrong kind')
  assert.deepEqual(judge(e3, 'inactivity', at(19)), { verdict: 'false' }, 'declared trip: the detectors were told')
  assert.deepEqual(judge(e4, 'inactivity', at(19)), { verdict: 'undeclared_trip' })
  assert.deepEqual(judge(e4, 'inactivity', at(22)), { verdict: 'false' }, 'back home')
  assert.equal(judge(e5, 'meter_offline', at(17)).verdict, 'true', 'any meter kind on a faulty meter')
  assert.equal(judge(f1, 'crowding', at(18)).verdict, 'true')
  assert.equal(judge(f1, 'crowding', at(19, 1)).verdict, 'late')
  assert.equal(judge(undefined, 'inactivity', at(19)).verdict, 'false')
})

test('alerts as the alerts stage opens them: detectors share an episode; one raising again without clearing opens a new one', () => {
  const ep = createEpisodes()
  const a = (detector: string, phase: Anomaly['phase'], startedAt: number): Anomaly =>
    ({ subjectId: 'elder-1', detector, kind: 'inactivity', phase, severity: 'medium', startedAt, observedAt: startedAt + 10 * H, evidence: {} })
  assert.equal(ep.opens(a('low_use', 'raise', 0)), true)
  assert.equal(ep.opens(a('fusion', 'raise', H)), false, 'a second detector on the same silence: the same alert')
  assert.equal(ep.opens(a('low_use', 'update', 0)), false)
  // Told false and closed, the silence went on: the detector raises it again from the answer, with no clear between.
  assert.equal(ep.opens(a('low_use', 'raise', 13 * H)), true, 'a new alert')
  assert.equal(ep.opens(a('low_use', 'clear', 13 * H)), false)
  assert.equal(ep.opens(a('fusion', 'clear', H)), false)
  assert.equal(ep.opens(a('low_use', 'raise', 40 * H)), true, 'every detector cleared: the next raise opens')
})

test('scores: a subject once per kind, recall, false alerts per 100 subject-days, time to detect', () => {
  const anomalies = [
    an('e1', 'a', 'inactivity', 'raise', at(20, 11)), // true, 2 h
    an('e1', 'b', 'inactivity', 'raise', at(20, 13)), // same episode at kind level: counted once
    an('e1', 'a', 'inactivity', 'update', at(20, 15)),
    an('e2', 'b', 'inactivity', 'raise', at(22, 9)), // true, 6 h
    an('e3', 'a', 'inactivity', 'raise', at(19)), // false (declared)
    an('e3', 'a', 'inactivity', 'clear', at(19, 2)),
    an('e3', 'a', 'inactivity', 'raise', at(19, 5)), // false again: a new episode after the clear
    an('e4', 'a', 'inactivity', 'raise', at(19)), // undeclared trip
    an('e5', 'm', 'meter_stuck', 'raise', at(16, 6)),
    an('f1', 'c', 'crowding', 'raise', at(17)), // true, 1 day
    an('f2', 'c', 'crowding', 'raise', at(25)), // late: not false, not recall
    an('f3', 'c', 'crowding', 'raise', at(25)), // false
    an('f3', 'x', 'night_load', 'raise', at(25)), // on a rental; still false
  ]
  const s = scoreRun(subjects, anomalies, { days: 30 })
  const kind = (k: string) => s.kinds.find((r) => r.kind === k)!
  const inact = kind('inactivity')
  assert.deepEqual([inact.raises, inact.truePositives, inact.late, inact.falseAlerts, inact.undeclaredTrip], [5, 2, 0, 2, 1])
  assert.deepEqual([inact.labelled, inact.detected, inact.recall], [2, 2, 1])
  assert.equal(inact.falsePer100, 2 / (5 * 23) * 100, 'five elders, 30 days less the 7-day warm-up')
  assert.equal(inact.precision, 0.5)
  assert.deepEqual([inact.ttdMedianH, inact.ttdP90H], [4, 5.6])
  const crowd = kind('crowding')
  assert.deepEqual([crowd.raises, crowd.truePositives, crowd.late, crowd.falseAlerts, crowd.recall, crowd.precision], [3, 1, 1, 1, 0.5, 2 / 3])
  assert.equal(crowd.falsePer100, 1 / (3 * 23) * 100)
  assert.deepEqual([kind('meter_stuck').recall, kind('meter_*').recall], [1, 1])
  assert.equal(s.kinds.find((r) => r.kind === 'meter_offline'), undefined, 'no offline meter, no raise: no row')
  assert.equal(kind('night_load').falseAlerts, 1)

  const byDet = (d: string, k: string) => s.detectors.find((r) => r.detector === d && r.kind === k)!
  assert.deepEqual([byDet('b', 'inactivity').raises, byDet('b', 'inactivity').recall, byDet('b', 'inactivity').ttdMedianH], [2, 1, 5])
  assert.deepEqual([byDet('a', 'inactivity').raises, byDet('a', 'inactivity').recall, byDet('a', 'inactivity').falseAlerts], [4, 0.5, 2])

  assert.deepEqual(s.totals.lone_elder, { subjects: 5, subjectDays: 115, alerts: 6, falseAlerts: 2, falsePer100: 2 / 115 * 100 })
  assert.deepEqual([s.totals.rental_unit.alerts, s.totals.rental_unit.falseAlerts], [4, 2])
  assert.deepEqual(s.undeclaredTrips, { trips: 1, alerts: 1, subjects: 1 })
  assert.deepEqual(quantiles([]), { median: null, p90: null })
  assert.deepEqual(quantiles([10, 1, 2, 3, 4, 5, 6, 7, 8, 9]), { median: 5.5, p90: 9.1 })
})

// ---------------------------------------------------------------- the run, with a detector that records

/** Raises inactivity for every elder at local noon from day 16, clears at 13:00; records what it is given. */
function recorder (start: number) {
  const seen: Consumption[] = [], fbs: Array<{ now: number, fb: Feedback }> = [], ticks: number[] = []
  let now = -Infinity
  const d: Detector = {
    name: 'recorder',
    update (c) {
      seen.push(c); now = Math.max(now, c.ts)
      if (c.subjectKind !== 'lone_elder' || c.unit !== 'kwh' || c.ts < start + 16 * DAY) return null
      const hour = ((c.ts - start) % DAY) / H
      if (hour !== 12 && hour !== 13) return null
      return { subjectId: c.subjectId, detector: 'recorder', kind: 'inactivity', phase: hour === 12 ? 'raise' : 'clear', severity: 'high', startedAt: c.ts - H, observedAt: c.ts, evidence: {} }
    },
    feedback (fb) { fbs.push({ now, fb }) },
    snapshot () { return undefined },
    restore () {},
    subjects () { return [] },
    tick (t) { ticks.push(t); return [] },
  }
  return { d, seen, fbs, ticks }
}

test('the run feeds samples as ingest would, ticks in data time, declares trips and answers false alerts', () => {
  const plan = resolvePlan({ elders: 30, rentals: 4, days: 20, seed: 3 })
  const subjects = assignSubjects(plan)
  const rec = recorder(plan.start)
  const run = simulate(subjects, plan, { detectors: [rec.d] })
  const { seen, fbs, ticks } = rec
  assert.equal(run.samples, seen.length)
  assert.ok(seen.every((c, i) => i === 0 || c.ts >= seen[i - 1]!.ts), 'interleaved in event-time order')
  assert.ok(seen.every((c) => c.intervalMs === 15 * 60_000), 'the 15-minute deltas of the register')
  assert.ok(seen.every((c) => c.street === subjects.find((s) => s.subjectId === c.subjectId)!.street), 'with the street, as ingest gives it')
  assert.deepEqual(new Set(seen.filter((c) => c.ts === plan.start + DAY && c.unit === 'kwh').map((c) => c.subjectId)).size, 34, 'every subject each interval')
  const normal = subjects.find((s) => s.case === 'normal')!
  const readings = generateReadings(normal.profile, plan.start, plan.start + plan.days * DAY)
  assert.deepEqual(seen.filter((c) => c.subjectId === normal.subjectId && c.unit === 'kwh').map((c) => c.amount), readings.slice(1).map((r, i) => r.kwh - readings[i]!.kwh), 'amount is the register delta')
  assert.ok(seen.some((c) => c.registerFault === 'reset'), 'a reset meter is flagged as ingest flags it')
  const water = seen.filter((c) => c.unit === 'm3')
  const withWater = subjects.filter((s) => s.water).map((s) => s.subjectId)
  assert.ok(withWater.length > 0 && withWater.length < 30)
  assert.deepEqual([...new Set(water.map((c) => c.subjectId))].sort(), withWater.sort(), 'a water meter on the elders that have one')
  assert.ok(water.every((c) => c.deviceId === `w-${c.subjectId}` && c.intervalMs === 15 * 60_000))
  const offline = subjects.find((s) => s.profile.scenarios?.some((sc) => sc.kind === 'meter_fault' && sc.fault === 'offline'))!
  const wentOff = (offline.profile.scenarios![0] as { from: number }).from
  assert.ok(!seen.some((c) => c.subjectId === offline.subjectId && c.ts > wentOff), 'an offline meter sends nothing')
  assert.equal(ticks.length, 20 * 24 * 12)
  assert.ok(ticks.every((t, i) => i === 0 || t - ticks[i - 1]! === 5 * 60_000))

  const declared = subjects.filter((s) => s.declaration)
  for (const s of declared) {
    const got = fbs.find((f) => f.fb.subjectId === s.subjectId && f.fb.awayUntil !== undefined)!
    assert.equal(got.fb.awayUntil, s.declaration!.awayUntil)
    assert.equal(got.fb.awayFrom, s.declaration!.awayFrom, 'declared ahead: the window starts with the trip')
    assert.ok(got.now < s.declaration!.at && got.now >= s.declaration!.at - 15 * 60_000, 'declared when the API would')
  }
  // Every false raise is answered two hours later; true ones are not.
  const falseRaises = run.anomalies.filter((a) => a.phase === 'raise' && judge(subjects.find((s) => s.subjectId === a.subjectId), a.kind, a.observedAt).verdict === 'false')
  const alarms = fbs.filter((f) => f.fb.falseAlarm)
  assert.ok(falseRaises.length > 0 && falseRaises.length < run.anomalies.filter((a) => a.phase === 'raise').length)
  assert.equal(alarms.length, falseRaises.length)
  for (const a of falseRaises) assert.ok(alarms.some((f) => f.fb.subjectId === a.subjectId && f.fb.kind === 'inactivity' && f.now === a.observedAt + 2 * H - 15 * 60_000))
  assert.equal(run.feedbacks, declared.length + alarms.length)

  const quiet = simulate(subjects, plan, { detectors: [recorder(plan.start).d], feedback: false })
  assert.equal(quiet.feedbacks, declared.length, '--no-feedback: only the declarations')
})

test('a small real run: the report has every part and its verdicts agree with the simulator\'s labels', () => {
  const ev = runEvaluation({ elders: 8, rentals: 6, days: 30, seed: 2 })
  assert.match(ev.text, /Per kind/)
  assert.match(ev.text, /Per detector and kind/)
  for (const t of ['incapacitation recall', 'incapacitation median time to detect', 'false alerts on elders', 'crowding caught within 3 days', 'crowding precision']) {
    assert.ok(ev.targets.some((x) => x.name === t) && ev.text.includes(t), t)
  }
  for (const r of [...ev.score.kinds, ...ev.score.detectors]) {
    assert.equal(r.raises, r.truePositives + r.late + r.falseAlerts + r.undeclaredTrip, `${r.detector} ${r.kind}`)
    assert.ok(r.detected <= r.labelled)
  }
  const inact = ev.score.kinds.find((r) => r.kind === 'inactivity')!
  assert.equal(inact.labelled, ev.subjects.filter((s) => s.case.startsWith('incapacitated')).length)
  assert.equal(ev.score.kinds.find((r) => r.kind === 'crowding')!.labelled, 2)
  assert.equal(ev.score.totals.lone_elder.subjectDays, 8 * 23)

  // Independently of the scorer: replay and check each true inactivity raise against the simulator's truth.
  const plan = resolvePlan({ elders: 8, rentals: 6, days: 30, seed: 2 })
  const run = simulate(ev.subjects, plan)
  const raises = run.anomalies.filter((a) => a.phase === 'raise')
  assert.deepEqual(scoreRun(ev.subjects, run.anomalies, { days: 30 }).kinds, ev.score.kinds, 'a run is repeatable')
  for (const a of raises) {
    const s = ev.subjects.find((x) => x.subjectId === a.subjectId)!
    const v = judge(s, a.kind, a.observedAt).verdict
    const truth = labelAt(s.profile, a.observedAt)
    if (a.kind === 'inactivity' && v === 'true') assert.equal(truth.presence, 'incapacitated')
    if (v === 'undeclared_trip') assert.equal(truth.presence, 'away')
    if (a.kind === 'inactivity' && truth.presence === 'home') assert.equal(v, 'false')
  }
})
