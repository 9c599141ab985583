import { test } from 'vitest'
import assert from 'node:assert/strict'
import { createPatrol, generateCameraEvents, labelAt } from '../simulators/index.ts'
import { demoSky } from '../simulators/sky.ts'
import { demoGridAreas } from '../simulators/street.ts'
import { createSpatialIndex } from '../addresses/spatial.ts'

const T0 = Date.UTC(2026, 10, 23, 0) // 08:00 local
const MIN = 60_000

test('a patrol flies its loop, reports every 30 s, lands, and one worn battery runs low', () => {
  const p = createPatrol({ route: [[30.24, 120.10], [30.24, 120.103], [30.243, 120.103], [30.243, 120.10]], firstTakeoff: T0, weakFlights: [1] })
  const day = p.messagesBetween(T0 - 1, T0 + 2 * p.cycleMs - 1)
  const tel = day.filter((m) => m.channel === 'telemetry').map((m) => m.body as { ts: number, lat: number, lon: number, alt: number, battery: number })
  assert.equal(tel.length, 2 * 51, 'a 25-minute flight reported every 30 s, both ends included')
  for (const t of tel) assert.ok(t.lat >= 30.24 && t.lat <= 30.243 && t.lon >= 120.10 && t.lon <= 120.103, 'over its route')
  const flight1 = tel.slice(0, 51)
  assert.equal(flight1.at(-1)!.alt, 0, 'lands at the end of a flight')
  assert.ok(flight1.every((t, i) => i === 0 || t.battery <= flight1[i - 1]!.battery))
  assert.ok(Math.min(...flight1.map((t) => t.battery)) >= 30)
  assert.ok(Math.min(...tel.slice(51).map((t) => t.battery)) < 20, 'the worn battery runs below 20%')
  // Windows in any order give the same messages.
  const halves = [...p.messagesBetween(T0 + 10 * MIN, T0 + 2 * p.cycleMs - 1), ...p.messagesBetween(T0 - 1, T0 + 10 * MIN)]
  assert.equal(halves.length, day.length)
})

test('a sighting is a few frames of one label, growing surer', () => {
  const p = createPatrol({ route: [[30.24, 120.10], [30.241, 120.10]], firstTakeoff: T0, sightings: [{ at: T0 + 5 * MIN, label: 'fire', lat: 30.2405, lon: 120.1, confidence: 0.6 }] })
  const ev = p.messagesBetween(T0, T0 + 10 * MIN).filter((m) => m.channel === 'events').map((m) => m.body as { label: string, confidence: number, ts: number })
  assert.equal(ev.length, 5)
  assert.ok(ev.every((e) => e.label === 'fire'))
  assert.ok(ev.at(-1)!.confidence > ev[0]!.confidence)
  assert.ok(ev.at(-1)!.ts - ev[0]!.ts <= 60_000, 'within a minute')
})

test('a door camera sees motion only while someone is up at home, and the fall when the meter goes quiet', () => {
  const fallAt = T0 + 26 * 60 * MIN
  const profile = { subjectKind: 'lone_elder' as const, seed: 4, scenarios: [{ kind: 'incapacitated' as const, at: fallAt }] }
  const ev = generateCameraEvents(profile, T0, T0 + 2 * 1440 * MIN, { fallAt })
  const motion = ev.filter((e) => e.event === 'motion')
  assert.ok(motion.length > 20, `a day of motion, got ${motion.length}`)
  assert.ok(ev.some((e) => e.event === 'door_open'))
  assert.deepEqual(ev.filter((e) => e.event === 'fall').map((e) => e.ts), [fallAt])
  assert.ok(motion.every((e) => e.ts < fallAt), 'nothing moves after the fall')
  // Motion at night is rare: only when the household is up.
  const asleep = motion.filter((e) => labelAt(profile, e.ts).presence === 'asleep')
  assert.ok(asleep.length <= motion.length * 0.05)
  assert.deepEqual(generateCameraEvents(profile, T0, T0 + 1440 * MIN), generateCameraEvents(profile, T0, T0 + 1440 * MIN), 'deterministic')
})

test('the demo sky: each sighting lands where the story says', () => {
  const areas = demoGridAreas()
  const idx = createSpatialIndex(areas.features.map((f) => ({ code: f.properties.code, polygons: [f.geometry.coordinates] })), [
    { code: 'C2-G1-B1', lat: 30.245, lon: 120.105, grid: 'XH-LY-C2-G1', street: 'XH-LY' },
  ])
  const sky = demoSky(T0, T0 + 90 * MIN)
  const s = sky.drones.flatMap((d) => d.plan.sightings ?? [])
  const where = Object.fromEntries(s.map((x) => [x.label, idx.gridAt(x.lat, x.lon)]))
  assert.deepEqual(where, { fire: 'XH-LY-C1-G1', flood: null, construction: 'XH-LY-C2-G2', crowd: null })
  const crowd = s.find((x) => x.label === 'crowd')!
  assert.ok(idx.nearestBuilding(crowd.lat, crowd.lon)!.distanceM < 300, 'the crowd is just outside a grid, near a building')
})
