/**
 * Streaming detectors: pure objects fed consumption samples, saying when a subject looks wrong.
 * `createDetectors` lists every detector; `createDetectorSet` fans samples and feedback out to them.
 */
import type { Detector, DetectorOptions } from './types.ts'
import { createInactivityDetector, type InactivityOptions } from './inactivity.ts'

export { createInactivityDetector, INACTIVITY_KIND, type InactivityOptions } from './inactivity.ts'
export type { Detector, DetectorOptions, Feedback } from './types.ts'
export { createDetectorSet, type DetectorSet } from './set.ts'

export interface DetectorsOptions extends DetectorOptions {
  /** Tunables of the inactivity detector; its `utcOffsetHours` defaults to the shared one. */
  inactivity?: InactivityOptions
}

/** Every detector, configured. */
export function createDetectors (opts: DetectorsOptions = {}): Detector[] {
  const { inactivity, ...shared } = opts
  return [createInactivityDetector({ ...shared, ...inactivity })]
}
