/**
 * A door camera on a simulated home: the door openings of door.ts, motion in the hall while
 * someone is up and at home (a few times an hour, more in the morning and evening), nothing while
 * they sleep or are out, and, in the fall scenario, a fall seen at the moment the household's
 * meters go quiet. Derived from the same household as the meters, so all of them agree.
 */
import type { MeterProfile } from './types.ts'
import { generateDoorEvents } from './door.ts'
import { MIN } from './household.ts'
import { createHousehold } from './scenarios.ts'
import { rngFor } from './random.ts'

export interface CameraEvent { ts: number, event: 'door_open' | 'motion' | 'fall', confidence?: number }

export interface CameraOptions {
  /** A fall seen at this time (pair it with an `incapacitated` scenario at the same time). */
  fallAt?: number
  /** Mean motion events per hour while someone is up at home; default 3. */
  motionPerHour?: number
}

const STEP = 10 * MIN

/** Door openings, motion and a fall over [fromMs, toMs), in time order. Deterministic for the profile's seed. */
export function generateCameraEvents (profile: MeterProfile, fromMs: number, toMs: number, opts: CameraOptions = {}): CameraEvent[] {
  const house = createHousehold(profile)
  const perStep = (opts.motionPerHour ?? 3) * STEP / (60 * MIN)
  const out: CameraEvent[] = generateDoorEvents(profile, fromMs, toMs)
  const start = Math.ceil(fromMs / STEP) * STEP
  for (let t = start; t < toMs; t += STEP) {
    if (house.truthAt(t).presence !== 'home') continue
    const r = rngFor(house.traits.seed, Math.floor(t / STEP), 17)
    const hour = new Date(t + (profile.utcOffsetHours ?? 8) * 3_600_000).getUTCHours()
    // Busier around breakfast and supper.
    const busy = hour >= 6 && hour < 9 ? 2 : hour >= 17 && hour < 21 ? 1.5 : 1
    const n = Math.floor(perStep * busy) + (r.chance((perStep * busy) % 1) ? 1 : 0)
    for (let i = 0; i < n; i++) out.push({ ts: Math.round(t + r.between(0, STEP)), event: 'motion', confidence: Math.round(r.between(0.7, 0.99) * 100) / 100 })
  }
  if (opts.fallAt !== undefined && opts.fallAt >= fromMs && opts.fallAt < toMs) out.push({ ts: opts.fallAt, event: 'fall', confidence: 0.93 })
  return out.filter((e) => e.ts >= fromMs && e.ts < toMs).sort((a, b) => a.ts - b.ts)
}

/** A camera's events over [fromMs, toMs) generated once, served by window: for the timed publisher. */
export function cameraFeed (profile: MeterProfile, fromMs: number, toMs: number, opts: CameraOptions = {}) {
  const events = generateCameraEvents(profile, fromMs, toMs, opts)
  return {
    events,
    /** Events over (a, b], as messages on the camera's events topic. */
    messagesBetween: (a: number, b: number) => events.filter((e) => e.ts > a && e.ts <= b).map((body) => ({ channel: 'events' as const, body })),
  }
}
