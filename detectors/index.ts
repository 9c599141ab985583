/**
 * Streaming detectors: pure objects fed consumption samples, saying when a subject looks wrong.
 * `createDetectors` lists every detector; `createDetectorSet` fans samples and feedback out to them.
 */
import type { Detector, DetectorOptions } from './types.ts'
import { createInactivityDetector, type InactivityOptions } from './inactivity.ts'
import { createMeterHealthDetector, type MeterHealthOptions } from './meter-health.ts'
import { createWaterDetector, type WaterOptions } from './water.ts'
import { createRentalDetector, type RentalOptions } from './rental.ts'
import { createNightLoadDetector, type NightLoadOptions } from './night-load.ts'
import { createCameraDetector, type CameraOptions } from './camera.ts'
import { createElectricityHours } from './electricity-hours.ts'
import { HOUR } from './hours.ts'
import { SubjectIndex } from './subject-index.ts'

export { createInactivityDetector, INACTIVITY_KIND, type InactivityOptions } from './inactivity.ts'
export { createMeterHealthDetector, METER_HEALTH_KINDS, type MeterHealthOptions } from './meter-health.ts'
export { createWaterDetector, WATER_LEAK, WATER_QUIET, type WaterDetector, type WaterOptions } from './water.ts'
export { createRentalDetector, CROWDING_KIND, EBIKE_KIND, RENTAL_KINDS, VACANCY_KIND, type RentalOptions } from './rental.ts'
export { createNightLoadDetector, NIGHT_LOAD_KIND, type NightLoadOptions } from './night-load.ts'
export { createCameraDetector, FALL_KIND, SMOKE_KIND, type CameraOptions } from './camera.ts'
export { createDroneDetector, DRONE_SEVERITY, type DroneDetector, type DroneDetectorOptions } from './drone.ts'
export type { Detector, DetectorOptions, Feedback } from './types.ts'
export { createDetectorSet, type DetectorSet, type FusionOptions } from './set.ts'
export { SubjectIndex } from './subject-index.ts'

export interface DetectorsOptions extends DetectorOptions {
  /** Tunables of the inactivity detector; its `utcOffsetHours` defaults to the shared one. */
  inactivity?: InactivityOptions
  meterHealth?: MeterHealthOptions
  water?: WaterOptions
  rental?: RentalOptions
  nightLoad?: NightLoadOptions
  camera?: CameraOptions
}

/**
 * Every detector, configured. Meter health comes first: a sample from a meter it suspects
 * (stuck, offline, a corrupt register) is a gap to the welfare detectors, not a silence.
 * Inactivity and night load share one record of each elder's electricity by hour
 * (electricity-hours.ts), spread once per sample, when they take the same samples on the same
 * clock (their utcOffsetHours, maxSpanHours and suspect are not set apart); else each keeps its own.
 */
export function createDetectors (opts: DetectorsOptions = {}): Detector[] {
  const { inactivity, meterHealth, water, rental, nightLoad, camera, ...given } = opts
  // One index of subject ids for every detector here (subject-index.ts): one Map entry a subject, not one a detector.
  const shared = { ...given, index: given.index ?? new SubjectIndex() }
  const health = createMeterHealthDetector({ ...shared, ...meterHealth })
  const suspect = (deviceId: string) => health.isSuspect(deviceId)
  const inact = { suspect, ...shared, ...inactivity }, night = { suspect, ...shared, ...nightLoad }
  const offset = inact.utcOffsetHours ?? 8, span = inact.maxSpanHours ?? 48
  const same = offset === (night.utcOffsetHours ?? 8) && span === (night.maxSpanHours ?? 48) && inact.suspect === night.suspect
  const hours = same && inactivity?.hours === undefined && nightLoad?.hours === undefined ? createElectricityHours(offset * HOUR, span * HOUR, true) : undefined
  return [
    health,
    createInactivityDetector({ ...inact, hours: inactivity?.hours ?? hours }),
    createWaterDetector({ suspect, ...shared, ...water }),
    createRentalDetector({ suspect, ...shared, ...rental }),
    createNightLoadDetector({ ...night, hours: nightLoad?.hours ?? hours }),
    createCameraDetector({ ...shared, ...camera }),
  ]
}
