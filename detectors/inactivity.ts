/**
 * Lone-elder inactivity: usage far below this person's own usual level for those hours of the day.
 *
 * Samples are spread into hourly buckets on the local clock, by event time only, so a replay at
 * any speed gives the same anomalies with the data's own times. Each closed hour is compared with
 * the same hour on the last 7 learned days (inactivity-judge.ts): a quiet run grows by one for
 * each hour the person is usually active in and was clearly busier in on most of those days, and
 * ends at the first hour of real activity. Hours usually slept through add nothing, so a night
 * never raises; a run must outlast a half-day outing (minQuietHours) before it raises. A constant
 * load held through the run (a light or TV left on) counts only in part as activity.
 */
import { NO_STREET, type Anomaly, type Consumption, type SubjectEvent } from '../vocab/index.ts'
import { finiteOptions, lowered, mergeVerdicts, sensitivityOptions, takeAway, withConfidence, type Detector, type DetectorOptions, type Feedback } from './types.ts'
import { HOUR, State, awayDuring, rareRecords, fromSnapshot, freshState, hourOf, limOf, toSnapshot, type Held, type PeerGroup } from './inactivity-state.ts'
import { CLOSE, ownHours, type ElectricityHours } from './electricity-hours.ts'
import { SubjectIndex, SubjectPlaces } from './subject-index.ts'
import { MAX_MEMORY } from './inactivity-expect.ts'
import { activity, clearEpisode, learnFalseAlarm, ordinary, closeHour, endRun, hourStart, learned, refreshProfile, missedRoutine, resetRun, runScoreRatio, woke, type Config, type Verdict } from './inactivity-judge.ts'

export const INACTIVITY_KIND = 'inactivity'

export interface InactivityOptions extends DetectorOptions {
  /** Days of learning before any alert. Default 7. */
  warmupDays?: number
  /** Raise once a quiet run holds this many hours the person is usually active in, each weighted by the share of the last 7 days on which that hour was clearly busier. Longer than an outing. Default 6.5. */
  minQuietHours?: number
  /** An hour is quiet against a past day when its activity is under this share of that day's. Default 0.35. */
  quietShare?: number
  /** Weight, in activity, of a load held steady through the run's last 3 hours. Default 0.5. */
  heldWeight?: number
  /** ... and of one that looks like a lamp or TV left on, being well above what the person steadily uses at that hour. Default 0. */
  constantWeight?: number
  /** A held load above this many kWh an hour (a heater, air conditioning) is someone's doing, not a lamp left on: it counts in full. Default 0.4. */
  maxHeldKwh?: number
  /** Never raise on a run that used at least this share of the usual for its hours. Default 0.9. */
  maxRatio?: number
  /** A lamp or TV left on into the night raises once it has been on this many night hours the person usually sleeps through... Default 3. */
  litNightHours?: number
  /** ... and this share of the standby load (a lamp on a 500 W base load is lost in its wander). Default 0.5. */
  residueStandbyShare?: number
  /** Night, for that: local hours [nightFrom, 24) and [0, nightUntil). Defaults 22 and 6. */
  nightFrom?: number
  nightUntil?: number
  /** ... at least this many kWh an hour above standby... Default 0.03. */
  residueKwh?: number
  /** ... this many times what the person usually uses above standby in those hours, and at most maxHeldKwh. Default 3. */
  residueFactor?: number
  /** "Well above": over this many times the second lowest of that hour's last 7 days. Default 1.5. */
  steadyFactor?: number
  /** Quantile of the last 7 days' hourly energy taken as the standby floor. Default 0.2. */
  floorQuantile?: number
  /** Waking hours in a day, to turn daily activity into a usual waking hour's. Default 16. */
  wakingHours?: number
  /** An hour of day counts as usually active when its usual use is at least this many kWh above standby... Default 0.02. */
  usualKwh?: number
  /** ... and this share of a usual waking hour's activity. Default 0.1. */
  usualFraction?: number
  /** Below this usual daily activity (kWh above standby) there is no routine to miss: never raise. Default 0.5. */
  minDailyActivityKwh?: number
  /** An hour this many kWh above the quiet level is activity (ends the quiet, clears)... Default 0.1. */
  minActiveKwh?: number
  /** ... or this share of a usual waking hour's activity, whichever is larger. Default 0.5. */
  activeFraction?: number
  /** Hours after the raise at which severity becomes high, then critical. Default [4, 12]. */
  escalateAfterHours?: readonly [number, number]
  /** A sample spanning more hours than this is a data gap, not spread. Default 48. */
  maxSpanHours?: number
  /** A false alarm multiplies the subject's sensitivity by this, in (0, 1]. Default 0.75. */
  falseAlarmFactor?: number
  /** Sensitivity never drops below this, in [0.0001, 1]. Default 0.4. */
  minSensitivity?: number
  /** Once the person's own quiet runs are learned, raise this many quiet hours past the longest by that hour of day... Default 1.5. */
  limitMarginHours?: number
  /** ... but never on fewer quiet hours than this, a half-day outing (minQuietHours is the most ever needed). Default 5.5. */
  raiseFloorHours?: number
  /** The longest runs learned fade by this many quiet hours a day, so an old habit stops covering a new silence: 0 or whole thousandths. Default 0.02. */
  limitDecayPerDay?: number
  /** Days of learning quiet runs, after warm-up, before they replace minQuietHours. Default 14. */
  limitLearnDays?: number
  /** A run is compared with the longest learned runs that began from this many hours before the hour of day it began in... Default 1. */
  limitHoursBefore?: number
  /** ... to this many after. Default 1. */
  limitHoursAfter?: number
  /** Missed routine: raise when the first activity of the morning is this many hours overdue... Default 1.5. */
  wakeMarginHours?: number
  /** ... or this many mean absolute deviations of the usual time, whichever is later. Default 2.5. */
  wakeDevFactor?: number
  /** Days of mornings learned before a missed routine can raise (also the learning window). Default 10. */
  wakeLearnDays?: number
  /** ... and only once the night's quiet run holds this many usually-active hours (a lie-in is not enough). Default 2. */
  wakeMinQuietHours?: number
  /** A sign of life (the morning's first activity) is this share of what ends a quiet run. Default 0.3. */
  wakeActiveShare?: number
  /** Which of the peers' longest runs stands for the street's: a high quantile, as one neighbour's habit may be this person's tomorrow. Default 0.9. */
  peerQuantile?: number
  /** With a door sensor that has not seen the door open since the quiet began, raise once the run holds more hours at the standby floor (in hours the person is usually up in) than this person's ordinary runs at home begun about then, by limitMarginHours, and never fewer than this. Default 2. */
  insideFloorHours?: number
  /** ... past this person's own by this many hours. Default limitMarginHours (1.5). */
  insideMarginHours?: number
  /** ... an hour is at the standby floor under this share of what ends a quiet run above it (a lamp held on is not). Default 0.2. */
  insideStandbyShare?: number
  /** With the door shut since: a lamp on in the night for the last three hours with nothing else changing, an hour longer than any lit night of this person's own, raises (inactivity-judge.ts litInside). Default true. */
  insideLit?: boolean
  /** A false alarm on a missed morning lowers the sensitivity of that rule only, and one on a quiet run that of the others only. Default false. */
  perRuleSensitivity?: boolean
  /** Ordinary quiet runs ended with a door sensor in place before its spells at home are trusted; until then a shut door changes nothing. Default 20. */
  insideLearnRuns?: number
  /** A door opening this many minutes before the quiet began still counts as going out. Default 15. */
  doorSlackMinutes?: number
  /** A door sensor silent for this many days is taken as absent. Default 14. */
  doorSensorDays?: number
  /** A learned limit never raises later than this many quiet hours (the most a home's own long runs may push it). Default 6.5 (minQuietHours). */
  ownLimitCapHours?: number
  /** A run the worker answered false_alarm raises this home's bar for runs begun at that hour to the run as it was (inactivity-judge.ts learnFalseAlarm). Default false. */
  learnFalseAlarms?: boolean
  /** Expected activity (inactivity-expect.ts): observations each weekday/weekend hour's hazard remembers, at most 97 (its faded counts are 10-bit tenths). Default 60. */
  expectMemory?: number
  /** ... the hazard assumed for an hour not yet seen, and how many observations that guess weighs. Defaults 0.1 and 2. */
  priorHazard?: number
  priorWeight?: number
  /** ... no one hour adds more evidence than −ln(1 − this). Default 0.9. */
  maxHazard?: number
  /** ... a quiet run this many hours long so far has hazards of its own (0: one table). Default 3. */
  longRunHours?: number
  /** ... days of learning after the warm-up before the hazards judge alone ('learned'): 24 hours × 2 run lengths need a few weeks of quiet runs. Default 28. */
  expectLearnDays?: number
  /** ... with a door sensor that has not seen the door open since the quiet began (once learned, insideLearnRuns), this share of the bar raises. Default 0.5. */
  insideEvidenceShare?: number
  /** ... the evidence this many times the bar makes a meter-only alert's confidence medium, and this many high (an update says so as it grows; dispatch then sends a worker). Defaults 1.3 and 1.5 (with the bar at 7: the evidence 9.1 and 10.5). */
  confidenceMediumShare?: number
  confidenceHighShare?: number
  /** ... a quiet run raises once its evidence reaches this (not divided by the sensitivity: false alarms teach the hazards instead). Default 7. */
  expectEvidence?: number
  /** Which bar raises a quiet run: 'runs' (longer than this home's longest runs begun about then), 'expected' (the expected-activity evidence) 'both' (either), or 'learned' (the runs until this home's hazards are learned, expectLearnDays after the warm-up; then the expected activity alone). Default 'learned'. */
  raiseBy?: 'runs' | 'expected' | 'both' | 'learned'
  /** ... an hour with this share of what ends a quiet run is a sign of life: it teaches the hazard, and the run's evidence starts again. Default 0.3. */
  signShare?: number
  /** ... and only once the run also holds this many hours the person is usually active in (as minQuietHours counts them). Default 2. */
  expectMinQuietHours?: number
  /** The missed-morning rule (missed_routine). Default true. */
  missedRoutine?: boolean
  /** ... also once the expected activity judges (raiseBy 'learned', after expectLearnDays). Default true. */
  missedRoutineExpected?: boolean
  /** Expected activity, graded: a quiet hour's level weighs, not only its being quiet (inactivity-expect.ts gradedEvidence). Default true. */
  graded?: boolean
  /** ... an hour under this share of what ends a quiet run is at about standby. Default 0.1. */
  deepActiveShare?: number
  /** ... a stopped home is at about standby in as many of its hours as this home's deepest hour of day, within these. Defaults 0.5 and 0.95. */
  stopDeepMin?: number
  stopDeepMax?: number
  /** ... no one hour adds more evidence than this. Default 3. */
  maxHourEvidence?: number
  /** ... a sign of life is measured above the load held through the last three hours (a lamp or TV left on gives none). Default true. */
  signAboveHeld?: boolean
  /** ... a sign of life is also more than this share of that held load above it (its own wander: a TV with what is on, a thermostat). Default 0.5. */
  signWanderShare?: number
  /** ... and an hour within this share of the held load above it is at about standby. Default 0.3. */
  deepWanderShare?: number
  /** ... no one hour takes away more than this (a timed reheat, a fridge's defrost: a stopped home has those too). Default 0.5: a home whose standing load cycles above its quietest nights (a fridge) must still gather evidence when it stops. */
  maxHourCounter?: number
  /** While the runs bar judges (the first warm-up + expectLearnDays), a run past it raises only once the expected-activity evidence learned so far reaches this (times the door's share). Default 2. */
  runsMinEvidence?: number
  /** ... and a missed morning (missed_routine) raises only once the quiet's evidence reaches this (times the door's share). Default 4. */
  wakeMinEvidence?: number
  /** A quiet run this many times this person's runs bar (raiseAt) raises whatever the expected-activity evidence says, so that a model misjudging a home's standing load cannot leave a silence of days unreported (0: never). Default 3. */
  backstopRuns?: number
  /** A silence told false_alarm that goes on raises again, as a new episode from the answer, once the quiet score since the answer is this many times this person's runs bar (raiseAt), whatever the evidence says (0: never; told false again, it stays muted). Default 1. */
  rearmRuns?: number
  /** Peers (same street) with learned runs needed before their median stands for a newcomer's. Default 3. */
  minPeers?: number
  /** The subjects' electricity by hour, shared with night load (createDetectors); its clock and maxSpanMs must be this detector's. Default: its own. */
  hours?: ElectricityHours
}

function resolve (o: InactivityOptions): Config {
  const cfg: Config = {
    offsetMs: (o.utcOffsetHours ?? 8) * HOUR,
    warmupHours: (o.warmupDays ?? 7) * 24,
    minQuietHours: o.minQuietHours ?? 6.5,
    quietShare: o.quietShare ?? 0.35,
    heldWeight: o.heldWeight ?? 0.5,
    constantWeight: o.constantWeight ?? 0,
    litNightHours: o.litNightHours ?? 3,
    residueStandbyShare: o.residueStandbyShare ?? 0.5,
    nightFrom: o.nightFrom ?? 22,
    nightUntil: o.nightUntil ?? 6,
    residueWh: (o.residueKwh ?? 0.03) * 1000,
    residueFactor: o.residueFactor ?? 3,
    maxHeldWh: (o.maxHeldKwh ?? 0.4) * 1000,
    maxRatio: o.maxRatio ?? 0.9,
    steadyFactor: o.steadyFactor ?? 1.5,
    floorQuantile: o.floorQuantile ?? 0.2,
    wakingHours: o.wakingHours ?? 16,
    usualWh: (o.usualKwh ?? 0.02) * 1000,
    usualFraction: o.usualFraction ?? 0.1,
    minDailyActivityWh: (o.minDailyActivityKwh ?? 0.5) * 1000,
    minActiveWh: (o.minActiveKwh ?? 0.1) * 1000,
    activeFraction: o.activeFraction ?? 0.5,
    escalateAfterHours: o.escalateAfterHours ?? [4, 12],
    maxSpanMs: (o.maxSpanHours ?? 48) * HOUR,
    falseAlarmFactor: o.falseAlarmFactor ?? 0.75,
    minSensitivity: o.minSensitivity ?? 0.4,
    raiseFloorHours: o.raiseFloorHours ?? 5.5,
    limitMarginHours: o.limitMarginHours ?? 1.5,
    limitDecayPerDay: o.limitDecayPerDay ?? 0.02,
    limitLearnDays: o.limitLearnDays ?? 14,
    limitHoursBefore: o.limitHoursBefore ?? 1,
    limitHoursAfter: o.limitHoursAfter ?? 1,
    wakeMarginHours: o.wakeMarginHours ?? 1.5,
    wakeDevFactor: o.wakeDevFactor ?? 2.5,
    wakeLearnDays: o.wakeLearnDays ?? 10,
    minPeers: o.minPeers ?? 3,
    insideFloorHours: o.insideFloorHours ?? 2,
    insideStandbyShare: o.insideStandbyShare ?? 0.2,
    insideMarginHours: o.insideMarginHours ?? o.limitMarginHours ?? 1.5,
    doorSlackMs: (o.doorSlackMinutes ?? 15) * 60_000,
    doorSensorDays: o.doorSensorDays ?? 14,
    peerQuantile: o.peerQuantile ?? 0.9,
    wakeActiveShare: o.wakeActiveShare ?? 0.3,
    wakeMinQuietHours: o.wakeMinQuietHours ?? 2,
    ownLimitCapHours: o.ownLimitCapHours ?? o.minQuietHours ?? 6.5,
    learnFalseAlarms: o.learnFalseAlarms ?? false,
    insideLearnRuns: o.insideLearnRuns ?? 20,
    perRuleSensitivity: o.perRuleSensitivity ?? false,
    expectMemory: o.expectMemory ?? 60,
    priorHazard: o.priorHazard ?? 0.1,
    priorWeight: o.priorWeight ?? 2,
    maxHazard: o.maxHazard ?? 0.9,
    expectEvidence: o.expectEvidence ?? 7,
    raiseBy: o.raiseBy ?? 'learned',
    missedRoutine: o.missedRoutine ?? true,
    missedRoutineExpected: o.missedRoutineExpected ?? true,
    signShare: o.signShare ?? 0.3,
    expectLearnDays: o.expectLearnDays ?? 28,
    insideEvidenceShare: o.insideEvidenceShare ?? 0.5,
    confidenceMediumShare: o.confidenceMediumShare ?? 1.3,
    confidenceHighShare: o.confidenceHighShare ?? 1.5,
    expectMinQuietHours: o.expectMinQuietHours ?? 2,
    longRunHours: o.longRunHours ?? 3,
    graded: o.graded ?? true,
    deepActiveShare: o.deepActiveShare ?? 0.1,
    stopDeepMin: o.stopDeepMin ?? 0.5,
    stopDeepMax: o.stopDeepMax ?? 0.95,
    maxHourEvidence: o.maxHourEvidence ?? 3,
    signAboveHeld: o.signAboveHeld ?? true,
    runsMinEvidence: o.runsMinEvidence ?? 2,
    maxHourCounter: o.maxHourCounter ?? 0.5,
    wakeMinEvidence: o.wakeMinEvidence ?? 4,
    backstopRuns: o.backstopRuns ?? 3,
    rearmRuns: o.rearmRuns ?? 1,
    signWanderShare: o.signWanderShare ?? 0.5,
    deepWanderShare: o.deepWanderShare ?? 0.3,
    insideLit: o.insideLit ?? true,
  }
  finiteOptions('inactivity', cfg)
  // Faded counts are kept in tenths as 10-bit integers (inactivity-expect.ts).
  if (!(cfg.expectMemory >= 1 && cfg.expectMemory <= MAX_MEMORY)) throw new RangeError(`inactivity option expectMemory must be in [1, ${MAX_MEMORY}]`)
  // sens and sensWake are kept as ten-thousandths in 16 bits each (inactivity-state.ts).
  sensitivityOptions('inactivity', cfg)
  // The runs' bars (lim) are kept in thousandths (inactivity-state.ts): a daily fade finer than that would round away or run at another rate.
  const decay = cfg.limitDecayPerDay * 1000
  if (!(decay === 0 || (decay >= 1 - 1e-9 && Math.abs(decay - Math.round(decay)) < 1e-9))) throw new RangeError('inactivity option limitDecayPerDay must be 0 or a whole number of thousandths of an hour, at least 0.001: the learned bars are kept in thousandths')
  return Object.freeze(cfg)
}


export function createInactivityDetector (opts: InactivityOptions = {}): Detector {
  const cfg = resolve(opts)
  const suspect = opts.suspect ?? (() => false)
  const hrs = ownHours('inactivity', opts.hours, cfg.offsetMs, cfg.maxSpanMs)
  /** The last feed of `hrs` this detector has taken (ElectricityHours.feed). */
  let seen = 0
  const name = 'inactivity'
  const index = opts.index ?? new SubjectIndex()
  // Each subject's state is a place (slab.ts), read through the cursor `s` (inactivity-state.ts State); `peer` reads a peer's.
  const states = new SubjectPlaces(index)
  const held: Held = { eps: new Map(), doors: new Map(), rare: rareRecords(), groups: [], cfg }
  // States are cut from the hour records' slab: the set's one, freed with the set.
  const cur = new State(held, hrs.slab), peer = new State(held, hrs.slab)
  hrs.hold((id) => { const loc = states.get(id); return loc < 0 ? -1 : hourOf(hrs.slab, loc) })
  const groups = new Map<string, PeerGroup>()
  let scratch = new Float64Array(64)
  const idx = (t: number) => Math.floor((t + cfg.offsetMs) / HOUR)

  /** The cursor on subject `id`'s state; a fresh state when it has none. */
  function stateOf (id: string): State {
    const i = index.add(id), loc = states.at(i)
    if (loc >= 0) return cur.at(i, loc)
    states.put(i, freshState(cur, i, hrs.of(id)))
    return cur
  }

  function join (s: State, street: string): PeerGroup {
    let g = groups.get(street)
    if (g === undefined) { g = { no: held.groups.length, street, members: [], day: -1, lim: null }; groups.set(street, g); held.groups.push(g) }
    const was = s.group
    if (was !== null) was.members.splice(was.members.indexOf(s.i), 1)
    g.members.push(s.i)
    s.group = g
    return g
  }

  /** Once a local day: a high quantile, over peers whose own runs are learned, of each start hour's longest run. */
  function refresh (g: PeerGroup, day: number) {
    g.day = day
    let ready = 0
    for (const i of g.members) if (learned(cfg, peer.at(i, states.at(i)))) ready++
    if (ready < cfg.minPeers) { g.lim = null; return }
    if (scratch.length < ready) scratch = new Float64Array(ready * 2)
    g.lim ??= new Array<number>(24)
    for (let k = 0; k < 24; k++) {
      let n = 0
      for (const i of g.members) { const m = peer.at(i, states.at(i)); if (learned(cfg, m) && limOf(m, k) >= 0) scratch[n++] = limOf(m, k) }
      const v = scratch.subarray(0, n).sort()
      g.lim[k] = n < cfg.minPeers ? -1 : v[Math.min(n - 1, Math.floor(cfg.peerQuantile * n))]!
    }
  }

  /**
   * Closes the local hour at x[i] (hour, kWh, ms covered, ms of it a gap spread out: electricity-hours.ts
   * closes); an hour less than half covered is missing: it neither extends nor ends a quiet run. Read
   * from `x` here, not passed: a number passed to a function that is not inlined is boxed.
   */
  function close (s: State, g: PeerGroup, x: Float64Array, i: number): Verdict | null {
    const h = x[i]!, cov = x[i + 2]!
    if (h < 0) return null
    if (cov < HOUR / 2) return null
    return closeHour(cfg, s, h, Math.round(x[i + 1]! * 1000 * HOUR / cov), x[i + 3]! > cov / 2, g.lim)
  }

  function ingest (s: State, g: PeerGroup, c: Consumption): Verdict | null {
    const f = hrs.feed(s.h, c, seen)
    seen = f.seq
    if (!f.fresh) return null
    const r = s.h, { start, end } = f, x = f.closes
    let out = s.ep && awayDuring(s, start, end) ? clearEpisode(s, 'away') : null
    for (let i = 0; i < f.n * CLOSE; i += CLOSE) out = mergeVerdicts(out, close(s, g, x, i))
    if (f.gap) { resetRun(s); return out }
    // Unless the sample closed its hour: activity returning mid-hour clears (once half the hour is in: a quarter alone is too noisy); a sign of life marks the morning's first activity.
    if (end !== hourStart(cfg, r.hour) && (s.ep !== null || (s.wakeDay !== Math.floor(r.hour / 24) && r.hour % 24 >= 4))) {
      const act = activity(cfg, s, r.hour % 24, r.acc * 1000, r.cov / HOUR)
      if (act.lively) woke(cfg, s, r.hour, r.hour % 24 + r.cov / HOUR, ordinary(cfg, s) && !awayDuring(s, start, end))
      if (act.active && s.ep !== null && r.cov >= HOUR / 2) {
        endRun(cfg, s)
        out = mergeVerdicts(out, clearEpisode(s, 'activity'))
      }
    }
    if (s.ep === null && r.hour >= 0) out = mergeVerdicts(out, missedRoutine(cfg, s))
    return out
  }

  return {
    name,
    index,
    update (c: Consumption): Anomaly | null {
      if (c.subjectKind !== 'lone_elder' || c.unit !== 'kwh' || c.registerFault === 'implausible' || suspect(c.deviceId)) return null
      if (!Number.isFinite(c.ts) || !(c.intervalMs > 0 && c.intervalMs < Infinity) || !(c.amount >= 0 && c.amount < Infinity)) return null
      const s = stateOf(c.subjectId)
      let g = s.group
      // No street, no neighbours: a subject without one is its own group, never anyone's peer.
      const street = c.street === undefined || c.street === NO_STREET ? `:${c.subjectId}` : c.street
      if (g === null || g.street !== street) g = join(s, street)
      const day = Math.floor(idx(c.ts) / 24)
      if (day > g.day) refresh(g, day)
      const v = ingest(s, g, c)
      if (v === null) return null
      return judged({ subjectId: c.subjectId, detector: v.rule, kind: INACTIVITY_KIND, phase: v.phase, severity: v.severity, startedAt: v.startedAt, observedAt: c.ts, evidence: v.evidence })
    },
    event (e: SubjectEvent) {
      if (e.subjectKind !== 'lone_elder' || !(e.ts > 0 && e.ts < Infinity)) return null
      const s = stateOf(e.subjectId)
      // Any event says the camera works; only an opening says someone went out or came in.
      if (e.ts > s.doorSeen) s.doorSeen = e.ts
      if (e.event === 'door_open' && e.ts > s.doorAt) s.doorAt = e.ts
      // Motion seen by the camera is someone up and about: the quiet run ends there, as activity would end it.
      if (e.event !== 'motion' || e.ts < s.h.last - HOUR) return null
      endRun(cfg, s)
      const v = clearEpisode(s, 'motion')
      return v && judged({ subjectId: e.subjectId, detector: v.rule, kind: INACTIVITY_KIND, phase: 'clear', severity: v.severity, startedAt: v.startedAt, observedAt: e.ts, evidence: v.evidence })
    },
    feedback (fb: Feedback) {
      if (fb.kind !== undefined && fb.kind !== INACTIVITY_KIND) return
      const s = stateOf(fb.subjectId)
      takeAway(s, fb)
      // A silence raised again after it was told false (judge: rearmRuns), told false again, was learned from the first time.
      if (fb.falseAlarm && s.ep?.again === true) { s.ep.muted = true; return }
      if (fb.falseAlarm) {
        learnFalseAlarm(cfg, s)
        // A missed morning told false makes mornings harder to miss, not every silence (and back).
        if (cfg.perRuleSensitivity && (s.ep?.rule ?? s.lastRule) === 'missed_routine') s.sensWake = lowered(s.sensWake, cfg)
        else s.sens = lowered(s.sens, cfg)
        // Whoever answered saw the person then: a silence that goes on is judged again from that moment (judge: rearmRuns).
        if (s.ep && !s.ep.muted) { s.ep.muted = true; s.ep.mutedAt = s.h.last; s.ep.mutedScore = s.runScore }
      }
    },
    snapshot (subjectId: string) {
      const i = index.find(subjectId), loc = states.at(i)
      return loc < 0 ? undefined : toSnapshot(cur.at(i, loc))
    },
    restore (subjectId: string, state: unknown) {
      const i = index.add(subjectId), old = states.at(i)
      // The old state's group, read before the new one takes the subject's episode and door table.
      const group = old < 0 ? null : peer.at(i, old).group
      const loc = fromSnapshot(state, cur, i, hrs.of(subjectId))
      refreshProfile(cfg, cur)
      if (group !== null) group.members.splice(group.members.indexOf(i), 1)
      states.put(i, loc)
    },
    subjects () { return states.keys() },
    score (subjectId: string) {
      const i = index.find(subjectId), loc = states.at(i)
      if (loc < 0) return 0
      const s = cur.at(i, loc)
      const ratio = runScoreRatio(cfg, s, s.group?.lim ?? null)
      return s.ep !== null ? Math.max(1, ratio) : ratio
    },
  }
}

/**
 * What one electricity meter's verdict is worth: a missed morning is a guess at a routine; a quiet
 * run just past this person's learned bounds is weak, one far past them (escalated, or half as
 * long again as the bar) less so; a door shut all through the quiet says the person is inside.
 */
function judged (a: Anomaly): Anomaly {
  const e = a.evidence
  if (a.phase === 'clear') return withConfidence(a, 'low', 'the episode ended')
  if (e.doorShutSinceQuiet === true) return withConfidence(a, 'high', 'the meter quiet past this person\'s bounds, and the door shut all the while')
  // This home's own routine says how unlikely the silence is: far past the bar, it is worth a visit at once.
  if (e.evidenceLevel === 2) return withConfidence(a, 'high', 'one meter: this home\'s own routine makes the silence far less likely than its bar allows (1.5 times the evidence)')
  if (e.evidenceLevel === 1) return withConfidence(a, 'medium', 'one meter: a silence past this home\'s bar by 30 %')
  if (a.detector === 'missed_routine') return withConfidence(a, 'low', 'one meter: the morning\'s first activity is overdue past this person\'s usual time')
  const far = a.severity !== 'medium' || (typeof e.quietHours === 'number' && typeof e.raiseAtQuietHours === 'number' && e.quietHours >= 1.5 * e.raiseAtQuietHours)
  if (far && e.learnedFrom !== 'defaults') return withConfidence(a, 'medium', 'one meter, far past this person\'s learned quiet runs')
  return withConfidence(a, 'low', e.learnedFrom === 'defaults' ? 'one meter, against default bounds (this person not yet learned)' : 'one meter, just past this person\'s learned quiet runs')
}
