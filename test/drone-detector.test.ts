import { test } from 'vitest'
import assert from 'node:assert/strict'
import { createDroneDetector } from '../detectors/index.ts'
import type { DroneDetection, PlaceAnomaly } from '../vocab/index.ts'

const T0 = Date.UTC(2026, 10, 23, 2)
const MIN = 60_000
const at = (over: Partial<DroneDetection>): DroneDetection => ({ deviceId: 'dr1', street: 'S1', ts: T0, lat: 30.2411, lon: 120.1011, label: 'fire', ...over })

test('five frames of one fire within a minute are one episode, raised once', () => {
  const d = createDroneDetector()
  const out = [0, 10, 20, 30, 40].map((s, i) => d.detect(at({ ts: T0 + s * 1000, lat: 30.2411 + i * 0.0001, confidence: 0.6 })))
  const raised = out.filter((a): a is PlaceAnomaly => a?.phase === 'raise')
  assert.equal(raised.length, 1)
  assert.deepEqual(out.slice(1).map((a) => [a?.phase, a?.episode, a?.evidence.sightings]), [2, 3, 4, 5].map((n) => ['update', raised[0]!.episode, n]))
  assert.equal(raised[0]!.phase, 'raise')
  assert.equal(raised[0]!.kind, 'fire')
  assert.equal(raised[0]!.severity, 'high')
  assert.equal(raised[0]!.detector, 'drone')
  assert.equal(d.open, 1)
})

test('a more confident sighting of the same fire raises its severity to critical, once', () => {
  const d = createDroneDetector()
  const first = d.detect(at({ confidence: 0.5 }))!
  const sure = d.detect(at({ ts: T0 + MIN, confidence: 0.95 }))!
  assert.equal(sure.phase, 'update')
  assert.equal(sure.severity, 'critical')
  assert.equal(sure.episode, first.episode)
  assert.equal(sure.evidence.sightings, 2)
  assert.equal(d.detect(at({ ts: T0 + 2 * MIN, confidence: 0.5 }))!.severity, 'critical', 'severity never falls within an episode')
})

test('far apart, much later, another label or another drone at the same place', () => {
  const d = createDroneDetector()
  const a = d.detect(at({}))!
  assert.ok(d.detect(at({ lat: 30.2411 + 0.002 })), '220 m away is another fire')
  assert.ok(d.detect(at({ label: 'smoke' })), 'smoke is another episode than fire')
  const other = d.detect(at({ deviceId: 'dr2', ts: T0 + 5 * MIN }))!
  assert.equal(other.phase, 'update', 'a second drone over the same fire adds to its episode')
  assert.equal(other.episode, a.episode)
  assert.deepEqual(other.evidence.drones, ['dr1', 'dr2'])
  assert.ok(d.detect(at({ ts: T0 + 11 * MIN, lat: 30.2411 + 0.002 * 3 })), 'later and elsewhere')
  const later = d.detect(at({ ts: T0 + 30 * MIN }))!
  assert.notEqual(later.episode, a.episode, 'half an hour after the last sighting is a new episode')
})

test('severity by label; doubtful sightings and impossible values are ignored', () => {
  const d = createDroneDetector()
  const sev = (label: DroneDetection['label'], lat: number) => d.detect(at({ label, lat }))!.severity
  assert.equal(sev('flood', 30.1), 'high')
  assert.equal(sev('crowd', 30.2), 'medium')
  assert.equal(sev('construction', 30.3), 'low')
  assert.equal(d.detect(at({ lat: 30.4, confidence: 0.95 }))!.severity, 'critical')
  assert.equal(d.detect(at({ lat: 30.5, confidence: 0.1 })), null)
  assert.equal(d.detect(at({ lat: Number.NaN })), null)
  assert.equal(d.detect(at({ ts: Number.NaN })), null)
  assert.throws(() => createDroneDetector({ episodeRadiusM: 0 }), RangeError)
  assert.throws(() => createDroneDetector({ episodeMinutes: Number.NaN }), RangeError)
})

test('state stays bounded', () => {
  const d = createDroneDetector({ maxEpisodes: 50 })
  for (let i = 0; i < 500; i++) d.detect(at({ lat: 30 + i * 0.01 }))
  assert.ok(d.open <= 50)
})
