/**
 * Seeded randomness. Every draw is keyed by (seed, day, stream) rather than taken
 * from one long sequence, so a day's plan is the same whichever day is asked first
 * and a model can be evaluated at any time without replaying history.
 */

/** Mixes integers into a 32-bit hash (murmur3 finaliser per word). */
export function hash32 (...words: number[]): number {
  let h = 0x9e3779b9
  for (const w of words) {
    let k = Math.imul(Math.trunc(w) | 0, 0xcc9e2d51)
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593)
    h ^= k
    h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/** mulberry32: a tiny fast PRNG, good enough for load curves. Returns floats in [0, 1). */
export function mulberry32 (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A PRNG with uniform and Bernoulli helpers. */
export interface Rng {
  (): number
  /** Uniform in [lo, hi). */
  between (lo: number, hi: number): number
  /** True with probability p. */
  chance (p: number): boolean
}

export function rngFor (...words: number[]): Rng {
  const next = mulberry32(hash32(...words))
  const rng = (() => next()) as Rng
  rng.between = (lo, hi) => lo + (hi - lo) * next()
  rng.chance = (p) => next() < p
  return rng
}

/** A deterministic float in [0, 1) for a key, without building a generator. */
export function unit (...words: number[]): number {
  return hash32(...words) / 4294967296
}
