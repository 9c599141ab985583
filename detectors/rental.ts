/**
 * Rental flats: group renting (crowding), a flat gone empty (vacancy) and an e-bike battery
 * charged indoors at night (a fire risk), each judged against the flat's own learned days.
 *
 * Samples are spread into 15-minute slots on the local clock, by event time only, so a replay at
 * any speed gives the same anomalies with the data's own times. A closed slot feeds three cheap
 * judges (rental-judge.ts): each hour, whether anyone used the flat (a standby run long enough is
 * vacancy); each night slot, whether a flat held load of e-bike size ended at once (two nights of
 * that are an e-bike); each midnight, the day's use, night use and heavy loads (showers, water
 * heating, cooking) against the flat's first weeks (all three well up is crowding).
 */
import type { Anomaly, Consumption, SubjectEvent } from '../vocab/index.ts'
import { finiteOptions, lowered, sensitivityOptions, takeAway, type Detector, type DetectorOptions, type Feedback } from './types.ts'
import { KINDS, fromSnapshot, freshState, toSnapshot, type Kind, type Pending, type State } from './rental-state.ts'
import { SENS, closeSlot, crowdScore, ebikeScore, gapSpan, vacancyScore, type Config } from './rental-judge.ts'
import { inside, spread, take, taken } from './hours.ts'

const MIN = 60_000
const SLOT = 15 * MIN

export const CROWDING_KIND = 'crowding'
export const VACANCY_KIND = 'vacancy'
export const EBIKE_KIND = 'ebike_charging'
export const RENTAL_KINDS: readonly string[] = KINDS

export interface RentalOptions extends DetectorOptions {
  /** Days of learning the flat's usual day before crowding or vacancy can raise. Default 10. */
  warmupDays?: number
  /** After warm-up the usual day keeps learning with this horizon, days, from days outside an episode. Default 30. */
  learnDays?: number
  /** Crowding needs the day's use above standby at least this many times the usual... Default 1.8. */
  crowdLevel?: number
  /** ... and use from 00:00 to 06:00 above standby this many times the usual... Default 2.5. */
  crowdNight?: number
  /** ... and this many times the usual number of heavy slots (showers, water heating, cooking). Default 2. */
  crowdHeavy?: number
  /** kWh added to both sides of the day ratio, so a frugal flat's small changes stay small. Default 1. */
  levelSlackKwh?: number
  /** kWh added to both sides of the night ratio. Default 0.5. */
  nightSlackKwh?: number
  /** Slots added to both sides of the heavy-slot ratio. Default 2. */
  heavySlack?: number
  /** A 15-minute slot averaging at least this many W is a heavy one (over a held load of e-bike size: this many W above it). Default 1500. */
  heavyW?: number
  /** Crowding: each of the meter's three pieces of evidence must reach this share of its own threshold for their mean to count... Default 0.5. */
  crowdFloor?: number
  /** ... and a camera's daily count of people at the door, at this many times the flat's usual count, is one piece at its threshold... Default 2. */
  crowdPeople?: number
  /** ... weighing this many of the meter's pieces (a direct count). Default 2. */
  cameraWeight?: number
  /** A crowding episode clears after crowdClearDays days scoring under this share of the raise threshold. Default 0.4. */
  crowdClear?: number
  /** See crowdClear. Default 3. */
  crowdClearDays?: number
  /** Hours of metered standby (nobody using the flat) before vacancy is raised: three days, more than a weekend away from Thursday night. Default 72. */
  vacantHours?: number
  /** An hour is use when its lower half of slots averages this many W above standby. Default 80. */
  activeW?: number
  /** ... and so is half an hour with both slots that far above standby and this many Wh above it in all (a water heater's reheat is about 100). Default 160. */
  burstWh?: number
  /** A flat whose usual day is under this many kWh above standby was never lived in enough to go vacant. Default 1. */
  minOccupiedKwh?: number
  /** An e-bike edge: a held load of at least this many W that ends at once, at night... Default 250. */
  ebikeMinW?: number
  /** ... and at most this many (more is not a battery charger). Default 800. */
  ebikeMaxW?: number
  /** ... flat for the 2 h before its end: the median and the second lowest slot within this many W... Default 120. */
  ebikeFlatW?: number
  /** Before ebikeEarlyHour the flat must drop to within this many W of standby (people still going to bed). Default 150. */
  ebikeQuietW?: number
  /** Local hour (decimal) before which ebikeQuietW applies. Default 3.5. */
  ebikeEarlyHour?: number
  /** ... ending within one slot: the level in the slot before and after it may miss held and low levels by this share of the drop in all. Default 0.25. */
  ebikeSharp?: number
  /** ... and held for at most this many hours: a longer one is people at home all evening. Default 7.5. */
  ebikeMaxHeldHours?: number
  /** Raise when the e-bike evidence of tonight and the last 3 nights sums to this; a night counts its charge's W as a multiple of ebikeMinW (0 without one). Default 2. */
  ebikeNights?: number
  /** The most one night can count: at 2, one very clear night (a charge of twice ebikeMinW) raises alone. Default 2. */
  ebikeNightMax?: number
  /** Clear the e-bike episode after this many nights in a row without the pattern. Default 5. */
  ebikeClearNights?: number
  /** A sample spanning more hours than this is a meter gap, not spread over slots. Default 2. */
  maxSpanHours?: number
  /** A false alarm multiplies the subject's sensitivity for that kind by this. Default 0.75. */
  falseAlarmFactor?: number
  /** Sensitivity never drops below this. Default 0.4. */
  minSensitivity?: number
}

function resolve (o: RentalOptions): Config {
  const offsetMs = (o.utcOffsetHours ?? 8) * 60 * MIN
  const cfg: Config = {
    offsetMs,
    warmupDays: o.warmupDays ?? 10,
    learnDays: o.learnDays ?? 30,
    crowdLevel: o.crowdLevel ?? 1.8,
    crowdNight: o.crowdNight ?? 2.5,
    crowdHeavy: o.crowdHeavy ?? 2,
    crowdFloor: o.crowdFloor ?? 0.75,
    crowdPeople: o.crowdPeople ?? 2,
    cameraWeight: o.cameraWeight ?? 2,
    levelSlackWh: (o.levelSlackKwh ?? 1) * 1000,
    nightSlackWh: (o.nightSlackKwh ?? 0.5) * 1000,
    heavySlack: o.heavySlack ?? 2,
    heavyW: o.heavyW ?? 1500,
    crowdClear: o.crowdClear ?? 0.4,
    crowdClearDays: o.crowdClearDays ?? 3,
    vacantMs: (o.vacantHours ?? 72) * 60 * MIN,
    activeW: o.activeW ?? 80,
    burstWh: o.burstWh ?? 160,
    minOccupiedWh: (o.minOccupiedKwh ?? 1) * 1000,
    ebikeMinW: o.ebikeMinW ?? 250,
    ebikeMaxW: o.ebikeMaxW ?? 800,
    ebikeFlatW: o.ebikeFlatW ?? 120,
    ebikeQuietW: o.ebikeQuietW ?? 150,
    ebikeEarlySlot: Math.round((o.ebikeEarlyHour ?? 3.5) * 4),
    ebikeSharp: o.ebikeSharp ?? 0.25,
    ebikeMaxHeldSlots: Math.round((o.ebikeMaxHeldHours ?? 7.5) * 4),
    ebikeNights: o.ebikeNights ?? 2,
    ebikeNightMax: o.ebikeNightMax ?? 2,
    ebikeClearNights: o.ebikeClearNights ?? 5,
    maxSpanMs: (o.maxSpanHours ?? 2) * 60 * MIN,
    falseAlarmFactor: o.falseAlarmFactor ?? 0.75,
    minSensitivity: o.minSensitivity ?? 0.4,
  }
  finiteOptions('rental', cfg)
  sensitivityOptions('rental', cfg)
  if (cfg.warmupDays < 1 || cfg.learnDays < 1) throw new RangeError('rental options warmupDays and learnDays must be at least 1')
  if (cfg.ebikeMaxHeldSlots > 31) throw new RangeError('rental option ebikeMaxHeldHours must be at most 7.75')
  return Object.freeze(cfg)
}

export function createRentalDetector (opts: RentalOptions = {}): Detector {
  const cfg = resolve(opts)
  const suspect = opts.suspect ?? (() => false)
  const name = 'rental'
  const states = new Map<string, State>()
  /** Scratch for sorting a few recent slots; per instance, so two detectors never share it. */
  const scratch = new Float64Array(16)
  const idx = (t: number) => Math.floor((t + cfg.offsetMs) / SLOT)

  /** Closes the open slot and any missing ones before k, then opens k. A gap of days is jumped, not walked. */
  function moveTo (s: State, k: number, at: number) {
    if (s.slot < 0 || k <= s.slot) { if (s.slot < 0) s.slot = k; return }
    closeSlot(cfg, s, s.slot, s.cov >= SLOT / 2 ? Math.round(s.acc * 3_600_000 / s.cov) : -1, at, scratch)
    const missing = k - s.slot - 1, walk = Math.min(missing, 2 * 96)
    for (let m = 1; m <= walk; m++) closeSlot(cfg, s, s.slot + m, -1, at, scratch)
    if (missing > walk) {
      s.dayWh = 0; s.daySlots = 0; s.nightWh = 0; s.nightSlots = 0; s.heavy = 0; s.dayMinW = -1; s.ebikeWh = 0
      s.nightScore = 0; s.nightSeen = 0; s.nightAt = -1; s.nightHeld = 0
    }
    s.slot = k; s.acc = 0; s.cov = 0
  }

  const slots = {
    size: SLOT,
    offsetMs: cfg.offsetMs,
    start: 0,
    end: 0,
    /** The sample being spread, Wh per ms. */
    rate: 0,
    move (s: State, k: number, at: number) { moveTo(s, k, at); return null },
    add (s: State, dt: number) { s.acc += this.rate * dt; s.cov += dt },
  }

  function ingest (s: State, c: Consumption) {
    if (!take(s, c.ts, c.intervalMs, c.amount)) return
    const end = c.ts, { start, amount } = taken
    if (c.registerFault === 'implausible' || end - start > cfg.maxSpanMs) {
      // A gap: nothing is spread. What a long sample does say is whether the flat was used meanwhile.
      moveTo(s, idx(end - 1), end)
      if (c.registerFault !== 'implausible') gapSpan(cfg, s, start, end, amount * 3.6e9 / (end - start), end)
      if (end === (s.slot + 1) * SLOT - cfg.offsetMs) moveTo(s, s.slot + 1, end)
      return
    }
    slots.start = start; slots.end = end; slots.rate = amount * 1000 / (end - start)
    if (inside(slots, s.slot, start, end)) slots.add(s, end - start)
    else spread(slots, s, s.slot)
  }

  const anomaly = (subjectId: string, p: Pending): Anomaly =>
    ({ subjectId, detector: name, kind: p.kind, phase: p.phase, severity: p.severity, startedAt: p.startedAt, observedAt: p.observedAt, evidence: p.evidence })

  function stateOf (subjectId: string): State {
    let s = states.get(subjectId)
    if (s === undefined) { s = freshState(); states.set(subjectId, s) }
    return s
  }

  return {
    name,
    update (c: Consumption): Anomaly | null {
      if (c.subjectKind !== 'rental_unit' || c.unit !== 'kwh' || suspect(c.deviceId)) return null
      if (!Number.isFinite(c.ts) || !(c.intervalMs > 0 && c.intervalMs < Infinity) || !(c.amount >= 0 && c.amount < Infinity)) return null
      const s = stateOf(c.subjectId)
      ingest(s, c)
      // One sample can decide two kinds at once (a midnight that also ends a standby run): the rest wait for the next sample.
      const p = s.queue.shift()
      return p === undefined ? null : anomaly(c.subjectId, p)
    },
    event (e: SubjectEvent) {
      // A camera's count of people at the flat's door: the day's most is evidence of crowding.
      if (e.subjectKind !== 'rental_unit' || e.event !== 'person_count' || !(e.count !== undefined && e.count >= 0 && e.count < 1000)) return null
      const s = stateOf(e.subjectId)
      if (e.count > s.people) s.people = e.count
      return null
    },
    feedback (fb: Feedback) {
      const mine = fb.kind === undefined || RENTAL_KINDS.includes(fb.kind)
      if (!mine && !(fb.awayUntil !== undefined && states.has(fb.subjectId))) return
      const s = stateOf(fb.subjectId)
      // Away is about the flat, whatever alert it came with: an empty flat is not vacant then. awayUntil 0 cancels.
      takeAway(s, fb)
      if (!fb.falseAlarm || !mine) return
      for (const kind of fb.kind === undefined ? KINDS : [fb.kind as Kind]) {
        const i = SENS[kind]
        s.sens[i] = lowered(s.sens[i]!, cfg)
        const ep = s.ep[kind]
        if (ep !== null) ep.muted = true
      }
    },
    snapshot (subjectId: string) {
      const s = states.get(subjectId)
      return s && toSnapshot(s)
    },
    restore (subjectId: string, state: unknown) {
      states.set(subjectId, fromSnapshot(state))
    },
    subjects () { return states.keys() },
    score (subjectId: string) {
      const s = states.get(subjectId)
      if (s === undefined) return 0
      return Math.max(crowdScore(s), vacancyScore(cfg, s), ebikeScore(cfg, s))
    },
  }
}
