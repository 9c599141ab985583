/**
 * Streaming detectors: pure objects fed consumption samples, saying when a subject looks wrong.
 * `createDetectors` lists every detector; `createDetectorSet` fans samples and feedback out to them.
 */
import type { Detector, DetectorOptions } from './types.ts'
import { createInactivityDetector, type InactivityOptions } from './inactivity.ts'
import { createMeterHealthDetector, type MeterHealthOptions } from './meter-health.ts'
import { createWaterDetector, type WaterOptions } from './water.ts'

export { createInactivityDetector, INACTIVITY_KIND, type InactivityOptions } from './inactivity.ts'
export { createMeterHealthDetector, METER_HEALTH_KINDS, type MeterHealthOptions } from './meter-health.ts'
export { createWaterDetector, WATER_LEAK, WATER_QUIET, type WaterDetector, type WaterOptions } from './water.ts'
export type { Detector, DetectorOptions, Feedback } from './types.ts'
export { createDetectorSet, type DetectorSet, type FusionOptions } from './set.ts'

export interface DetectorsOptions extends DetectorOptions {
  /** Tunables of the inactivity detector; its `utcOffsetHours` defaults to the shared one. */
  inactivity?: InactivityOptions
  meterHealth?: MeterHealthOptions
  water?: WaterOptions
}

/**
 * Every detector, configured. Meter health comes first: a sample from a meter it suspects
 * (stuck, offline, a corrupt register) is a gap to the welfare detectors, not a silence.
 */
export function createDetectors (opts: DetectorsOptions = {}): Detector[] {
  const { inactivity, meterHealth, water, ...shared } = opts
  const health = createMeterHealthDetector({ ...shared, ...meterHealth })
  const suspect = (deviceId: string) => health.isSuspect(deviceId)
  return [
    health,
    createInactivityDetector({ suspect, ...shared, ...inactivity }),
    createWaterDetector({ suspect, ...shared, ...water }),
  ]
}
