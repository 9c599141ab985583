/**
 * What a care subject's door camera says outright: a fall (someone down) or smoke. No learning:
 * the camera has judged already; this turns its judgement into one alert episode per subject and
 * kind, raised at once (critical), and kept open until the task is resolved. A second sighting
 * within `episodeHours` is the same episode; later, a new one.
 */
import { z } from 'zod'
import type { Anomaly, Consumption, SubjectEvent } from '../vocab/index.ts'
import { type Detector, type DetectorOptions, type Feedback, parseSnapshot, withConfidence } from './types.ts'

export const FALL_KIND = 'fall'
export const SMOKE_KIND = 'smoke'

export interface CameraOptions extends DetectorOptions {
  /** Below this confidence (0-1), when the camera gives one, an event is not acted on. Default 0.6. */
  minConfidence?: number
  /** Sightings within this many hours of the last one belong to the same episode. Default 12. */
  episodeHours?: number
}

const HOUR = 3_600_000
const KINDS = { fall: FALL_KIND, smoke: SMOKE_KIND } as const

/** Per subject and kind: when the current episode began and was last seen (0: none). */
interface State { fallAt: number, fallSeen: number, smokeAt: number, smokeSeen: number }
const StateSchema = z.object({ fallAt: z.number().finite().nonnegative(), fallSeen: z.number().finite().nonnegative(), smokeAt: z.number().finite().nonnegative(), smokeSeen: z.number().finite().nonnegative() })

export function createCameraDetector (opts: CameraOptions = {}): Detector {
  const minConfidence = opts.minConfidence ?? 0.6
  const episodeMs = (opts.episodeHours ?? 12) * HOUR
  if (!(minConfidence >= 0 && minConfidence <= 1) || !(episodeMs > 0)) throw new RangeError('camera options: minConfidence in [0, 1], episodeHours > 0')
  const states = new Map<string, State>()

  return {
    name: 'camera',
    update (_c: Consumption) { return null },
    event (e: SubjectEvent): Anomaly | null {
      if (e.event !== 'fall' && e.event !== 'smoke') return null
      if (!(e.ts > 0 && e.ts < Infinity) || (e.confidence !== undefined && e.confidence < minConfidence)) return null
      let s = states.get(e.subjectId)
      if (s === undefined) { s = { fallAt: 0, fallSeen: 0, smokeAt: 0, smokeSeen: 0 }; states.set(e.subjectId, s) }
      const fall = e.event === 'fall'
      const seen = fall ? s.fallSeen : s.smokeSeen
      const same = seen > 0 && e.ts - seen <= episodeMs && e.ts >= seen - episodeMs
      if (fall) { if (!same) s.fallAt = e.ts; s.fallSeen = Math.max(s.fallSeen, e.ts) } else { if (!same) s.smokeAt = e.ts; s.smokeSeen = Math.max(s.smokeSeen, e.ts) }
      if (same) return null
      const a: Anomaly = {
        subjectId: e.subjectId, detector: 'camera', kind: KINDS[e.event], phase: 'raise', severity: 'critical', startedAt: e.ts, observedAt: e.ts,
        evidence: { deviceId: e.deviceId, event: e.event, ...(e.confidence !== undefined ? { cameraConfidence: e.confidence } : {}), reason: fall ? 'the door camera saw someone fall' : 'the door camera saw smoke' },
      }
      // The camera saw it: strong evidence, unless the camera itself is unsure.
      return e.confidence !== undefined && e.confidence < 0.8
        ? withConfidence(a, 'medium', `the camera saw it, at its own confidence ${e.confidence}`)
        : withConfidence(a, 'high', 'the camera saw it')
    },
    feedback (fb: Feedback) {
      // A task resolved on a fall or smoke closes the episode: the next sighting pages again.
      const s = states.get(fb.subjectId)
      if (s === undefined) return
      if (fb.kind === FALL_KIND) { s.fallAt = 0; s.fallSeen = 0 }
      if (fb.kind === SMOKE_KIND) { s.smokeAt = 0; s.smokeSeen = 0 }
    },
    snapshot (subjectId) {
      const s = states.get(subjectId)
      return s && { ...s }
    },
    restore (subjectId, raw) {
      states.set(subjectId, { ...parseSnapshot('camera', StateSchema, raw) })
    },
    subjects () { return states.keys() },
  }
}
