/**
 * Expected activity: how unlikely this home's own routine makes each quiet hour, learned per home.
 *
 * For every local hour of the day, after a short and after a long quiet (48 buckets), the detector
 * learns the chance that activity returns in that hour after a quiet hour (the hazard of a quiet
 * run ending then), from ordinary life, fading over about `expectMemory` observations. A quiet run
 * then gathers evidence hour by hour, −ln(1 − hazard): an hour in which this home is nearly always
 * back to activity (a morning, an evening at home) adds much, an hour it usually stays quiet in
 * (a night, a working day out, a habitual afternoon nap) almost nothing. This is a sequential test
 * (a CUSUM of the log-likelihood ratio of "stopped" against "ordinary life", starting at zero when
 * the run begins): it raises as soon as the silence has become as unlikely as the bar says, not
 * when the evening's or next morning's routine is overdue. Graded (the default), an hour's level
 * weighs too: the share of the bucket's quiet hours at about standby is learned as well, and an hour
 * at standby is weighed against it (gradedEvidence). O(1) per closed hour, 144 numbers.
 */
import { get10, set10 } from './slab.ts'

/**
 * Faded counts are kept in tenths (a tenth of an hour in 60 is plenty), as 10-bit integers, four in
 * five bytes (countOf()): at most MAX_COUNT. A count fades towards expectMemory (in tenths, within
 * half a tenth per observation of it, the rounding's dead band: 10.5 x expectMemory at most), so
 * expectMemory is at most MAX_MEMORY (97; the default 60 reaches 630 tenths) and no count is ever cut.
 */
export const TENTHS = 10
export const MAX_COUNT = 0x3ff
export const MAX_MEMORY = Math.floor(MAX_COUNT / (TENTHS + 0.5))

/** Buckets: local hour of day, plus 24 once the run is long. */
export const BUCKETS = 48
/** The bytes a subject's 3 x BUCKETS counts take. */
export const COUNT_BYTES = 3 * BUCKETS * 10 / 8

export interface ExpectConfig {
  /** Observations a bucket's hazard remembers (an exponential fade). */
  expectMemory: number
  /** The hazard assumed before a bucket has been seen, and how many observations that guess weighs. */
  priorHazard: number
  priorWeight: number
  /** One hour never adds more evidence than −ln(1 − maxHazard): no single hour decides. */
  maxHazard: number
  /** A quiet run this many hours long has its own hazards (0: one table). */
  longRunHours: number
  /** Graded evidence: a quiet hour at about standby weighs against how often this home is that low then. */
  graded: boolean
  /** The share of a stopped home's hours at about standby is never taken below, nor above, these. */
  stopDeepMin: number
  stopDeepMax: number
  /** No one hour adds more than this evidence (graded). */
  maxHourEvidence: number
  /** ... nor takes away more than this (a timed appliance's reheat, a fridge's defrost). */
  maxHourCounter: number
}

export interface ExpectState {
  /**
   * Per bucket b, in tenths, in one typed array: at b the faded count of hours that followed a quiet hour, at
   * BUCKETS + b of those in which activity came back, at 2 * BUCKETS + b of those that stayed quiet the ones at
   * about standby.
   */
  hz: Uint8Array
  /** The byte where the subject's counts begin in `hz` (a chunk shared with other subjects: inactivity-state.ts), 5 bytes for each four. */
  hzAt: number
  /** Evidence gathered by the current quiet run. */
  runLlr: number
}

/** Bucket b's faded counts: hours that followed a quiet hour, those activity came back in, and of the rest those at about standby. */
const tries = (s: ExpectState, b: number) => countOf(s, b) / TENTHS
const ends = (s: ExpectState, b: number) => countOf(s, BUCKETS + b) / TENTHS
const deeps = (s: ExpectState, b: number) => countOf(s, 2 * BUCKETS + b) / TENTHS

/** Count k (of 3 x BUCKETS: tries, ends, deeps), in tenths (10 bits: slab.ts get10()). */
export const countOf = (s: ExpectState, k: number) => get10(s.hz, s.hzAt, k)
/** Sets count k, in tenths (an integer; held at MAX_COUNT, which expectMemory <= MAX_MEMORY never reaches). */
export const setCount = (s: ExpectState, k: number, tenths: number) => set10(s.hz, s.hzAt, k, Math.min(MAX_COUNT, tenths))

/**
 * Bucket of local hour index h (hours on the local clock), in a quiet run `quietHours` long so
 * far: activity comes back less readily after a long quiet (a day out, a trip) than after a short
 * one, and one table for both would make every long quiet look more unlikely than it is.
 * (Weekdays and weekends apart as well measured no better on the real homes and doubled the state.)
 */
export function bucketOf (cfg: ExpectConfig, h: number, quietHours: number): number {
  return (h % 24) + (cfg.longRunHours > 0 && quietHours >= cfg.longRunHours ? 24 : 0)
}

/**
 * Chance that activity returns in bucket b after a quiet hour. A bucket seldom seen leans on a
 * guess: for a long run, the same hour's hazard after a short quiet (an elder busy all day has few
 * long quiets to learn from); for a short one, priorHazard.
 */
export function hazard (cfg: ExpectConfig, s: ExpectState, b: number): number {
  const prior = b >= 24 ? Math.min(cfg.maxHazard, shortHazard(cfg, s, b - 24)) : cfg.priorHazard
  return Math.min(cfg.maxHazard, (ends(s, b) + prior * cfg.priorWeight) / (tries(s, b) + cfg.priorWeight))
}

const shortHazard = (cfg: ExpectConfig, s: ExpectState, b: number) => (ends(s, b) + cfg.priorHazard * cfg.priorWeight) / (tries(s, b) + cfg.priorWeight)

/** Evidence a quiet hour in bucket b adds. */
export const hourEvidence = (cfg: ExpectConfig, s: ExpectState, b: number) => -Math.log(1 - hazard(cfg, s, b))

/** Learns one ordinary hour that followed a quiet hour: did activity come back in it, and if not, was it at about standby? */
export function learnHazard (cfg: ExpectConfig, s: ExpectState, b: number, ended: boolean, deep = false) {
  const keep = 1 - 1 / cfg.expectMemory
  setCount(s, b, Math.round((tries(s, b) * keep + 1) * TENTHS))
  setCount(s, BUCKETS + b, Math.round((ends(s, b) * keep + (ended ? 1 : 0)) * TENTHS))
  setCount(s, 2 * BUCKETS + b, Math.round((deeps(s, b) * keep + (deep && !ended ? 1 : 0)) * TENTHS))
}

/** Of the ordinary hours in bucket b that stayed quiet after a quiet hour, the share at about standby (a long run's leans on the short). */
export function deepShare (cfg: ExpectConfig, s: ExpectState, b: number): number {
  const prior = b >= 24 ? deepShare(cfg, s, b - 24) : 0.5
  return (deeps(s, b) + prior * cfg.priorWeight) / (Math.max(0, tries(s, b) - ends(s, b)) + cfg.priorWeight)
}

/**
 * A stopped home sits at its own standby as on its quietest nights: the share of quiet hours at
 * about standby in this home's deepest hour of day (short quiets), within [stopDeepMin, stopDeepMax].
 */
export function stopDeep (cfg: ExpectConfig, s: ExpectState): number {
  // Asked at every quiet hour: the short buckets' counts decoded four at a time from their five
  // bytes (slab.ts get10()'s layout), each once, not through 72 calls of get10. deepShare's own
  // arithmetic for a short bucket (prior 0.5), so the same number.
  const u = s.hz, pw = cfg.priorWeight
  let m = 0
  for (let b = 0; b < 24; b += 4) {
    const t = s.hzAt + 5 * (b >> 2), e = t + 5 * (BUCKETS >> 2), d = e + 5 * (BUCKETS >> 2)
    for (let j = 0; j < 4; j++) {
      // Count j of the four from byte k: at bit 10j, within bytes k + (10j >> 3) and the next.
      const o = (10 * j) >> 3, sh = (10 * j) & 7
      const tr = ((u[t + o]! | u[t + o + 1]! << 8) >> sh & 0x3ff) / TENTHS
      if (tr < pw) continue
      const en = ((u[e + o]! | u[e + o + 1]! << 8) >> sh & 0x3ff) / TENTHS, dp = ((u[d + o]! | u[d + o + 1]! << 8) >> sh & 0x3ff) / TENTHS
      m = Math.max(m, (dp + 0.5 * pw) / (Math.max(0, tr - en) + pw))
    }
  }
  return Math.min(cfg.stopDeepMax, Math.max(cfg.stopDeepMin, m))
}
/**
 * Graded evidence of a quiet hour in bucket b: the log-likelihood ratio of its level (at about
 * standby, or a little above) under "stopped" (the home as on its quietest nights) against this
 * home's ordinary life in that bucket (a quiet hour as often as 1 − hazard, and that low as
 * often as deepShare). An hour at standby when this home is nearly always above it weighs much; a
 * slightly-low hour where this home is often at standby weighs little or against. Within
 * [−maxHourCounter, maxHourEvidence]: no one hour decides, either way.
 */
export function gradedEvidence (cfg: ExpectConfig, s: ExpectState, b: number, deep: boolean, stop: number): number {
  const quiet = 1 - hazard(cfg, s, b), d = deepShare(cfg, s, b)
  const e = deep ? Math.log(stop / (quiet * Math.max(0.02, d))) : Math.log((1 - stop) / (quiet * Math.max(0.02, 1 - d)))
  return Math.max(-cfg.maxHourCounter, Math.min(cfg.maxHourEvidence, e))
}

/** The hazard table for evidence: each bucket's hazard, rounded. */
export const hazards = (cfg: ExpectConfig, s: ExpectState) => Array.from({ length: BUCKETS }, (_, b) => +hazard(cfg, s, b).toFixed(3))
