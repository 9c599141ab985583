/**
 * The workload behind test/detector-snapshots.test.ts: a few simulated subjects fed to the whole
 * detector set for 40 days, with episodes of every electricity detector open at the cut. The
 * fixture (test/detector-snapshots.fixture.json) holds the snapshots main's detectors wrote at
 * the cut; regenerate it only from a checkout whose snapshot format is the one to keep readable.
 */
import type { Consumption, SubjectEvent } from '../vocab/index.ts'
import type { Feedback } from '../detectors/types.ts'
import type { MeterProfile } from '../simulators/types.ts'
import { generateReadings } from '../simulators/meters.ts'
import { generateWaterReadings } from '../simulators/water.ts'

const H = 3_600_000
const DAY = 24 * H
const T0 = Date.UTC(2026, 0, 1) - 8 * H
export const at = (day: number, hour = 0) => T0 + day * DAY + hour * H
export const DAYS = 40
/** Snapshots are taken after the last sample at or before this. */
export const CUT = at(37, 13)

const power = (id: string, dev: string, p: MeterProfile, street = 'S1'): Consumption[] => {
  const r = generateReadings(p, T0, at(DAYS))
  return r.slice(1).map((x, i) => ({ subjectId: id, subjectKind: p.subjectKind, deviceId: dev, street, unit: 'kwh', ts: x.ts, intervalMs: x.ts - r[i]!.ts, amount: Math.max(0, Math.round((x.kwh - r[i]!.kwh) * 1000) / 1000) }))
}
const water = (id: string, dev: string, p: MeterProfile): Consumption[] => {
  const r = generateWaterReadings(p, T0, at(DAYS))
  return r.slice(1).map((x, i) => ({ subjectId: id, subjectKind: p.subjectKind, deviceId: dev, street: 'S1', unit: 'm3', ts: x.ts, intervalMs: x.ts - r[i]!.ts, amount: Math.round((x.m3 - r[i]!.m3) * 1000) / 1000 }))
}

/** Feedback from the alerts stage, given at event time `ts`. */
export interface FeedbackAt { ts: number, subjectId?: undefined, feedback: Feedback }

/** Every sample, door event and feedback, in event-time order. */
export function workload (): Array<Consumption | SubjectEvent | FeedbackAt> {
  const fell: MeterProfile = { subjectKind: 'lone_elder', seed: 5, scenarios: [{ kind: 'incapacitated', at: at(36, 21) }] }
  const streams: Array<Array<Consumption | SubjectEvent>> = [
    // Both meters: the fused episode, open at the cut.
    power('elder-1', 'e-1', fell), water('elder-1', 'w-1', fell),
    // An ordinary elder with a door camera, away for three days.
    power('elder-2', 'e-2', { subjectKind: 'lone_elder', seed: 7, scenarios: [{ kind: 'away', from: at(20, 9), until: at(23, 18) }] }),
    Array.from({ length: DAYS }, (_, d) => ({ subjectId: 'elder-2', subjectKind: 'lone_elder' as const, deviceId: 'cam-2', event: 'door_open' as const, ts: at(d, 9.5 + (d % 3)) })),
    // A lamp left on when she fell: the residue rules.
    power('elder-3', 'e-3', { subjectKind: 'lone_elder', seed: 9, scenarios: [{ kind: 'incapacitated', at: at(36, 20), residualW: 60 }] }),
    // A stuck register.
    power('elder-4', 'e-4', { subjectKind: 'lone_elder', seed: 11, scenarios: [{ kind: 'meter_fault', from: at(35, 10), fault: 'stuck' }] }),
    // Peers on the street, and a rental with an e-bike charged at night.
    // A heater left on from 23:00 of day 37 to 04:00 (night load), and a fall after the cut.
    power('elder-21', 'e-21', { subjectKind: 'lone_elder', seed: 21 }).map((c) => c.ts > at(37, 23) && c.ts <= at(38, 4) ? { ...c, amount: c.amount + 1.5 * c.intervalMs / H } : c),
    power('elder-22', 'e-22', { subjectKind: 'lone_elder', seed: 22, scenarios: [{ kind: 'incapacitated', at: at(38, 8) }] }),
    ...[23, 24].map((seed) => power(`elder-${seed}`, `e-${seed}`, { subjectKind: 'lone_elder', seed })),
    power('flat-1', 'e-f1', { subjectKind: 'rental_unit', seed: 13, scenarios: [{ kind: 'ebike_charging', from: at(30) }] }),
  ]
  // The worker finds elder-3 well on day 38 (a false alarm): muted, then judged again from the answer.
  const told: FeedbackAt = { ts: at(38, 10), feedback: { subjectId: 'elder-3', kind: 'inactivity', falseAlarm: true } }
  return [...streams.flat(), told].sort((a, b) => a.ts - b.ts || ((a.subjectId ?? '') < (b.subjectId ?? '') ? -1 : (a.subjectId ?? '') > (b.subjectId ?? '') ? 1 : 0))
}
