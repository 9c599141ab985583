/**
 * The detectors as one: every sample and every piece of feedback fanned out to each of them.
 */
import type { Anomaly, Consumption } from '../vocab/index.ts'
import type { Detector, Feedback } from './types.ts'

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
