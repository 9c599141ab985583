/**
 * A door sensor (or a door camera) on a simulated home: it sees the door open whenever someone
 * leaves or comes back, and now and then while someone is at home (the post, the rubbish, a
 * neighbour). Derived from the same household as the meters, so it agrees with them.
 */
import type { MeterProfile } from './types.ts'
import { DAY, MIN, dayStart, localDay } from './household.ts'
import { createHousehold } from './scenarios.ts'
import { rngFor } from './random.ts'

export interface DoorEvent { ts: number, event: 'door_open' }

const STEP = 5 * MIN
const OUT = new Set(['out', 'away', 'vacant'])

/** Door openings over [fromMs, toMs), in time order. Deterministic for the profile's seed. */
export function generateDoorEvents (profile: MeterProfile, fromMs: number, toMs: number, opts: { extraPerDay?: number } = {}): DoorEvent[] {
  const house = createHousehold(profile)
  const extra = opts.extraPerDay ?? 1.5
  const out: DoorEvent[] = []
  let was = house.truthAt(fromMs).presence
  for (let t = fromMs + STEP; t < toMs; t += STEP) {
    const now = house.truthAt(t).presence
    // Leaving or coming back: one opening at the step it happened in.
    if (OUT.has(now) !== OUT.has(was) && was !== 'incapacitated' && now !== 'incapacitated') out.push({ ts: t - Math.floor(STEP / 2), event: 'door_open' })
    was = now
  }
  // Openings while someone is up and at home, at random minutes of the day.
  const tr = house.traits
  for (let day = localDay(fromMs, tr); dayStart(day, tr) < toMs; day++) {
    const r = rngFor(tr.seed, day, 9)
    const n = Math.floor(extra) + (r.chance(extra % 1) ? 1 : 0)
    for (let i = 0; i < n; i++) {
      const ts = Math.round(dayStart(day, tr) + r.between(0, DAY))
      if (ts >= fromMs && ts < toMs && house.truthAt(ts).presence === 'home') out.push({ ts, event: 'door_open' })
    }
  }
  return out.sort((a, b) => a.ts - b.ts)
}
