/**
 * A patrol drone: it takes off from the first point of its route, flies the route round and round
 * at a steady speed for a flight, lands to swap batteries, and goes again. While flying it reports
 * its position, altitude and battery; when its model sees something (a fire, standing water) it
 * sends a detection per frame for a few frames. Everything is a function of the time, so any
 * window can be asked for in any order.
 */
import turfDistance from '@turf/distance'
import type { DroneLabel } from '../vocab/index.ts'

export interface Sighting {
  /** When the first frame is sent, epoch ms. */
  at: number
  label: DroneLabel
  lat: number
  lon: number
  /** Confidence of the first frame; later frames grow surer, up to 0.98. Default 0.7. */
  confidence?: number
  /** Frames sent; default 5. */
  frames?: number
  /** Seconds between frames; default 8. */
  everyS?: number
}

export interface PatrolPlan {
  /** Waypoints [lat, lon] of a closed loop; the first is home. */
  route: Array<[number, number]>
  /** First take-off, epoch ms. */
  firstTakeoff: number
  /** Metres per second; default 8. */
  speedMps?: number
  /** Cruising altitude, metres; default 60. */
  altM?: number
  /** Minutes in the air per flight; default 25. */
  flightMin?: number
  /** Minutes on the ground between flights; default 10. */
  groundMin?: number
  /** Seconds between position reports while flying; default 30. */
  reportEveryS?: number
  /** Flights (0 first) on a worn battery that runs down to 10%. */
  weakFlights?: number[]
  sightings?: Sighting[]
}

export type DroneMessage =
  | { channel: 'telemetry', body: { ts: number, lat: number, lon: number, alt: number, battery: number } }
  | { channel: 'events', body: { ts: number, lat: number, lon: number, label: DroneLabel, confidence: number } }

const MIN = 60_000

export function createPatrol (plan: PatrolPlan) {
  if (plan.route.length < 2) throw new RangeError('a patrol route needs at least two points')
  const speed = plan.speedMps ?? 8
  const alt = plan.altM ?? 60
  const flightMs = (plan.flightMin ?? 25) * MIN
  const cycleMs = flightMs + (plan.groundMin ?? 10) * MIN
  const stepMs = (plan.reportEveryS ?? 30) * 1000
  const weak = new Set(plan.weakFlights ?? [])
  const legs = plan.route.map((p, i) => {
    const q = plan.route[(i + 1) % plan.route.length]!
    return { from: p, to: q, m: turfDistance([p[1], p[0]], [q[1], q[0]], { units: 'meters' }) }
  })
  const loopM = legs.reduce((s, l) => s + l.m, 0)

  /** Where the drone is `ms` into a flight. */
  function positionAt (ms: number): [number, number] {
    let m = (ms / 1000 * speed) % loopM
    for (const l of legs) {
      if (m <= l.m) {
        const f = l.m === 0 ? 0 : m / l.m
        return [l.from[0] + (l.to[0] - l.from[0]) * f, l.from[1] + (l.to[1] - l.from[1]) * f]
      }
      m -= l.m
    }
    return plan.route[0]!
  }

  /** Everything the drone sends over (fromMs, toMs], in time order. */
  function messagesBetween (fromMs: number, toMs: number): DroneMessage[] {
    const out: DroneMessage[] = []
    const first = Math.max(0, Math.floor((fromMs - plan.firstTakeoff) / cycleMs))
    for (let n = first; plan.firstTakeoff + n * cycleMs <= toMs; n++) {
      const takeoff = plan.firstTakeoff + n * cycleMs
      const drain = weak.has(n) ? 90 : 65
      for (let e = 0; e <= flightMs; e += stepMs) {
        const ts = takeoff + e
        if (ts <= fromMs || ts > toMs) continue
        const landed = e + stepMs > flightMs
        const [lat, lon] = landed ? plan.route[0]! : positionAt(e)
        const battery = Math.round((100 - drain * e / flightMs) * 10) / 10
        out.push({ channel: 'telemetry', body: { ts, lat: r6(lat), lon: r6(lon), alt: landed ? 0 : alt, battery } })
      }
    }
    for (const s of plan.sightings ?? []) {
      const frames = s.frames ?? 5
      for (let i = 0; i < frames; i++) {
        const ts = s.at + i * (s.everyS ?? 8) * 1000
        if (ts <= fromMs || ts > toMs) continue
        // A few metres of jitter between frames, as a real model's boxes wander.
        const j = ((i * 7919) % 11 - 5) * 0.00001
        const confidence = Math.min(0.98, Math.round(((s.confidence ?? 0.7) + i * 0.05) * 100) / 100)
        out.push({ channel: 'events', body: { ts, lat: r6(s.lat + j), lon: r6(s.lon - j), label: s.label, confidence } })
      }
    }
    return out.sort((a, b) => a.body.ts - b.body.ts)
  }

  return { messagesBetween, positionAt, loopM, cycleMs }
}

export type Patrol = ReturnType<typeof createPatrol>

const r6 = (x: number) => Math.round(x * 1e6) / 1e6
