/**
 * Streaming detectors: pure objects fed consumption samples, saying when a subject looks wrong.
 * `createDetectors` lists every detector; `createDetectorSet` fans samples and feedback out to them.
 */
import type { Anomaly, Consumption } from '../vocab/index.ts'
import type { Detector, DetectorOptions, Feedback } from './types.ts'
import { createInactivityDetector, type InactivityOptions } from './inactivity.ts'

export { createInactivityDetector, INACTIVITY_KIND, type InactivityOptions } from './inactivity.ts'
export type { Detector, DetectorOptions, Feedback } from './types.ts'

export interface DetectorsOptions extends DetectorOptions {
  /** Tunables of the inactivity detector; its `utcOffsetHours` defaults to the shared one. */
  inactivity?: InactivityOptions
}

/** Every detector, configured. */
export function createDetectors (opts: DetectorsOptions = {}): Detector[] {
  const { inactivity, ...shared } = opts
  return [createInactivityDetector({ ...shared, ...inactivity })]
}

export interface DetectorSet {
  readonly detectors: readonly Detector[]
  /** Feeds one sample to every detector; the anomalies they return, in detector order. */
  update (sample: Consumption): Anomaly[]
  /** Gives outcome feedback to every detector. */
  feedback (fb: Feedback): void
}

export function createDetectorSet (detectors: readonly Detector[]): DetectorSet {
  const list = Object.freeze([...detectors])
  return {
    detectors: list,
    update (sample) {
      const out: Anomaly[] = []
      for (const d of list) {
        const a = d.update(sample)
        if (a !== null) out.push(a)
      }
      return out
    },
    feedback (fb) {
      for (const d of list) d.feedback(fb)
    },
  }
}
