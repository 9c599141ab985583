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
 * when the evening's or next morning's routine is overdue. O(1) per closed hour, 96 numbers.
 */
/** Faded counts are kept in tenths (a tenth of an hour in 60 is plenty), as 16-bit integers: the 48 pairs stay short in the state and in the snapshot. */
export const TENTHS = 10

/** Buckets: local hour of day, plus 24 once the run is long. */
export const BUCKETS = 48

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
}

export interface ExpectState {
  /** Per bucket b, in tenths: at b the faded count of hours that followed a quiet hour, at BUCKETS + b of those in which activity came back (one typed array, not two: a hundred bytes a subject). */
  hz: Uint16Array
  /** Evidence gathered by the current quiet run. */
  runLlr: number
}

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
  return Math.min(cfg.maxHazard, (s.hz[BUCKETS + b]! / TENTHS + prior * cfg.priorWeight) / (s.hz[b]! / TENTHS + cfg.priorWeight))
}

const shortHazard = (cfg: ExpectConfig, s: ExpectState, b: number) => (s.hz[BUCKETS + b]! / TENTHS + cfg.priorHazard * cfg.priorWeight) / (s.hz[b]! / TENTHS + cfg.priorWeight)

/** Evidence a quiet hour in bucket b adds. */
export const hourEvidence = (cfg: ExpectConfig, s: ExpectState, b: number) => -Math.log(1 - hazard(cfg, s, b))

/** Learns one ordinary hour that followed a quiet hour: did activity come back in it? */
export function learnHazard (cfg: ExpectConfig, s: ExpectState, b: number, ended: boolean) {
  const keep = 1 - 1 / cfg.expectMemory
  s.hz[b] = Math.round((s.hz[b]! / TENTHS * keep + 1) * TENTHS)
  s.hz[BUCKETS + b] = Math.round((s.hz[BUCKETS + b]! / TENTHS * keep + (ended ? 1 : 0)) * TENTHS)
}

/** The hazard table for evidence: each bucket's hazard, rounded. */
export const hazards = (cfg: ExpectConfig, s: ExpectState) => Array.from({ length: BUCKETS }, (_, b) => +hazard(cfg, s, b).toFixed(3))
