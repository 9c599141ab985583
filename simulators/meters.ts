/**
 * A smart meter on a simulated household: integrates the household's power into
 * a cumulative register and applies meter faults. Deterministic for a seed.
 */
import type { GroundTruth, MeterProfile, Reading, Scenario } from './types.ts'
import { MIN } from './household.ts'
import { createHousehold } from './scenarios.ts'
import { unit } from './random.ts'

export interface MeterModel {
  readonly profile: MeterProfile
  /**
   * The reading at `tsMs`; null once an `offline` fault has started. Calls must
   * come with non-decreasing times: the register integrates power between them.
   */
  readingAt (tsMs: number): Reading | null
  /** What was really going on at a time. Pure: does not move the register. */
  labelAt (tsMs: number): GroundTruth
  /** Instantaneous household power, W (what the meter would see if healthy). */
  powerAt (tsMs: number): number
}

type FaultScenario = Extract<Scenario, { kind: 'meter_fault' }>

export function createMeterModel (profile: MeterProfile): MeterModel {
  const house = createHousehold(profile)
  const faults: FaultScenario[] = (profile.scenarios ?? [])
    .filter((s): s is FaultScenario => s.kind === 'meter_fault')
    .sort((a, b) => a.from - b.from)
  let lastTs: number | null = null
  let energyKwh = profile.startKwh ?? Math.round(1000 + unit(profile.seed, 0x5eed) * 8000)
  let offsetKwh = 0 // subtracted after a reset
  let stuckKwh: number | null = null
  let offline = false
  let nextFault = 0

  // Power is constant within each calendar minute, so integrating minute by minute
  // gives the same register whatever the reading interval is.
  function advance (to: number): void {
    let t = lastTs ?? to
    while (t < to) {
      const minuteStart = Math.floor(t / MIN) * MIN
      const next = Math.min(minuteStart + MIN, to)
      energyKwh += house.powerAt(minuteStart) * (next - t) / 3_600_000_000
      t = next
    }
    lastTs = to
  }

  function readingAt (tsMs: number): Reading | null {
    if (!Number.isFinite(tsMs)) throw new RangeError(`readingAt: ts must be finite, got ${tsMs}`)
    if (lastTs !== null && tsMs < lastTs) throw new RangeError(`readingAt: ts ${tsMs} is before the previous ${lastTs}`)
    // Faults take effect at their own time, not at the next reading after it.
    for (let f = faults[nextFault]; f !== undefined && f.from <= tsMs; f = faults[++nextFault]) {
      if (lastTs !== null && f.from > lastTs) advance(f.from)
      if (f.fault === 'reset') { offsetKwh = energyKwh; stuckKwh = null }
      else if (f.fault === 'stuck') stuckKwh = energyKwh - offsetKwh
      else offline = true
    }
    advance(tsMs)
    if (offline) return null
    const register = stuckKwh ?? energyKwh - offsetKwh
    // A stuck register still reports live power: metering and the register are separate paths.
    return { ts: tsMs, kwh: Math.round(register * 1000) / 1000, w: Math.round(house.powerAt(tsMs)) }
  }

  return { profile, readingAt, labelAt: house.truthAt, powerAt: house.powerAt }
}

/** Readings every `stepMs` over [fromMs, toMs); offline points are left out, as they never arrive. */
export function generateReadings (profile: MeterProfile, fromMs: number, toMs: number, stepMs = 15 * MIN): Reading[] {
  if (!(stepMs > 0)) throw new RangeError(`generateReadings: stepMs must be > 0, got ${stepMs}`)
  const model = createMeterModel(profile)
  const out: Reading[] = []
  for (let ts = fromMs; ts < toMs; ts += stepMs) {
    const r = model.readingAt(ts)
    if (r !== null) out.push(r)
  }
  return out
}

/** Ground truth for a profile at a time, without a model to hand. */
export function labelAt (profile: MeterProfile, tsMs: number): GroundTruth {
  return createHousehold(profile).truthAt(tsMs)
}
