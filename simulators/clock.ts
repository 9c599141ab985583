/**
 * A simulated clock for live demos: simulated time runs `speed` times faster than
 * real time from a chosen start. The real time source is injected, so tests move
 * it by hand instead of waiting.
 */

export interface SimClock {
  /** Simulated now, epoch ms. */
  now (): number
  /** Simulated ms per real ms. */
  readonly speed: number
  /** Changes the speed from this moment on, without a jump in simulated time; 0 pauses. */
  setSpeed (speed: number): void
}

export interface SimClockOptions {
  /** Simulated time when the clock is created, epoch ms. */
  startMs: number
  /** Simulated ms per real ms; default 1800 (one simulated hour per two real seconds). */
  speed?: number
  /** Real time source, ms; default `performance.now`. */
  realNow?: () => number
}

export function createSimClock (opts: SimClockOptions): SimClock {
  const realNow = opts.realNow ?? (() => performance.now())
  let speed = checkSpeed(opts.speed ?? 1800)
  // Re-anchored on every speed change so simulated time stays continuous.
  let anchorSim = opts.startMs
  let anchorReal = realNow()

  function now (): number {
    return Math.floor(anchorSim + (realNow() - anchorReal) * speed)
  }

  return {
    now,
    get speed () { return speed },
    setSpeed (next: number) {
      const sim = now()
      speed = checkSpeed(next)
      anchorSim = sim
      anchorReal = realNow()
    },
  }
}

function checkSpeed (speed: number): number {
  if (!Number.isFinite(speed) || speed < 0) throw new RangeError(`sim clock speed must be a finite number >= 0, got ${speed}`)
  return speed
}
