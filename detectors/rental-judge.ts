/**
 * What happens when a 15-minute slot closes: the flat's recent powers move on by one, the hour
 * just ended says whether anyone is using the flat (vacancy), a night slot is checked for the
 * end of a held e-bike charge, and at 08:45 and at midnight the night and the day are judged.
 * Each step is a few dozen arithmetic operations on the per-flat record: no scan of history.
 */
import type { Severity } from '../vocab/index.ts'
import { NIGHTS as NIGHTS_, RING as RING_, SLOT as SLOT_, type Kind, type State } from './rental-state.ts'

// Local copies: an imported binding read in the hot path costs a getter call under the tsx loader.
const NIGHTS = NIGHTS_, RING = RING_, SLOT = SLOT_, SLOTS_PER_DAY = 96
/** Rounds to 0.01: keeps snapshots short. */
const r2 = (x: number) => Math.round(x * 100) / 100
/** W of the slot closed n slots ago (0: the latest); -1 when missing. */
const back = (s: State, n: number) => s.ring[(s.head - 1 - n + 2 * RING) % RING]!

/** Resolved, frozen options; see RentalOptions in rental.ts for meaning and defaults. */
export interface Config {
  offsetMs: number
  warmupDays: number
  learnDays: number
  crowdLevel: number
  crowdNight: number
  crowdHeavy: number
  crowdFloor: number
  crowdPeople: number
  cameraWeight: number
  levelSlackWh: number
  nightSlackWh: number
  heavySlack: number
  heavyW: number
  crowdClear: number
  crowdClearDays: number
  vacantMs: number
  activeW: number
  burstWh: number
  minOccupiedWh: number
  ebikeMinW: number
  ebikeMaxW: number
  ebikeFlatW: number
  ebikeQuietW: number
  ebikeEarlySlot: number
  ebikeSharp: number
  ebikeMaxHeldSlots: number
  ebikeNights: number
  ebikeNightMax: number
  ebikeClearNights: number
  maxSpanMs: number
  falseAlarmFactor: number
  minSensitivity: number
}

const SEVERITY: Record<Kind, Severity> = { crowding: 'medium', vacancy: 'low', ebike_charging: 'high' }
export const SENS: Record<Kind, number> = { crowding: 0, vacancy: 1, ebike_charging: 2 }
const HELD = 14 // slots of load held before an e-bike edge: 3.5 h
const POST = 6 // slots after it that must stay flat and low: 1.5 h
/** Night slots in which a charge may end: 02:00-07:15; the night is judged once the last has been seen after. */
const EDGE_FROM = 8, EDGE_TO = 29, NIGHT_END = EDGE_TO - 1 + POST
const kwh = (wh: number) => Math.round(wh) / 1000

const slotStart = (cfg: Config, k: number) => k * SLOT - cfg.offsetMs

function say (s: State, kind: Kind, phase: 'raise' | 'clear', startedAt: number, at: number, evidence: Record<string, number | string | null>) {
  if (phase === 'raise') s.ep[kind] = { startedAt, muted: false }
  else s.ep[kind] = null
  s.queue.push({ kind, phase, severity: SEVERITY[kind], startedAt, observedAt: at, evidence })
}

function clear (s: State, kind: Kind, at: number, reason: string) {
  const ep = s.ep[kind]
  if (ep !== null) say(s, kind, 'clear', ep.startedAt, at, { reason })
}

/** Closes local slot k with mean power w (-1: missing). `at` is the event time of the data that closed it. */
export function closeSlot (cfg: Config, s: State, k: number, w: number, at: number, sc: Float64Array) {
  s.ring[s.head % RING] = w
  s.head = (s.head + 1) % RING
  const sod = ((k % SLOTS_PER_DAY) + SLOTS_PER_DAY) % SLOTS_PER_DAY, end = slotStart(cfg, k + 1)
  if (w >= 0) {
    s.dayWh += w / 4; s.daySlots++
    if (sod < 24) { s.nightWh += w / 4; s.nightSlots++ }
    if (sod <= NIGHT_END) s.nightSeen++
    // Heavy: over heavyW; but over a held load of battery size, only a jump of heavyW over it, so
    // a charging battery does not lift cooking into it (a big held load, air conditioning, does not count as held).
    let lo = w
    for (let n = 1; n <= 4; n++) { const x = back(s, n); if (x >= 0 && x < lo) lo = x }
    const held = lo - Math.max(0, s.floor)
    if (held >= cfg.ebikeMinW && held <= cfg.ebikeMaxW ? w - lo >= cfg.heavyW : w >= cfg.heavyW) s.heavy++
  }
  hour(cfg, s, w, end, at)
  const i = (sod + SLOTS_PER_DAY - POST) % SLOTS_PER_DAY
  if (i >= EDGE_FROM && i < EDGE_TO && s.floor >= 0) ebikeEdge(cfg, s, i, slotStart(cfg, k - POST), at, sc)
  if (sod === NIGHT_END) closeNight(cfg, s, at)
  if (sod === SLOTS_PER_DAY - 1) closeDay(cfg, s, slotStart(cfg, k - SLOTS_PER_DAY + 1), at)
}

// ---------------------------------------------------------------- vacancy

/** The hour just ended: its least-used half above standby is use (a timed reheat fills at most two slots), and so is a busy half hour. */
function hour (cfg: Config, s: State, w: number, end: number, at: number) {
  const a = back(s, 0), b = back(s, 1), c = back(s, 2), d = back(s, 3)
  let active = false
  if (a >= 0 && b >= 0 && c >= 0 && d >= 0) {
    const mean = (a + b + c + d) / 4
    if (s.dayMinW < 0 || mean < s.dayMinW) s.dayMinW = mean
    const lo1 = Math.min(a, b), hi1 = Math.max(a, b), lo2 = Math.min(c, d), hi2 = Math.max(c, d)
    const low = (Math.min(lo1, lo2) + Math.min(Math.max(lo1, lo2), Math.min(hi1, hi2))) / 2
    active = s.floor >= 0 && low >= s.floor + cfg.activeW
  }
  // A short busy spell (getting up, a shower before work): half an hour well above what a reheat can add.
  if (!active && s.floor >= 0 && a >= s.floor + cfg.activeW && b >= s.floor + cfg.activeW) active = (a + b - 2 * s.floor) / 4 >= cfg.burstWh
  if (end > s.awayFrom && end - SLOT < s.awayUntil) {
    clear(s, 'vacancy', at, 'away')
    s.runStart = end; s.runCov = 0
    return
  }
  if (active) {
    clear(s, 'vacancy', at, 'activity')
    s.runStart = end; s.runCov = 0
    return
  }
  if (w < 0) return
  if (s.runStart < 0) s.runStart = end - SLOT
  s.runCov += SLOT
  checkVacancy(cfg, s, at)
}

/** A meter gap whose mean power shows no use continues the standby run; one that shows use ends it. */
export function gapSpan (cfg: Config, s: State, from: number, to: number, meanW: number, at: number) {
  if (s.floor < 0 || (to > s.awayFrom && from < s.awayUntil)) return
  if (meanW >= s.floor + cfg.activeW) {
    clear(s, 'vacancy', at, 'activity')
    s.runStart = to; s.runCov = 0
    return
  }
  if (s.runStart < 0) s.runStart = from
  s.runCov += to - from
  checkVacancy(cfg, s, at)
}

function checkVacancy (cfg: Config, s: State, at: number) {
  if (s.ep.vacancy !== null || s.days < cfg.warmupDays || s.baseDay < cfg.minOccupiedWh) return
  if (s.runCov < cfg.vacantMs / s.sens[SENS.vacancy]!) return
  say(s, 'vacancy', 'raise', s.runStart, at, {
    standbyHours: r2(s.runCov / 3_600_000), standbyW: Math.round(s.floor),
    usualDailyKwh: kwh(s.baseDay), sensitivity: s.sens[SENS.vacancy]!,
  })
}

export const vacancyScore = (cfg: Config, s: State) =>
  s.days < cfg.warmupDays || s.baseDay < cfg.minOccupiedWh ? 0 : r2(s.runCov * s.sens[SENS.vacancy]! / cfg.vacantMs)

// ---------------------------------------------------------------- e-bike charging

/** Sorts n values of the ring, from `from` slots ago, into sc[0..n). Insertion sort: n <= 14, no allocation. */
function sorted (s: State, from: number, n: number, sc: Float64Array) {
  for (let m = 0; m < n; m++) {
    const x = back(s, from + m)
    let j = m
    while (j > 0 && sc[j - 1]! > x) { sc[j] = sc[j - 1]!; j-- }
    sc[j] = x
  }
}

/**
 * Slot i (POST slots ago, starting at `t`) as the end of a held charge. Before it, a load of
 * 250-800 W, flat for the last 2 h (median `held`), held for 3.5-7.5 h; after it, the flat back
 * at its low level (`post`, the second lowest of 1.5 h: getting up may add load, it may not go
 * lower still); and the drop made within that one slot, not over several. A crowded flat's
 * phone and laptop chargers end one by one over an hour and sit on top of an evening of people
 * at home, so they rarely pass; before 03:30 (bedtimes) the flat must also drop to standby.
 */
function ebikeEdge (cfg: Config, s: State, i: number, t: number, at: number, sc: Float64Array) {
  const before = back(s, POST + 1), after = back(s, POST - 1)
  // Most slots: no drop of that size across this one at all.
  if (before - after < (1 - cfg.ebikeSharp) * cfg.ebikeMinW || after < 0) return
  for (let n = 0; n < POST + 1 + HELD; n++) if (back(s, n) < 0) return
  sorted(s, 0, POST, sc)
  const post = sc[1]!
  sorted(s, POST + 1, 8, sc)
  const held = (sc[3]! + sc[4]!) / 2, drop = held - post
  if (drop < cfg.ebikeMinW || drop > cfg.ebikeMaxW || held - sc[1]! > cfg.ebikeFlatW) return
  if (Math.max(0, held - before) + Math.max(0, after - post) > cfg.ebikeSharp * drop) return
  if (i < cfg.ebikeEarlySlot && post > s.floor + cfg.ebikeQuietW) return
  // How long the load was there: back from the edge while at least 3/4 of it shows (a one-slot dip allowed).
  const level = post + 0.85 * drop
  let n = POST + 1
  while (n < RING - 1 && Math.max(back(s, n), back(s, n + 1)) >= level) n++
  const heldSlots = n - POST - 1
  if (heldSlots < HELD || heldSlots > cfg.ebikeMaxHeldSlots) return
  const score = r2(drop / cfg.ebikeMinW)
  if (score <= s.nightScore) return
  s.nightScore = score
  s.nightAt = t
  s.nightHeld = heldSlots
  // The charge's energy since midnight (slot i is i slots after it) is the bike's, not the people's.
  s.ebikeWh = Math.round(drop * Math.min(heldSlots + 1, i) / 4)
  checkEbike(cfg, s, at, drop)
}

const nightWeight = (cfg: Config, x: number) => (x >= 1 ? Math.min(x, cfg.ebikeNightMax) : 0)

function ebikeEvidence (cfg: Config, s: State) {
  let sum = nightWeight(cfg, s.nightScore), nights = s.nightScore >= 1 ? 1 : 0, first = s.nightScore >= 1 ? s.nightAt : -1
  for (let n = NIGHTS - 1; n >= 0; n--) {
    const x = s.nights[n]!
    sum += nightWeight(cfg, x)
    if (x >= 1) { nights++; first = s.nightEnds[n]! }
  }
  return { sum, nights, first }
}

function checkEbike (cfg: Config, s: State, at: number, drop: number) {
  if (s.ep.ebike_charging !== null) return
  const e = ebikeEvidence(cfg, s)
  if (e.sum < cfg.ebikeNights / s.sens[SENS.ebike_charging]!) return
  say(s, 'ebike_charging', 'raise', e.first, at, {
    nights: e.nights, heldW: Math.round(drop), endedAt: s.nightAt, heldHours: s.nightHeld / 4,
    standbyW: Math.round(s.floor), sensitivity: s.sens[SENS.ebike_charging]!,
  })
}

export const ebikeScore = (cfg: Config, s: State) => r2(ebikeEvidence(cfg, s).sum * s.sens[SENS.ebike_charging]! / cfg.ebikeNights)

/** 08:45: the night is over. A night mostly without data neither adds nor removes evidence. */
function closeNight (cfg: Config, s: State, at: number) {
  if (s.nightSeen >= 0.75 * (NIGHT_END + 1)) {
    for (let n = 0; n < NIGHTS - 1; n++) { s.nights[n] = s.nights[n + 1]!; s.nightEnds[n] = s.nightEnds[n + 1]! }
    s.nights[NIGHTS - 1] = s.nightScore
    s.nightEnds[NIGHTS - 1] = s.nightScore > 0 ? s.nightAt : -1
    s.ebikeCalm = s.nightScore >= 1 ? 0 : s.ebikeCalm + 1
    if (s.ebikeCalm >= cfg.ebikeClearNights) clear(s, 'ebike_charging', at, 'pattern_gone')
  }
  s.nightScore = 0; s.nightSeen = 0; s.nightAt = -1; s.nightHeld = 0
}

// ---------------------------------------------------------------- crowding

function closeDay (cfg: Config, s: State, dayStart: number, at: number) {
  const covered = s.daySlots >= 0.8 * SLOTS_PER_DAY && s.nightSlots >= 0.8 * 24
  if (covered) judgeDay(cfg, s, dayStart, at)
  else s.people = -1
  s.dayWh = 0; s.daySlots = 0; s.nightWh = 0; s.nightSlots = 0; s.heavy = 0; s.dayMinW = -1; s.ebikeWh = 0
}

function judgeDay (cfg: Config, s: State, dayStart: number, at: number) {
  const floor = s.floor >= 0 ? s.floor : Math.max(0, s.dayMinW)
  const day = Math.max(0, s.dayWh * SLOTS_PER_DAY / s.daySlots - floor * 24 - s.ebikeWh)
  const night = Math.max(0, s.nightWh * 24 / s.nightSlots - floor * 6 - s.ebikeWh)
  const heavy = s.heavy * SLOTS_PER_DAY / s.daySlots
  if (s.days < cfg.warmupDays) {
    learn(s, 1 / (s.days + 1), day, night, heavy)
    if (s.people >= 0) s.basePeople = r2(s.basePeople === 0 ? s.people : s.basePeople + (s.people - s.basePeople) / (s.days + 1))
    s.people = -1
    s.days++
    return
  }
  const level = (day + cfg.levelSlackWh) / (s.baseDay + cfg.levelSlackWh)
  const late = (night + cfg.nightSlackWh) / (s.baseNight + cfg.nightSlackWh)
  const hot = (heavy + cfg.heavySlack) / (s.baseHeavy + cfg.heavySlack)
  // One score from every piece of evidence, each 1 at its own threshold: the meter's three (more
  // used, more at night, more heavy loads) and, when a camera counted people today, how many more
  // than the flat's usual (a direct count, weighted above the meter's inferences). No one piece
  // has to pass on its own, but none of the meter's may be far below its threshold (with a
  // camera's count well up, the meter's must still have moved: visitors are not tenants).
  const f1 = clip((level - 1) / (cfg.crowdLevel - 1)), f2 = clip((late - 1) / (cfg.crowdNight - 1)), f3 = clip((hot - 1) / (cfg.crowdHeavy - 1))
  const cam = s.people >= 0 && s.basePeople > 0 ? clip((s.people / s.basePeople - 1) / (cfg.crowdPeople - 1)) : -1
  const meterOk = Math.min(f1, f2, f3) >= cfg.crowdFloor || (cam >= 1 && Math.min(f1, f2, f3) >= cfg.crowdFloor / 2)
  const sum = f1 + f2 + f3 + (cam >= 0 ? cfg.cameraWeight * cam : 0), n = 3 + (cam >= 0 ? cfg.cameraWeight : 0)
  const score = r2(meterOk ? sum / n : Math.min(f1, f2, f3))
  const people = s.people
  if (s.people >= 0 && (s.basePeople === 0 || s.days < cfg.warmupDays)) s.basePeople = r2(s.basePeople === 0 ? s.people : s.basePeople + (s.people - s.basePeople) / (s.days + 1))
  s.people = -1
  s.crowdPrev = s.crowd; s.crowd = score
  const ep = s.ep.crowding, need = 1 / s.sens[SENS.crowding]!
  if (score < cfg.crowdClear * need) s.crowdSince = -1
  else if (s.crowdSince < 0) s.crowdSince = dayStart
  if (ep === null && score >= need) {
    say(s, 'crowding', 'raise', s.crowdSince, at, {
      levelRatio: r2(level), nightRatio: r2(late), heavyRatio: r2(hot),
      dayKwh: kwh(day), nightKwh: kwh(night), heavySlots: r2(heavy),
      usualDayKwh: kwh(s.baseDay), usualNightKwh: kwh(s.baseNight), usualHeavySlots: r2(s.baseHeavy),
      baselineDays: s.days, sensitivity: s.sens[SENS.crowding]!, score,
      ...(people >= 0 ? { peopleCounted: people, usualPeople: s.basePeople } : {}),
    })
  } else if (ep !== null) {
    s.crowdCalm = score < cfg.crowdClear * need ? s.crowdCalm + 1 : 0
    if (s.crowdCalm >= cfg.crowdClearDays) clear(s, 'crowding', at, 'back_to_baseline')
  }
  // Learn slowly, but not from an episode (unless told it was a false alarm) nor from a day that raised.
  const open = s.ep.crowding
  if ((open === null && score < cfg.crowdClear * need) || open?.muted === true) learn(s, 1 / cfg.learnDays, day, night, heavy)
}

function learn (s: State, alpha: number, day: number, night: number, heavy: number) {
  s.baseDay = r2(s.baseDay + alpha * (day - s.baseDay))
  s.baseNight = r2(s.baseNight + alpha * (night - s.baseNight))
  s.baseHeavy = r2(s.baseHeavy + alpha * (heavy - s.baseHeavy))
  if (s.dayMinW >= 0) s.floor = r2(s.floor < 0 ? s.dayMinW : s.floor + Math.max(alpha, 0.15) * (s.dayMinW - s.floor))
}

const clip = (x: number) => Math.max(0, Math.min(2, x))

export const crowdScore = (s: State) => r2(s.crowd * s.sens[SENS.crowding]!)
