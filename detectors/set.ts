/**
 * The detectors as one: every sample and every piece of feedback fanned out to each of them.
 *
 * Where a lone elder has both an electricity and a water meter, their inactivity is fused
 * (water-fusion.ts): the two meters' own inactivity anomalies stay inside the set and one episode,
 * said as detector `fusion`, goes out in their place. Subjects with one meter are untouched.
 */
import type { Anomaly, Consumption, SubjectEvent } from '../vocab/index.ts'
import type { Detector, Feedback } from './types.ts'
import { createFusion, type FusionOptions } from './water-fusion.ts'

export type { FusionOptions } from './water-fusion.ts'

export interface DetectorSet {
  readonly detectors: readonly Detector[]
  /** Feeds one sample to every detector; the anomalies they return, in detector order (fused inactivity last). Read-only. */
  update (sample: Consumption): Anomaly[]
  /** Gives outcome feedback to every detector. */
  feedback (fb: Feedback): void
  /** Fans the wall-clock tick out to the detectors that have one. */
  tick (now: number): Anomaly[]
  /** Fans a camera event out to the detectors that take them. */
  event (e: SubjectEvent): Anomaly[]
}

/** What most samples produce: nothing, without a new array each time. */
const NONE = Object.freeze([]) as unknown as Anomaly[]

export function createDetectorSet (detectors: readonly Detector[], opts: FusionOptions = {}): DetectorSet {
  const list = Object.freeze([...detectors])
  // Meter health, when in the set, tells fusion which meters to stop believing.
  const health = list.find((d) => d.name === 'meter_health') as (Detector & { isSuspect?: (id: string) => boolean }) | undefined
  const fusion = createFusion(list, health?.isSuspect ? { suspect: (id) => health.isSuspect!(id), ...opts } : opts)
  const ticking = list.filter((d) => d.tick !== undefined)
  // Fusion keeps a record per subject too; listed as a detector that takes no samples, so
  // snapshots and restores (app/detector-state.ts) carry it like the others.
  const fusionState: Detector | null = fusion && {
    name: 'fusion',
    update: () => null,
    feedback: () => {},
    snapshot: (id) => fusion.snapshot(id),
    restore: (id, raw) => fusion.restore(id, raw),
    subjects: () => fusion.subjects(),
  }
  return {
    detectors: fusionState ? Object.freeze([...list, fusionState]) : list,
    update (sample) {
      let out: Anomaly[] = NONE
      let fromPower: Anomaly | null = null, fromWater: Anomaly | null = null
      // Indexed, not for-of: this runs per reading, and the iterator's results showed in heap profiles.
      for (let i = 0; i < list.length; i++) {
        const d = list[i]!
        const a = d.update(sample)
        if (a === null) continue
        if (out === NONE) out = []
        out.push(a)
        if (d === fusion?.power) fromPower = a
        else if (d === fusion?.water) fromWater = a
      }
      return fusion === null ? out : fusion.fuse(sample, out, fromPower, fromWater)
    },
    feedback (fb) {
      for (const d of list) d.feedback(fb)
      fusion?.feedback(fb)
    },
    event (e) {
      let out: Anomaly[] = NONE
      for (const d of list) {
        const a = d.event?.(e) ?? null
        if (a !== null) { if (out === NONE) out = []; out.push(a) }
      }
      return out
    },
    tick (now) {
      const out: Anomaly[] = []
      for (const d of ticking) out.push(...d.tick!(now))
      return out
    },
  }
}
