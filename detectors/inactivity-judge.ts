/**
 * What happens when an hour closes: judge it against the same hour on the subject's last 7
 * learned days, extend or end the current quiet run, then learn from the hour. O(1): a handful
 * of numbers and the 7 remembered values of that hour and its neighbours. Energies here are whole
 * Wh per hour.
 */
import type { Severity } from '../vocab/index.ts'
import { DAYS, HOUR, awayDuring, baseOf, lastRunOf, leastOf, limInHOf, limOf, pushRecent, quantileOf, recentOf, remember, setLastRun, setLim, setLimInH, setWake, steadyOf, wakeOf, whAt, type State } from './inactivity-state.ts'
import { r4 } from './types.ts'
import { bucketOf, gradedEvidence, hourEvidence, learnHazard, stopDeep } from './inactivity-expect.ts'

/** Resolved, frozen options; see InactivityOptions in inactivity.ts for meaning and defaults. */
export interface Config {
  offsetMs: number
  warmupHours: number
  minQuietHours: number
  quietShare: number
  heldWeight: number
  constantWeight: number
  residueWh: number
  residueFactor: number
  litNightHours: number
  residueStandbyShare: number
  nightFrom: number
  nightUntil: number
  maxHeldWh: number
  maxRatio: number
  steadyFactor: number
  floorQuantile: number
  wakingHours: number
  usualWh: number
  usualFraction: number
  minDailyActivityWh: number
  minActiveWh: number
  activeFraction: number
  escalateAfterHours: readonly [number, number]
  maxSpanMs: number
  falseAlarmFactor: number
  minSensitivity: number
  raiseFloorHours: number
  limitMarginHours: number
  limitDecayPerDay: number
  limitLearnDays: number
  limitHoursBefore: number
  limitHoursAfter: number
  wakeMarginHours: number
  wakeDevFactor: number
  wakeLearnDays: number
  minPeers: number
  insideFloorHours: number
  doorSlackMs: number
  doorSensorDays: number
  peerQuantile: number
  wakeActiveShare: number
  wakeMinQuietHours: number
  ownLimitCapHours: number
  learnFalseAlarms: boolean
  insideLearnRuns: number
  perRuleSensitivity: boolean
  expectMemory: number
  priorHazard: number
  priorWeight: number
  maxHazard: number
  longRunHours: number
  expectLearnDays: number
  confidenceMediumShare: number
  insideEvidenceShare: number
  confidenceHighShare: number
  /** Evidence (inactivity-expect.ts) at which a quiet run raises. */
  expectEvidence: number
  /** Which bar raises a quiet run: the learned longest runs, the expected activity, or either. */
  raiseBy: 'runs' | 'expected' | 'both' | 'learned'
  /** The expected-activity evidence raises only once the run also holds this many usually-active quiet hours. */
  expectMinQuietHours: number
  /** Share of what ends a quiet run that is a sign of life to the expected-activity evidence. */
  signShare: number
  /** The missed-morning rule on or off. */
  missedRoutine: boolean
  /** ... also once the expected activity judges (its morning hours already weigh a missed morning). */
  missedRoutineExpected: boolean
  /** Graded evidence (inactivity-expect.ts gradedEvidence): an hour under this share of what ends a quiet run is at about standby. */
  deepActiveShare: number
  graded: boolean
  stopDeepMin: number
  stopDeepMax: number
  maxHourEvidence: number
  signAboveHeld: boolean
  runsMinEvidence: number
  maxHourCounter: number
  wakeMinEvidence: number
  insideStandbyShare: number
  insideMarginHours: number
  backstopRuns: number
  rearmRuns: number
  signWanderShare: number
  deepWanderShare: number
  insideLit: boolean
}

/** What the detector wants said: the factory turns it into an Anomaly. */
export interface Verdict {
  /** The rule that raised the episode: missed_routine, flat_residue or low_use. */
  rule: string
  phase: 'raise' | 'update' | 'clear'
  severity: Severity
  startedAt: number
  evidence: Record<string, unknown>
}

export const hourStart = (cfg: Config, h: number) => h * HOUR - cfg.offsetMs

/**
 * The subject's usual day, recomputed after the history or the standby floor changed (once an
 * hour at most): daily activity above standby. From it the state derives, as they are read, the
 * usual use above standby that makes an hour of day one the person is usually active in
 * (s.usualWh), and the use beyond standby, a held load and a timed appliance that is activity and
 * ends a quiet run (s.activeWh): inactivity-state.ts State.
 */
export function refreshProfile (_cfg: Config, s: State) {
  let daily = 0
  for (let d = 0; d < 24; d++) daily += Math.max(0, baseOf(s, d) - s.floor)
  s.daily = daily
}

const aboveFloor = (s: State, v: number) => v < 0 ? 0 : Math.max(0, v - s.floor)

/** activity()'s answer, reused: the hot path allocates nothing. Read it before the next call. */
const act = { above: 0, effective: 0, constant: 0, active: false, lively: false, sign: false, deep: false, floor: false }

/**
 * Wh above standby in `hours` of metering in hour-of-day d; the part of it that counts as
 * activity; and whether that is activity enough to end a quiet run.
 *
 * A load held through the last two hours and this one (a run or not: a lamp left on when someone
 * falls is there before the silence begins) counts with weight heldWeight; well
 * above what the person steadily uses at this hour (the second least of the remembered days), it
 * looks like a lamp or TV left on and counts with weight constantWeight. A timed appliance (a
 * water heater reheating at the same minutes every day, people or not) shows as a bump in this
 * hour's least that the neighbouring hours lack: up to the activity threshold, it is not activity.
 */
export function activity (cfg: Config, s: State, d: number, wh: number, hours = 1): Readonly<typeof act> {
  const steady = aboveFloor(s, steadyOf(s, d))
  let low = wh / hours
  const r0 = recentOf(s, 0), r1 = recentOf(s, 1)
  if (r0 >= 0 && r0 < low) low = r0
  if (r1 >= 0 && r1 < low) low = r1
  const held = Math.max(0, low - s.floor)
  // A big steady load (heating, air conditioning) was switched on by someone: it is not a lamp left on.
  const weight = held > cfg.maxHeldWh ? 1 : held > cfg.steadyFactor * steady ? cfg.constantWeight : cfg.heldWeight
  const above = Math.max(0, wh - s.floor * hours)
  const effective = above - (1 - weight) * held * hours
  const threshold = s.activeWh
  const bump = bumpOf(s, d)
  // The timed appliance's whole bump, even in part of an hour: it may come in its first minutes.
  const net = effective - Math.min(bump, threshold) * Math.max(1, hours)
  act.above = above; act.effective = effective; act.constant = held
  // A held load wanders (a TV with what is on, a heater's thermostat): a sign of life is more than its own
  // wander above it, and an hour within that wander is at about standby.
  act.active = net >= threshold; act.lively = net >= cfg.wakeActiveShare * threshold
  act.sign = (cfg.signAboveHeld ? net - weight * held * hours : net) >= Math.max(cfg.signShare * threshold, cfg.signWanderShare * held * hours)
  // At about standby: little above the load held through the last three hours (a lamp left on is standby now).
  act.deep = above - held * hours < Math.max(cfg.deepActiveShare * threshold, cfg.deepWanderShare * held * hours)
  act.floor = above < cfg.insideStandbyShare * threshold * hours
  return act
}

/** A timed appliance (a water heater reheating at the same minutes every day, people or not): hour-of-day d's least above its neighbours' (Wh). */
function bumpOf (s: State, d: number): number {
  return Math.max(0, aboveFloor(s, leastOf(s, d)) - Math.max(aboveFloor(s, leastOf(s, (d + 23) % 24)), aboveFloor(s, leastOf(s, (d + 1) % 24))))
}

/** The lamp's window for litInside(): the two hours before this one (recentOf keeps them) and this one. */
const LIT_HOURS = 3

/**
 * With a door sensor that has seen no opening since: a lamp that came on in the night and has
 * stayed on, with nothing else changing, for the last three hours (hours this person usually sleeps
 * through, in the clock's night), longer by an hour than any lit night of this person's own (litLearned).
 * The door says no one came home and left it on: the person got up, and did not go back to bed.
 * Read from the last three hours alone (recentOf and this one): no number added to the state.
 */
export function litInside (cfg: Config, s: State, h: number, wh: number): boolean {
  // Three hours, longer than any lit night of this person's own (litLearned: held-load hours in a row in the night) by one.
  if (!cfg.insideLit || s.doorRuns < cfg.insideLearnRuns || (s.litLearned + 1) / s.sens > LIT_HOURS) return false
  // The door shut since two hours before the first of them (the lamp came on in the window's first hours, or before): no one came in and switched it on.
  const from = hourStart(cfg, h - (LIT_HOURS - 1) - 2)
  if (!(s.doorSeen > from - cfg.doorSensorDays * 24 * HOUR && s.doorAt < from - cfg.doorSlackMs)) return false
  const thr = s.activeWh
  let held = Infinity, top = 0
  for (let k = 0; k < LIT_HOURS; k++) {
    const d = (h - (LIT_HOURS - 1) + k) % 24, v = k < LIT_HOURS - 1 ? recentOf(s, k) : wh
    if (v < 0 || !(d >= cfg.nightFrom || d < cfg.nightUntil)) return false
    // A timed appliance (a water heater's reheat) lifts the hour's usual and the hour alike: it is no one up.
    const bump = Math.min(bumpOf(s, d), thr), usual = Math.max(0, baseOf(s, d) - s.floor - bump)
    if (usual >= s.usualWh) return false
    const x = Math.max(0, v - s.floor - bump)
    if (x < Math.max(cfg.residueWh, cfg.residueFactor * usual, cfg.residueStandbyShare * s.floor)) return false
    held = Math.min(held, x)
    if (k > 0) top = Math.max(top, x)
  }
  // Nothing after the first hour rose above the lamp by a sign of life.
  return held <= cfg.maxHeldWh && top - held < Math.max(cfg.signShare * thr, cfg.signWanderShare * held)
}

export function resetRun (s: State) {
  s.runLlr = 0; s.runFloor = 0
  s.runStart = -1; s.runScore = 0; s.runHours = 0; s.runUsual = 0; s.runActual = 0; s.litNight = 0; s.litPeak = 0
}

/** A quiet run ends in activity: one that raised nothing is an ordinary one, to learn from. */
export function endRun (cfg: Config, s: State) {
  // A run that raised is remembered as it ended, in case the worker then says it was a false alarm.
  if (s.ep !== null && s.runHours > 0) setLastRun(s, startHour(cfg, s), s.runScore)
  if (s.ep === null && s.runHours > 0 && s.n >= cfg.warmupHours) {
    const sd = startHour(cfg, s)
    setLim(s, sd, Math.max(s.runScore, limOf(s, sd)))
    if (inside(cfg, s)) { s.limIn = Math.max(s.limIn, s.runFloor); setLimInH(s, sd, Math.max(limInHOf(s, sd), s.runFloor)) }
    if (s.doorSeen > 0) s.doorRuns++
    s.litLearned = Math.max(s.litLearned, s.litPeak)
  }
  resetRun(s)
}

/** Nothing raised, or what was raised the worker found to be a false alarm: what happens now is ordinary life, to learn from. */
export const ordinary = (cfg: Config, s: State) => s.ep === null || (s.ep.muted && cfg.learnFalseAlarms)

/**
 * The worker found the raise a false alarm: this home's bar for quiet runs begun at that hour of
 * day rises to the run as it was when it raised (or ended, when it ended before the answer), not
 * the run as it goes on after (a trip would then cover every silence at that hour for months).
 */
export function learnFalseAlarm (cfg: Config, s: State) {
  if (!cfg.learnFalseAlarms) return
  const open = s.ep !== null && s.runStart >= 0
  const sd = open ? startHour(cfg, s) : lastRunOf(s, 0), score = open ? s.runScore : lastRunOf(s, 1)
  if (sd >= 0) setLim(s, sd, r4(Math.max(limOf(s, sd), score)))
  setLastRun(s, -1, 0)
}

export function clearEpisode (s: State, reason: string): Verdict | null {
  const ep = s.ep
  if (ep === null) return null
  s.ep = null
  s.lastRule = ep.rule
  return { rule: ep.rule, phase: 'clear', severity: ep.severity, startedAt: ep.startedAt, evidence: { reason } }
}

/** Closes hour `h` with `wh`, observed at the end of the sample just taken (s.h.last); learns from it unless it is part of an episode or away, or `spread` (more than half of it a meter gap spread out). */
export function closeHour (cfg: Config, s: State, h: number, wh: number, spread: boolean, peer: readonly number[] | null): Verdict | null {
  const verdict = judge(cfg, s, h, wh, spread, peer)
  pushRecent(s, wh)
  if (s.ep === null && !awayDuring(s, hourStart(cfg, h), hourStart(cfg, h + 1)) && !spread) {
    const d = h % 24
    if (d === 23) {
      for (let k = 0; k < 24; k++) if (limOf(s, k) > 0) setLim(s, k, r4(Math.max(0, limOf(s, k) - cfg.limitDecayPerDay)))
      if (s.litLearned > 0) s.litLearned = r4(Math.max(0, s.litLearned - cfg.limitDecayPerDay))
      if (s.limIn > 0) s.limIn = r4(Math.max(0, s.limIn - cfg.limitDecayPerDay))
      for (let k = 0; k < 24; k++) if (limInHOf(s, k) > 0) setLimInH(s, k, r4(Math.max(0, limInHOf(s, k) - cfg.limitDecayPerDay)))
    }
    const before = Math.max(0, baseOf(s, d) - s.floor), floor = s.floor
    remember(s, d, wh)
    s.n++
    if (d === 23 || s.n <= 24) s.floor = Math.round(quantileOf(s, cfg.floorQuantile))
    if (s.floor !== floor) refreshProfile(cfg, s)
    else s.daily += Math.max(0, baseOf(s, d) - s.floor) - before // whole Wh: exact
  }
  return verdict
}

function severityAfter (cfg: Config, ms: number): Severity {
  const [high, critical] = cfg.escalateAfterHours
  return ms >= critical * HOUR ? 'critical' : ms >= high * HOUR ? 'high' : 'medium'
}

/** Share of the remembered days on which this hour was clearly busier than `effective` Wh above standby. */
function quietness (cfg: Config, s: State, d: number, effective: number, usual: number) {
  let known = 0, busier = 0
  for (let i = d * DAYS; i < d * DAYS + DAYS; i++) {
    const v = whAt(s, i)
    if (v < 0) continue
    known++
    const usedThen = v - s.floor
    if (usedThen >= usual && effective < cfg.quietShare * usedThen) busier++
  }
  return known === 0 ? 0 : busier / known
}

const kwh = (wh: number) => +(wh / 1000).toFixed(3)

/**
 * The quiet-run score that raises at the end of hour-of-day d: a margin past the longest run
 * this person has had by then on ordinary days, within [raiseFloorHours, minQuietHours]. Until
 * the person's own runs have been learned for limitLearnDays, the cautious minQuietHours.
 */
export function raiseAt (cfg: Config, s: State, peer: readonly number[] | null = null): number {
  if (s.runStart < 0) return cfg.minQuietHours / s.sens
  // A run is compared with the runs that began about when it began: an outing that starts at
  // 14:00 says nothing about a silence that starts at dinner time. The person's own runs once
  // learned; the peers' (same kind, same street) too, which is all a newcomer has.
  const sd = startHour(cfg, s), own = learned(cfg, s)
  let lim = -1
  for (let k = sd - cfg.limitHoursBefore; k <= sd + cfg.limitHoursAfter; k++) {
    const i = (k + 24) % 24
    if (own) lim = Math.max(lim, limOf(s, i))
    if (peer !== null) lim = Math.max(lim, peer[i]!)
  }
  const usual = lim < 0 ? cfg.minQuietHours : Math.min(cfg.ownLimitCapHours, Math.max(cfg.raiseFloorHours, lim + cfg.limitMarginHours))
  return usual / s.sens
}

/**
 * With a door sensor that has seen no opening since the quiet began (once learned: insideLearnRuns
 * ordinary runs with the sensor), the person is at home, and someone at home and up keeps the
 * meter above its standby floor. The run raises once it holds more hours at that floor, in hours
 * this person is usually up in, than this person's own ordinary runs at home begun about then (past
 * midnight, or since: a lie-in), by insideMarginHours, and never fewer than insideFloorHours. Infinity: no door
 * to go by (an outing, no sensor, not yet learned).
 */
export function insideAt (cfg: Config, s: State, hour: number): number {
  if (!inside(cfg, s) || s.doorRuns < cfg.insideLearnRuns) return Infinity
  // Once past midnight, runs begun since this one began count too: one begun at dinner time that
  // has lasted into the morning is held to the lie-ins of runs begun at bedtime (not before: their
  // lie-ins are still to come).
  const sd = startHour(cfg, s), overnight = Math.floor(hour / 24) > Math.floor((s.runStart + cfg.offsetMs) / HOUR / 24)
  const to = sd + (overnight ? Math.min(23, Math.max(cfg.limitHoursAfter, s.runHours - 1)) : cfg.limitHoursAfter)
  let limIn = -1
  for (let k = sd - cfg.limitHoursBefore; k <= to; k++) limIn = Math.max(limIn, limInHOf(s, (k + 24) % 24))
  return Math.max(cfg.insideFloorHours, (limIn < 0 ? s.limIn : limIn) + cfg.insideMarginHours) / s.sens
}

/**
 * The evidence (inactivity-expect.ts) at which the current quiet run raises. Not divided by the
 * sensitivity: a false alarm teaches this bar through the hazards it learns from the rest of that
 * quiet (told false, it is ordinary life), at the hours it happened, not at every hour. With a
 * door sensor that has seen no opening since the quiet began (and has been learned), no outing or
 * trip explains the silence: a share of the bar is enough.
 */
export const expectAt = (cfg: Config, s: State) =>
  inside(cfg, s) && s.doorRuns >= cfg.insideLearnRuns ? cfg.expectEvidence * cfg.insideEvidenceShare : cfg.expectEvidence

/**
 * What the expected-activity evidence is worth once this home's hazards judge: 2 (high) when the
 * silence has gathered confidenceHighShare times the bar, 1 (medium) at confidenceMediumShare, else 0.
 */
export function strength (cfg: Config, s: State): number {
  if (!bars(cfg, s)[1]) return 0
  const r = s.runLlr / expectAt(cfg, s)
  return r >= cfg.confidenceHighShare ? 2 : r >= cfg.confidenceMediumShare ? 1 : 0
}

/** Which bars judge this subject's quiet runs now: [longest runs, expected activity]. 'learned': the runs until this home's hazards are learned (expectLearnDays after the warm-up), then the expected activity. */
export function bars (cfg: Config, s: State): readonly [boolean, boolean] {
  switch (cfg.raiseBy) {
    case 'runs': return RUNS
    case 'expected': return EXPECTED
    case 'both': return BOTH
    default: return s.n >= cfg.warmupHours + cfg.expectLearnDays * 24 ? EXPECTED : RUNS
  }
}
// The answers, made once: a new pair at each call was garbage at each closed hour.
const RUNS = Object.freeze([true, false] as const), EXPECTED = Object.freeze([false, true] as const), BOTH = Object.freeze([true, true] as const)

/** The subject has a door sensor that works, and it has not seen the door open since the quiet run began. */
export const inside = (cfg: Config, s: State) =>
  // runStart is the start of the first quiet hour: a door opened during the hour before it may be the outing.
  s.runStart >= 0 && s.doorSeen > s.runStart - cfg.doorSensorDays * 24 * HOUR && s.doorAt < s.runStart - HOUR - cfg.doorSlackMs

/** The person's own longest runs have been learned for long enough to stand on. */
export const learned = (cfg: Config, s: State) => s.n >= cfg.warmupHours + cfg.limitLearnDays * 24

/** Local hour of day the current quiet run began in. */
export const startHour = (cfg: Config, s: State) => Math.floor((s.runStart + cfg.offsetMs) / HOUR) % 24

/** How far the current run has gone towards a raise (1 = raise). */
export function runScoreRatio (cfg: Config, s: State, peer: readonly number[] | null): number {
  if (s.runHours === 0 || s.h.hour < 0) return 0
  const bb = bars(cfg, s), byRuns = bb[0], byExpect = bb[1]
  const runs = byRuns ? s.runScore / raiseAt(cfg, s, peer) : 0
  const expected = byExpect ? s.runLlr / expectAt(cfg, s) : 0
  return r4(Math.max(runs, expected, s.runFloor / insideAt(cfg, s, s.h.hour)))
}

/** Local day index of local hour index h. */
const dayOf = (h: number) => Math.floor(h / 24)

/** Weekend mornings (local Saturday, Sunday) are learned apart: lie-ins are not silences. */
const weekendOf = (h: number) => { const dow = (dayOf(h) + 4) % 7; return dow === 0 || dow === 6 ? 3 : 0 }

/** Notes the first activity after 04:00 of a local day at local hour `at` (fractional); learns it on ordinary days. */
export function woke (cfg: Config, s: State, h: number, at: number, learn: boolean) {
  if (s.wakeDay === dayOf(h) || h % 24 < 4) return
  s.wakeDay = dayOf(h)
  if (!learn || s.n < cfg.warmupHours / 2) return
  // wake[k .. k + 2]: mean local hour, mean absolute deviation, mornings learned.
  const k = weekendOf(h), n = wakeOf(s, k + 2)
  const a = Math.max(1 / (n + 1), 1 / cfg.wakeLearnDays)
  if (n === 0) { setWake(s, k, at); setWake(s, k + 1, 0.5) } else {
    setWake(s, k + 1, r4(wakeOf(s, k + 1) + a * (Math.abs(at - wakeOf(s, k)) - wakeOf(s, k + 1))))
    setWake(s, k, r4(wakeOf(s, k) + a * (at - wakeOf(s, k))))
  }
  setWake(s, k + 2, n + 1)
}

/**
 * Missed routine: by the end of the sample just taken (event time t = s.h.last, local hour `at` of
 * the local hour index h being filled), the first activity of the morning is overdue by a margin
 * past this person's usual time (on weekdays, or at weekends once four weekend mornings are
 * learned), and the night's quiet run goes on. Read from s.h, not passed: a number passed to a
 * function that is not inlined is boxed, and this is asked at every sample.
 */
export function missedRoutine (cfg: Config, s: State): Verdict | null {
  const h = s.h.hour
  if (!cfg.missedRoutine || (!cfg.missedRoutineExpected && bars(cfg, s)[1]) || s.ep !== null || s.wakeDay === dayOf(h) || s.runHours === 0) return null
  const k = weekendOf(h), mean = wakeOf(s, k), dev = wakeOf(s, k + 1)
  if (wakeOf(s, k + 2) < (k === 0 ? cfg.wakeLearnDays : 4)) return null
  const t = s.h.last, at = h % 24 + (t - hourStart(cfg, h)) / HOUR
  if (awayDuring(s, t - HOUR, t) || s.n < cfg.warmupHours) return null
  const sens = cfg.perRuleSensitivity ? s.sensWake : s.sens
  const due = mean + Math.max(cfg.wakeMarginHours, cfg.wakeDevFactor * dev) / sens
  if (at < due || at > due + 6 || s.runScore < cfg.wakeMinQuietHours / sens) return null
  // A late morning alone is a guess at a routine: the night's silence must also be somewhat unlikely by this home's hours.
  if (s.runLlr < cfg.wakeMinEvidence * expectAt(cfg, s) / cfg.expectEvidence) return null
  if (s.daily < cfg.minDailyActivityWh) return null
  s.ep = { startedAt: s.runStart, raisedAt: t, severity: 'medium', muted: false, rule: 'missed_routine', level: 0 }
  return {
    rule: 'missed_routine', phase: 'raise', severity: 'medium', startedAt: s.runStart,
    evidence: { rule: 'missed_routine', usualFirstActivity: hhmm(mean), weekend: k === 3, overdueHours: +(at - mean).toFixed(2), quietSince: new Date(s.runStart).toISOString(), baselineDays: Math.floor(s.n / 24), sensitivity: sens },
  }
}

const hhmm = (x: number) => `${String(Math.floor(x)).padStart(2, '0')}:${String(Math.floor((x % 1) * 60)).padStart(2, '0')}`

function judge (cfg: Config, s: State, h: number, wh: number, spread: boolean, peer: readonly number[] | null): Verdict | null {
  const at = s.h.last
  if (awayDuring(s, hourStart(cfg, h), hourStart(cfg, h + 1))) {
    resetRun(s)
    return clearEpisode(s, 'away')
  }
  if (s.n < cfg.warmupHours) return null
  const d = h % 24
  const act = activity(cfg, s, d, wh)
  // An ordinary hour after a quiet one teaches how likely activity is to come back at this hour.
  const b = bucketOf(cfg, h, s.runHours)
  if (s.runHours > 0 && (s.ep === null || s.ep.muted) && !spread) learnHazard(cfg, s, b, act.sign, act.deep)
  if (act.lively) woke(cfg, s, h, d + 0.5, ordinary(cfg, s))
  if (act.active) {
    endRun(cfg, s)
    return clearEpisode(s, 'activity')
  }
  const usual = Math.max(0, baseOf(s, d) - s.floor)
  if (s.runHours === 0) s.runStart = hourStart(cfg, h)
  s.runHours++
  // A sign of life, even short of ending the run, is what a fallen person cannot give: the evidence starts again.
  if (act.sign) s.runLlr = 0
  else if (s.runHours > 1) s.runLlr = r4(cfg.graded ? Math.max(0, s.runLlr + gradedEvidence(cfg, s, b, act.deep, stopDeep(cfg, s))) : s.runLlr + hourEvidence(cfg, s, b))
  s.runActual += act.above
  if (usual >= s.usualWh) {
    s.runUsual += usual
    s.runScore = r4(s.runScore + quietness(cfg, s, d, act.effective, s.usualWh))
    if (act.floor) s.runFloor++
    s.litNight = 0
  } else if (d >= cfg.nightFrom || d < cfg.nightUntil) {
    // A night hour this person is usually asleep in, with a lamp or TV still on from before: counted.
    // Above what the person usually uses then, and above what a standby load this size wanders by.
    const lit = act.constant >= Math.max(cfg.residueWh, cfg.residueFactor * usual, cfg.residueStandbyShare * s.floor) && act.constant <= cfg.maxHeldWh
    s.litNight = lit ? s.litNight + 1 : 0
    if (s.litNight > s.litPeak) s.litPeak = s.litNight
  }
  const ep = s.ep
  if (ep !== null && ep.muted && ep.mutedAt !== undefined && cfg.rearmRuns > 0 && s.runScore - ep.mutedScore! >= cfg.rearmRuns * raiseAt(cfg, s, peer)) {
    // Told false, yet the silence has gone on since the answer as long as this person's runs bar allows any
    // silence: the answer saw the person then, not now. A new episode, from the moment of the answer.
    s.ep = { startedAt: ep.mutedAt, raisedAt: at, severity: 'medium', muted: false, rule: ep.rule, level: strength(cfg, s), again: true }
    return { rule: ep.rule, phase: 'raise', severity: 'medium', startedAt: ep.mutedAt, evidence: evidenceOf(cfg, s, h, act.constant, peer) }
  }
  if (ep !== null) {
    const severity = severityAfter(cfg, at - ep.raisedAt), level = Math.max(ep.level, strength(cfg, s))
    // Said again when it grows worse, or when the silence has become worth more: dispatch sends a worker on `high`.
    if (severity === ep.severity && level === ep.level) return null
    ep.severity = severity; ep.level = level
    return ep.muted ? null : { rule: ep.rule, phase: 'update', severity, startedAt: ep.startedAt, evidence: evidenceOf(cfg, s, h, act.constant, peer) }
  }
  if (s.daily < cfg.minDailyActivityWh) return null
  // A light left on into the night, in a silence that began before it: a flat residue.
  // ... longer than any this person has had on an ordinary night (some sleep with the light on).
  const lit = litInside(cfg, s, h, wh)
  const litNight = (s.litNight >= Math.max(cfg.litNightHours, s.litLearned + 1) / s.sens && s.runHours > s.litNight) || lit
  if (!litNight) {
    const bb = bars(cfg, s), runs = bb[0], expected = bb[1] // indexed: destructuring walks an iterator
    // While the runs judge, the hazards learned so far must find the silence somewhat unlikely too.
    const bar = raiseAt(cfg, s, peer)
    const byRuns = runs && s.runScore >= bar && s.runLlr >= cfg.runsMinEvidence * expectAt(cfg, s) / cfg.expectEvidence
    const byExpect = expected && s.runLlr >= expectAt(cfg, s) && s.runScore >= cfg.expectMinQuietHours
    // The door shut all the while and the meter at its standby floor for longer than at home on ordinary days.
    const byInside = s.runFloor >= insideAt(cfg, s, h)
    // Whatever the evidence says, a silence far past anything this person has had is raised: a model that
    // misjudges one home's standing load must not leave a fallen person unreported for days.
    const backstop = cfg.backstopRuns > 0 && s.runScore >= cfg.backstopRuns * bar
    if (!byRuns && !byExpect && !byInside && !backstop) return null
    // As much used as usual over the run is no silence, whatever the hours looked like one by one.
    if (s.runUsual > 0 && s.runActual >= cfg.maxRatio * s.runUsual) return null
  }
  const rule = litNight || act.constant > cfg.minActiveWh / 2 ? 'flat_residue' : 'low_use'
  // A lamp on in the night with the door shut: the silence is the lamp's, from its first full hour (a run may have begun at bedtime).
  const startedAt = lit ? Math.max(s.runStart, hourStart(cfg, h - (LIT_HOURS - 1))) : s.runStart
  s.ep = { startedAt, raisedAt: at, severity: 'medium', muted: false, rule, level: strength(cfg, s) }
  const evidence = evidenceOf(cfg, s, h, act.constant, peer)
  if (lit) evidence.litNightDoorShutHours = LIT_HOURS
  return { rule, phase: 'raise', severity: 'medium', startedAt, evidence }
}

function evidenceOf (cfg: Config, s: State, h: number, constant: number, peer: readonly number[] | null): Record<string, unknown> {
  const standbyBar = insideAt(cfg, s, h)
  return {
    rule: s.ep?.rule, quietHours: +s.runScore.toFixed(2), raiseAtQuietHours: +raiseAt(cfg, s, peer).toFixed(2), expectedEvidence: +s.runLlr.toFixed(2), raiseAtEvidence: +expectAt(cfg, s).toFixed(2), standbyHours: s.runFloor, raiseAtStandbyHours: Number.isFinite(standbyBar) ? +standbyBar.toFixed(2) : null, evidenceLevel: s.ep?.level ?? strength(cfg, s), learnedFrom: learned(cfg, s) ? (peer ? 'own and peers' : 'own') : peer ? 'peers' : 'defaults', runHours: s.runHours,
    // Raised again after a false alarm, in the same silence: every update says so too (the alert keeps the latest evidence).
    quietSinceFalseAlarm: s.ep?.again === true ? new Date(s.ep.startedAt).toISOString() : undefined,
    usualKwh: kwh(s.runUsual), actualKwh: kwh(s.runActual),
    ratio: s.runUsual > 0 ? +(s.runActual / s.runUsual).toFixed(3) : null,
    baselineDays: Math.floor(s.n / 24), standbyKwhPerHour: kwh(s.floor),
    constantKwhPerHour: kwh(constant), litNightHours: s.litNight, doorShutSinceQuiet: inside(cfg, s) || undefined, sensitivity: s.sens,
  }
}
