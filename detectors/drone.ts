/**
 * What a patrol drone's on-board model reports from the sky (fire, smoke, flood, crowd,
 * construction), turned into episodes of a place rather than of a care subject. A drone sends a
 * detection per frame or per pass: sightings of one label close in time and space (default
 * within 10 minutes of the last and 150 m of where it was seen) are one episode, whichever drone
 * of the fleet saw them, so five frames of one fire make one alert. Pure: driven by event time,
 * no database, no timers; placement on the map is the alerts stage's business.
 */
import turfDistance from '@turf/distance'
import type { DroneDetection, DroneLabel, PlaceAnomaly, Severity } from '../vocab/index.ts'
import { finiteOptions } from './types.ts'

export interface DroneDetectorOptions {
  /** Sightings within this many minutes of an episode's last one may belong to it. Default 10. */
  episodeMinutes?: number
  /** ... and within this many metres of where it was first or last seen. Default 150. */
  episodeRadiusM?: number
  /** Below this confidence (0-1), when the drone gives one, a sighting is not acted on. Default 0.3. */
  minConfidence?: number
  /** Fire or smoke at or above this confidence is critical, else high. Default 0.8. */
  criticalConfidence?: number
  /** Open episodes kept at most (oldest dropped first). Default 10 000. */
  maxEpisodes?: number
}

/** How urgent each label is with a confident sighting; fire and smoke are raised to critical by confidence. */
export const DRONE_SEVERITY: Record<DroneLabel, Severity> = { fire: 'high', smoke: 'high', flood: 'high', crowd: 'medium', construction: 'low' }
const RANK: Severity[] = ['low', 'medium', 'high', 'critical']
const REASON: Record<DroneLabel, string> = {
  fire: 'a patrol drone saw fire', smoke: 'a patrol drone saw smoke', flood: 'a patrol drone saw standing water',
  crowd: 'a patrol drone saw a crowd gathering', construction: 'a patrol drone saw construction work',
}

interface Episode {
  id: string
  label: DroneLabel
  startedAt: number
  lastTs: number
  first: { lat: number, lon: number }
  last: { lat: number, lon: number }
  severity: Severity
  sightings: number
  drones: string[]
  maxConfidence: number | null
}

export function createDroneDetector (opts: DroneDetectorOptions = {}) {
  const cfg = finiteOptions('drone', {
    episodeMs: (opts.episodeMinutes ?? 10) * 60_000,
    radiusM: opts.episodeRadiusM ?? 150,
    minConfidence: opts.minConfidence ?? 0.3,
    criticalConfidence: opts.criticalConfidence ?? 0.8,
    maxEpisodes: opts.maxEpisodes ?? 10_000,
  })
  if (!(cfg.episodeMs > 0 && cfg.radiusM > 0 && cfg.maxEpisodes >= 1)) throw new RangeError('drone options: episodeMinutes, episodeRadiusM and maxEpisodes must be positive')
  const episodes: Episode[] = []

  const severityOf = (label: DroneLabel, confidence: number | undefined): Severity =>
    (label === 'fire' || label === 'smoke') && confidence !== undefined && confidence >= cfg.criticalConfidence ? 'critical' : DRONE_SEVERITY[label]
  const near = (e: Episode, d: DroneDetection) =>
    Math.min(metres(e.first, d), metres(e.last, d)) <= cfg.radiusM

  function detect (d: DroneDetection): PlaceAnomaly | null {
    if (!(d.ts > 0 && d.ts < Infinity) || !Number.isFinite(d.lat) || !Number.isFinite(d.lon)) return null
    if (d.confidence !== undefined && d.confidence < cfg.minConfidence) return null
    const severity = severityOf(d.label, d.confidence)
    const e = episodes.find((x) => x.label === d.label && Math.abs(d.ts - x.lastTs) <= cfg.episodeMs && near(x, d))
    if (e) {
      e.sightings++
      if (d.ts > e.lastTs) { e.lastTs = d.ts; e.last = { lat: d.lat, lon: d.lon } }
      if (d.ts < e.startedAt) e.startedAt = d.ts
      if (!e.drones.includes(d.deviceId)) e.drones.push(d.deviceId)
      if (d.confidence !== undefined) e.maxConfidence = Math.max(e.maxConfidence ?? 0, d.confidence)
      // Every further sighting updates the episode (its count, its last time); never a second raise.
      if (RANK.indexOf(severity) > RANK.indexOf(e.severity)) e.severity = severity
      return anomaly(e, d, 'update')
    }
    const fresh: Episode = {
      id: `${d.label}:${d.deviceId}:${d.ts}`, label: d.label, startedAt: d.ts, lastTs: d.ts, first: { lat: d.lat, lon: d.lon }, last: { lat: d.lat, lon: d.lon },
      severity, sightings: 1, drones: [d.deviceId], maxConfidence: d.confidence ?? null,
    }
    prune(d.ts)
    episodes.push(fresh)
    return anomaly(fresh, d, 'raise')
  }

  function anomaly (e: Episode, d: DroneDetection, phase: 'raise' | 'update'): PlaceAnomaly {
    return {
      detector: 'drone', kind: e.label, phase, severity: e.severity, episode: e.id, deviceId: d.deviceId, street: d.street,
      lat: e.first.lat, lon: e.first.lon, startedAt: e.startedAt, observedAt: d.ts,
      evidence: {
        deviceId: e.drones[0], drones: [...e.drones], label: e.label, lat: e.first.lat, lon: e.first.lon, sightings: e.sightings, lastSeenAt: new Date(e.lastTs).toISOString(),
        ...(e.maxConfidence !== null ? { confidence: e.maxConfidence } : {}), reason: REASON[e.label],
      },
    }
  }

  /** Drops episodes over by the event time `now`, and the oldest past maxEpisodes. */
  function prune (now: number) {
    for (let i = episodes.length - 1; i >= 0; i--) if (now - episodes[i]!.lastTs > cfg.episodeMs) episodes.splice(i, 1)
    while (episodes.length >= cfg.maxEpisodes) episodes.shift()
  }

  return { name: 'drone', detect, get open () { return episodes.length } }
}

export type DroneDetector = ReturnType<typeof createDroneDetector>

const metres = (a: { lat: number, lon: number }, b: { lat: number, lon: number }) =>
  turfDistance([a.lon, a.lat], [b.lon, b.lat], { units: 'meters' })
