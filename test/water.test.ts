import { test } from 'vitest'
import assert from 'node:assert/strict'
import type { Anomaly, Consumption } from '../vocab/index.ts'
import type { MeterProfile } from '../simulators/types.ts'
import { generateWaterReadings } from '../simulators/water.ts'
import { labelAt } from '../simulators/meters.ts'
import { createWaterDetector } from '../detectors/water.ts'

const H = 3_600_000
const DAY = 24 * H
/** Local midnight of 2026-01-01 at UTC+8. */
const T0 = Date.UTC(2026, 0, 1) - 8 * H
const at = (day: number, hour = 0) => T0 + day * DAY + hour * H

/** A water meter's readings as the detectors get them: litres used per 15 minutes. */
function water (profile: MeterProfile, days: number, opts: Parameters<typeof generateWaterReadings>[3] = {}, subjectId = 'elder-1'): Consumption[] {
  const r = generateWaterReadings(profile, T0, T0 + days * DAY, opts)
  return r.slice(1).map((x, i) => ({
    subjectId, subjectKind: profile.subjectKind, deviceId: 'w-1', unit: 'm3', ts: x.ts, intervalMs: x.ts - r[i]!.ts, amount: Math.round((x.m3 - r[i]!.m3) * 1000) / 1000,
  }))
}

const elder = (seed: number, scenarios: MeterProfile['scenarios'] = []): MeterProfile => ({ subjectKind: 'lone_elder', seed, scenarios })
const feed = (d: { update: (c: Consumption) => Anomaly | null }, xs: Iterable<Consumption>) => {
  const out: Anomaly[] = []
  for (const x of xs) { const a = d.update(x); if (a !== null) out.push(a) }
  return out
}
const raises = (as: Anomaly[], kind?: string) => as.filter((a) => a.phase === 'raise' && (kind === undefined || a.kind === kind))
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))]!

// ---------------------------------------------------------------- the simulated meter

test('simulated water: an elder uses 80-150 L a day, a rental more per home, and nothing while away', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const r = generateWaterReadings(elder(seed), T0, at(14))
    const perDay = (r.at(-1)!.m3 - r[0]!.m3) * 1000 / 14
    assert.ok(perDay >= 80 && perDay <= 150, `seed ${seed}: ${perDay} L/day`)
    assert.deepEqual(generateWaterReadings(elder(seed), T0, at(14)), r, 'deterministic')
    assert.ok(r.every((x, i) => i === 0 || x.m3 >= r[i - 1]!.m3), 'a register only goes up')
  }
  const crowded = generateWaterReadings({ subjectKind: 'rental_unit', seed: 1, occupants: 5 }, T0, at(14))
  assert.ok((crowded.at(-1)!.m3 - crowded[0]!.m3) * 1000 / 14 > 300, 'five tenants use far more')
  const trip = generateWaterReadings(elder(2, [{ kind: 'away', from: at(3, 9), until: at(5, 9) }]), T0, at(7))
  const during = trip.filter((x) => x.ts >= at(3, 10) && x.ts <= at(5, 9))
  assert.equal(during.at(-1)!.m3, during[0]!.m3, 'the meter stands still while away')
  const leak = generateWaterReadings(elder(2, [{ kind: 'away', from: at(3, 9), until: at(5, 9) }]), T0, at(7), { leak: { from: at(2), litresPerHour: 3 } })
  const leaked = leak.filter((x) => x.ts >= at(3, 10) && x.ts <= at(5, 9))
  assert.ok(Math.abs((leaked.at(-1)!.m3 - leaked[0]!.m3) * 1000 - 3 * 47) <= 1, 'a leak flows on regardless')
})

// ---------------------------------------------------------------- contract

test('water: takes m3 samples of both subject kinds only, and ignores bad ones', () => {
  const d = createWaterDetector()
  const s = water(elder(1), 1)[40]!
  assert.equal(d.update({ ...s, unit: 'kwh' }), null)
  for (const bad of [{ amount: Number.NaN }, { amount: -1 }, { intervalMs: 0 }, { ts: Number.NaN }]) assert.equal(d.update({ ...s, ...bad }), null)
  assert.deepEqual([...d.subjects()], [])
  assert.equal(d.quietSince('elder-1'), null, 'no water data: no answer')
  assert.equal(d.score('elder-1'), 0)
  d.update({ ...s, subjectId: 'flat-1', subjectKind: 'rental_unit' })
  assert.deepEqual([...d.subjects()], ['flat-1'])
})

test('water: snapshot/restore continues identically; state is under 1 KB; bad snapshots are named', () => {
  const month = water(elder(3, [{ kind: 'incapacitated', at: at(24, 10) }]), 26, { leak: { from: at(24, 12), litresPerHour: 4 } })
  const cut = 23 * 96 + 37
  const a = createWaterDetector()
  feed(a, month.slice(0, cut))
  const snap = JSON.parse(JSON.stringify(a.snapshot('elder-1')))
  assert.ok(JSON.stringify(snap).length < 1024, `snapshot is ${JSON.stringify(snap).length} chars`)
  const b = createWaterDetector()
  b.restore('elder-1', snap)
  const rest = month.slice(cut)
  const fromA = feed(a, rest)
  assert.deepEqual(fromA.map((x) => `${x.kind}:${x.phase}`), ['inactivity:raise', 'inactivity:update', 'water_leak:raise', 'inactivity:update'])
  assert.deepEqual(feed(b, rest), fromA)
  assert.equal(b.quietSince('elder-1'), a.quietSince('elder-1'))
  assert.throws(() => b.restore('x', { ...snap, used: [1, 2] }), (e: Error) => e instanceof TypeError && /used/.test(e.message))
  assert.throws(() => b.restore('x', null), TypeError)
})

// ---------------------------------------------------------------- quiet

test('40 elders x 45 days with ordinary outings: almost no raises; going quiet raises within hours', () => {
  let falseRaises = 0
  const delays: number[] = []
  for (let seed = 1; seed <= 40; seed++) {
    falseRaises += raises(feed(createWaterDetector(), water(elder(seed), 45))).length
    const quietAt = at(30 + seed % 10, [8, 11, 14, 17, 20, 23][seed % 6]! + (seed % 7) / 6)
    const as = feed(createWaterDetector(), water(elder(seed, [{ kind: 'incapacitated', at: quietAt }]), 42))
    const r = raises(as).filter((a) => a.observedAt > quietAt)
    assert.equal(r.length, 1, `seed ${seed}: ${r.length} raises`)
    const raise = r[0]!
    assert.equal(raise.detector, 'water_quiet')
    assert.equal(raise.kind, 'inactivity')
    assert.ok(raise.startedAt <= quietAt + 15 * 60_000 && raise.startedAt >= quietAt - 6 * H, `seed ${seed}: started ${(quietAt - raise.startedAt) / H} h before`)
    delays.push((raise.observedAt - quietAt) / H)
    assert.deepEqual(as.filter((a) => a.observedAt > quietAt).map((a) => a.severity), ['medium', 'high', 'critical'], 'escalates')
  }
  const per100 = falseRaises / (40 * 45) * 100
  console.log(`false raises: ${falseRaises} in 1800 elder-days (${per100.toFixed(2)} per 100); detection hours median ${quantile(delays, 0.5).toFixed(1)}, p90 ${quantile(delays, 0.9).toFixed(1)}, max ${Math.max(...delays).toFixed(1)}`)
  assert.ok(per100 <= 0.5, `${per100} false raises per 100 elder-days`)
  assert.ok(quantile(delays, 0.5) <= 10, 'median detection faster than the 12-hour rule')
  assert.ok(Math.max(...delays) <= 18, 'a quiet evening is found the next morning')
})

test('quietSince is the end of the last use; water coming back clears at once', () => {
  const quietAt = at(21, 10.2)
  const month = water(elder(4, [{ kind: 'away', from: quietAt, until: at(22, 12) }]), 23)
  const d = createWaterDetector()
  const as = feed(d, month.filter((s) => s.ts <= at(21, 20)))
  const lastUse = month.filter((s) => s.ts <= quietAt && s.amount >= 0.002).at(-1)!.ts
  assert.equal(d.quietSince('elder-1'), lastUse)
  assert.equal(raises(as).length, 1)
  assert.ok(d.score('elder-1') >= 1)
  const rest = feed(d, month.filter((s) => s.ts > at(21, 20)))
  const clear = rest.find((a) => a.phase === 'clear')!
  assert.equal(clear.evidence.reason, 'activity')
  assert.ok(clear.observedAt >= at(22, 12) && clear.observedAt <= at(22, 13.5), 'cleared when the taps run again')
  assert.equal(d.score('elder-1'), 0)
})

test('feedback: awayUntil quiets a trip; a false alarm makes the subject less sensitive', () => {
  const trip = water(elder(5, [{ kind: 'away', from: at(21, 9), until: at(24, 12) }]), 26)
  assert.equal(raises(feed(createWaterDetector(), trip)).length, 1, 'a trip nobody was told of looks like a quiet home')
  const told = createWaterDetector()
  told.feedback({ subjectId: 'elder-1', awayUntil: at(24, 13) })
  assert.deepEqual(raises(feed(told, trip)), [])

  const quiet = water(elder(5, [{ kind: 'incapacitated', at: at(21, 9) }]), 23)
  const plain = createWaterDetector(), wary = createWaterDetector()
  wary.feedback({ subjectId: 'elder-1', falseAlarm: true })
  const [p, w] = [raises(feed(plain, quiet))[0]!, raises(feed(wary, quiet))[0]!]
  assert.ok(w.observedAt > p.observedAt, 'a false alarm delays the next raise')
})

test('implausible register jumps are gaps, not a dry house; a long gap with no use counts', () => {
  const month = water(elder(6), 26)
  const faulty = month.map((s) => s.ts > at(22, 7) && s.ts <= at(22, 19) ? { ...s, amount: 0, registerFault: 'implausible' as const } : s)
  assert.deepEqual(raises(feed(createWaterDetector(), faulty)), [])
  // Offline from 09:00 to 19:00 on a quiet day, then one reading: the register did not move.
  const quiet = water(elder(6, [{ kind: 'incapacitated', at: at(22, 9) }]), 24)
  const late = quiet.filter((s) => s.ts <= at(22, 9) || s.ts > at(22, 19))
  late.splice(late.findIndex((s) => s.ts > at(22, 19)), 0, { ...quiet[0]!, ts: at(22, 19), intervalMs: 10 * H, amount: 0 })
  const raise = raises(feed(createWaterDetector(), late))[0]
  assert.equal(raise?.observedAt, at(22, 19))
})

// ---------------------------------------------------------------- leaks

test('a leak raises once, medium: a steady one after a night, a slow drip within a day and a half', () => {
  for (const [seed, lph, within] of [[1, 1.5, 36], [2, 6, 20], [3, 20, 20], [4, 1, 36]] as const) {
    const from = at(20, 13)
    const as = feed(createWaterDetector(), water({ subjectKind: 'rental_unit', seed }, 24, { leak: { from, litresPerHour: lph } }, 'flat-1'))
    const leaks = raises(as, 'water_leak')
    assert.equal(leaks.length, 1, `seed ${seed} ${lph} L/h`)
    const [leak] = leaks
    assert.equal(leak!.severity, 'medium')
    assert.equal(leak!.detector, 'water_leak')
    assert.equal(leak!.evidence.rule, lph < 4 ? 'slow' : 'steady')
    assert.ok(leak!.observedAt > from && leak!.observedAt <= from + within * H, `raised ${(leak!.observedAt - from) / H} h after`)
    assert.ok(Number(leak!.evidence.nightLitresPerHour) >= 0.8 * lph, `night ${String(leak!.evidence.nightLitresPerHour)} L/h`)
  }
})

test('no leak in 45 days of elders, couples and six sharing a flat', () => {
  for (let seed = 1; seed <= 10; seed++) {
    for (const p of [elder(seed), { subjectKind: 'rental_unit', seed } as const, { subjectKind: 'rental_unit', seed, occupants: 6 } as const]) {
      assert.deepEqual(raises(feed(createWaterDetector(), water(p, 45)), 'water_leak'), [], `${p.subjectKind} ${p.occupants ?? ''} seed ${seed}`)
    }
  }
})

test('a fixed leak clears; a small leak does not hide a quiet home', () => {
  const leaking = water(elder(7), 24, { leak: { from: at(18), litresPerHour: 5 } })
  const dry = water(elder(7), 24)
  const fixedAt = at(21, 11)
  const as = feed(createWaterDetector(), leaking.map((s, i) => s.ts > fixedAt ? dry[i]! : s))
  assert.deepEqual(as.filter((a) => a.kind === 'water_leak').map((a) => a.phase), ['raise', 'clear'])
  assert.ok(as.at(-1)!.observedAt - fixedAt <= 2 * H)

  const quietAt = at(22, 9.5)
  const both = feed(createWaterDetector(), water(elder(7, [{ kind: 'incapacitated', at: quietAt }]), 24, { leak: { from: at(18), litresPerHour: 2.5 } }))
  const raise = raises(both, 'inactivity')[0]
  assert.ok(raise !== undefined && raise.observedAt - quietAt <= 12 * H, 'the night floor is taken as the leak, not as use')
  assert.equal(labelAt(elder(7, [{ kind: 'incapacitated', at: quietAt }]), raise.observedAt).presence, 'incapacitated')
})
