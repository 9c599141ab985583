/**
 * Per-subject state of the inactivity detector, so that the state is its own short JSON snapshot
 * and a restored detector is bit-identical to the original. The usual level per hour of day is
 * the median of that hour over the last 7 learned days: robust to the odd bath or wash, and exact
 * rather than an estimate that needs weeks to settle.
 *
 * The subject's numbers are not arrays or fields of their own: they lie in one place of a
 * chunk (of its slab, up to 1 MiB) shared with other subjects (slab.ts Slab.place()), known by its loc; the detector reads it
 * through one State it reuses for every subject (a cursor: no object per subject; a typed array of
 * its own costs 96 bytes beside its data, a JS array 48 and 8 an element, an object 24 and 8 a
 * field, a field holding a fraction a 16-byte box as well).
 * The 168 remembered hours are whole watt-hours in 10-bit codes, four in five bytes (`hist` from
 * byte `histAt`; whAt()): exact below 256 Wh (standby and most quiet hours), within 0.4 % above
 * (0.8 % past 8,192 Wh), at most MAX_CODED (32,256 Wh: 32 kW held for the hour, past most homes' main
 * fuse). Against 12-bit codes (exact below 2,048 Wh) the real homes gave one false alert fewer
 * (evaluate --real: held-out half 173 -> 172), the simulator the same; 8-bit log codes were tried
 * and measured worse (1.7 % of a high standing load is the signal above it).
 * What is derived from them: each hour of day's least and second least (leastOf(), steadyOf(), asked
 * of at every hour judged and at many samples) are kept after them as which of its DAYS they are
 * (3 bits each, NONE none: 6 bits an hour of day), refreshed as an hour is remembered and not
 * snapshotted; its median (baseOf(), asked less often) is computed as read (until 2026-12 it was kept
 * too: 12 bits an hour of day). The hazards' faded counts are kept in tenths (they are rounded
 * to tenths anyway) as 10-bit integers (`hz` from byte `hzAt`; inactivity-expect.ts
 * countOf()). lim, wake, lastRun and runRecent are 16-bit numbers in the same place (from `at16`;
 * limOf() and the like): the fractions to thousandths (they are rounded to ten-thousandths where
 * computed). limInH, the door's, in 32-bit ten-thousandths, in an array of its own made the first
 * time it is learned: only a subject with a door sensor does.
 */
import { z } from 'zod'
import { Severity as SeveritySchema } from '../vocab/index.ts'
import { parseSnapshot, type Episode as BaseEpisode } from './types.ts'
import { BUCKETS, COUNT_BYTES, MAX_COUNT, TENTHS, countOf, setCount } from './inactivity-expect.ts'
import { EMPTY_CHUNK, RareRecords, get10, get6, set10, set6, wordOf, type Chunk, type Slab } from './slab.ts'
import { HourRecord, MAX_WH, restoreHour } from './electricity-hours.ts'

import { HOUR } from './hours.ts'

export { HOUR }
/** Days of history kept per hour of day. */
export const DAYS = 7
const EMPTY = -1
/** The remembered hours; which of an hour of day's days is none. */
const BASE = 24 * DAYS, NONE = 7

export interface Episode extends BaseEpisode {
  /** Which rule raised it: the Anomaly's detector name. */
  rule: string
  /** What the expected-activity evidence has been worth so far: 0 low, 1 medium, 2 high (only rises). */
  level: number
  /** Told false: event time of the last sample then, and the run's score then (absent: not told, or an older snapshot: no re-raise). */
  mutedAt?: number
  mutedScore?: number
  /** Raised again after such an answer, in the same silence: told false again, it teaches nothing more. */
  again?: boolean
}

/** Elders of one street: a high quantile of their longest quiet runs by start hour, recomputed once a local day (inactivity.ts). */
export interface PeerGroup {
  /** Its number in its detector's Held.groups (a member's state keeps it). */
  no: number
  street: string
  /** The members' subject numbers (SubjectIndex). */
  members: number[]
  day: number
  lim: number[] | null
}

/** What a detector's subjects hold that is not a number, kept beside their places, by subject number: few subjects have any. */
export interface Held {
  /** Open or last episodes. */
  eps: Map<number, Episode>
  /** limInH tables (a subject with a door sensor). */
  doors: Map<number, Int32Array>
  /** awayFrom, awayUntil, doorAt and doorSeen (RARE), for a subject once one of them is not 0 (told away, or a door sensor): most subjects never are. */
  rare: RareRecords
  /** Peer groups, by their number. */
  groups: PeerGroup[]
  /** The options the derived thresholds come from (State.usualWh, State.activeWh). */
  cfg: { usualWh: number, usualFraction: number, minActiveWh: number, activeFraction: number, wakingHours: number }
}

/**
 * The scalar that may hold any number (the run's start, an epoch time), in the Float64 part of the
 * subject's place (`c.f64` from `b`): a typed array holds any number exactly, where an object's field
 * holding a fraction or an epoch time costs its slot and a 16-byte box (V8 keeps no unboxed doubles
 * in objects). Each is a property of State (an accessor), so the judges read and write them as fields.
 * The epoch times most subjects leave at 0 (awayFrom, awayUntil, doorAt, doorSeen) are in Held.rare,
 * once one of them is not (a flag in the place says so).
 */
const RUN_START = 0, F64 = 1
/** In Held.rare's record: */
const AWAY_FROM = 0, AWAY_UNTIL = 1, DOOR_AT = 2, DOOR_SEEN = 3, RARE = 4
/** A detector's rare records (Held.rare): RARE numbers, 0 unless set. */
export const rareRecords = () => new RareRecords(RARE, 0)
/**
 * ... and in `i32`, after the small tables (I32S below): the whole numbers (counts, hours, a day
 * index, the usual day's Wh above standby and the run's usual and actual Wh: sums of whole Wh, well
 * inside 32 bits); the learned fractions that are always rounded to ten-thousandths (r4()) as
 * ten-thousandths (so exact, as the tables: fix()), sens and sensWake (at most 1: 10,000) two in one;
 * the subject's hour record (its loc), its peer group's number (-1 none), and the last episode's
 * rule (RULES) above flags (what it holds in Held; whether the usual day was set: usualWh).
 */
const N = 0, RUN_HOURS = 1, LIT_NIGHT = 2, LIT_PEAK = 3, WAKE_DAY = 4, DOOR_RUNS = 5, RUN_FLOOR = 6, DAILY = 7,
  RUN_SCORE = 8, LIT_LEARNED = 9, SENS = 10, LIM_IN = 11, RUN_USUAL = 12, RUN_LLR = 13, HOUR_AT = 14, RUN_ACTUAL = 15, GROUP = 16, FLAGS = 17
const HAS_EP = 1, HAS_DOOR = 2, PROFILED = 4, HAS_RARE = 8
/** The rule's number sits above the flags' bits in FLAGS; sensWake above sens's 16 in SENS. */
const RULE_SHIFT = 8, FLAG_BITS = (1 << RULE_SHIFT) - 1

/** Rules an episode ended with (lastRule), by number: a handful, kept for the process's life. */
const RULES: string[] = ['']
const ruleNo = (rule: string) => { let k = RULES.indexOf(rule); if (k < 0) k = RULES.push(rule) - 1; return k }


/**
 * A subject's state, read through a cursor: one State object a detector reuses for every subject,
 * pointed at one by at() (no object per subject: it cost 80 bytes, its hour record 40 more). The
 * subject's numbers lie in one place of a chunk shared with other subjects (slab.ts Slab.place()): from
 * byte 8 * b, the F64 scalars, then I32 32-bit integers (i32, at32), the remembered hours with
 * what is derived from them (hist, histAt) and the hazards' counts (hz, hzAt). What is not a
 * number (the episode, the door's table, the peer group) is in the detector's Held, by subject.
 */
export class State {
  /** The subject's electricity by local hour (electricity-hours.ts): the hour being filled, its kWh, coverage, gap-filled share, the last sample taken; shared with night load in the set. Snapshotted as this state's hour, acc, cov, fill and last. */
  readonly h: HourRecord
  /** The chunk the subject's place is in, and the place's start in its Float64 view; where its 32-bit integers, remembered hours and hazard counts begin. */
  c: Chunk = EMPTY_CHUNK
  b = 0
  /** The scalars in `i32` from `at32`; the small tables in `c.u16` and `c.i16` from `at16` (no arrays of their own): see limOf(), wakeOf(), lastRunOf() and recentOf(). */
  at32 = 0
  at16 = 0
  /**
   * Wh per hour of day over the last DAYS learned days, oldest first, in `hist` from `histAt + hourOfDay * DAYS`
   * (whAt()); -1 empty; at most MAX_CODED.
   */
  histAt = 0
  /** Expected activity (inactivity-expect.ts): per bucket, faded hours after a quiet hour, then those activity came back in, then of the hours that stayed quiet those at about standby (graded evidence), in tenths (snapshotted as hzTry, hzEnd and hzDeep), in `hz` from `hzAt`. */
  hzAt = 0
  /** The subject's number (SubjectIndex) and its place (slab.ts loc). */
  i = -1
  loc = -1
  private e: Episode | null = null
  /** Its rare record (null none), found once by at(). */
  private r: Float64Array | null = null

  /** `slab`: where the detector's states and hour records lie (its ElectricityHours' slab). */
  constructor (readonly held: Held, readonly slab: Slab) { this.h = new HourRecord(slab) }

  /** Points this cursor at subject number i, whose place is `loc`. */
  at (i: number, loc: number): this {
    const c = this.slab.chunkOf(loc), b = wordOf(loc), at32 = 2 * (b + F64)
    this.i = i; this.loc = loc; this.c = c; this.b = b; this.at32 = at32; this.at16 = 4 * b + T16_BYTE / 2
    this.histAt = 8 * b + HIST_BYTE; this.hzAt = 8 * b + HZ_BYTE
    this.h.at(c.i32[at32 + I32S + HOUR_AT]!)
    const flags = c.i32[at32 + I32S + FLAGS]!
    this.e = (flags & HAS_EP) === 0 ? null : this.held.eps.get(i)!
    this.r = (flags & HAS_RARE) === 0 ? null : this.held.rare.get(i)!
    return this
  }

  get i32 (): Int32Array { return this.c.i32 }
  get hist (): Uint8Array { return this.c.u8 }
  get hz (): Uint8Array { return this.c.u8 }

  private flag (bit: number, on: boolean) {
    const k = this.at32 + I32S + FLAGS, i32 = this.c.i32
    i32[k] = on ? i32[k]! | bit : i32[k]! & ~bit
  }

  /** The open episode, or the one told false that goes on (null none). */
  get ep (): Episode | null { return this.e }
  set ep (x: Episode | null) {
    this.e = x
    this.flag(HAS_EP, x !== null)
    if (x === null) this.held.eps.delete(this.i); else this.held.eps.set(this.i, x)
  }

  /** Per local start hour, the most standby-floor hours of an ordinary run at home begun then (limInHOf(); -1 unknown), fading like lim: null until first learned (only a subject with a door sensor learns it: judge inside()), then a typed array of its own. */
  get doorH (): Int32Array | null { return (this.c.i32[this.at32 + I32S + FLAGS]! & HAS_DOOR) === 0 ? null : this.held.doors.get(this.i)! }
  set doorH (x: Int32Array | null) {
    this.flag(HAS_DOOR, x !== null)
    if (x === null) this.held.doors.delete(this.i); else this.held.doors.set(this.i, x)
  }

  /** The rule of the last episode that ended ('' none). */
  get lastRule (): string { return RULES[this.c.i32[this.at32 + I32S + FLAGS]! >>> RULE_SHIFT]! }
  set lastRule (x: string) { const k = this.at32 + I32S + FLAGS, i32 = this.c.i32; i32[k] = (i32[k]! & FLAG_BITS) | ruleNo(x) << RULE_SHIFT }

  /** One of the rare numbers (0 unless set). */
  private rareOf (k: number): number { const r = this.r; return r === null ? 0 : r[k]! }
  private setRare (k: number, x: number) {
    let r = this.r
    if (r === null) {
      if (x === 0) return
      r = this.r = this.held.rare.make(this.i); this.flag(HAS_RARE, true)
    }
    r[k] = x
  }

  /** The street's peer group this subject is in (null until its first sample); not snapshotted: a restored subject joins at its next sample. */
  get group (): PeerGroup | null { const g = this.c.i32[this.at32 + I32S + GROUP]!; return g < 0 ? null : this.held.groups[g]! }
  set group (g: PeerGroup | null) { this.c.i32[this.at32 + I32S + GROUP] = g === null ? -1 : g.no }

  /** Hours learned from. */
  get n () { return this.c.i32[this.at32 + I32S + N]! }
  set n (x: number) { this.c.i32[this.at32 + I32S + N] = x }
  /** Standby Wh per hour: a low quantile of hist, recomputed each local midnight. */
  get floor () { return this.c.u16[this.at16 + FLOOR]! }
  set floor (x: number) { this.c.u16[this.at16 + FLOOR] = x }
  /** Derived from hist (and the hourly medians, baseOf()), not snapshotted: the usual day's Wh above standby (whole Wh; inactivity-judge.ts refreshProfile()), refreshed when hist or floor change; ... */
  get daily () { return this.c.i32[this.at32 + I32S + DAILY]! }
  set daily (x: number) { this.c.i32[this.at32 + I32S + DAILY] = x; this.flag(PROFILED, true) }
  /**
   * ... and from it the usual use above standby that makes an hour of day one the person is usually
   * active in, and the use that is activity (computed as read: the same numbers, no room taken). 0
   * until the usual day is first set (the first hour learned from, or a restore): what they were
   * when they were fields, set with it.
   */
  get usualWh () { if (!this.profiled) return 0; const cfg = this.held.cfg; return Math.max(cfg.usualWh, cfg.usualFraction * (this.daily / cfg.wakingHours)) }
  get activeWh () { if (!this.profiled) return 0; const cfg = this.held.cfg; return Math.max(cfg.minActiveWh, cfg.activeFraction * (this.daily / cfg.wakingHours)) }
  private get profiled () { return (this.c.i32[this.at32 + I32S + FLAGS]! & PROFILED) !== 0 }
  /** The current quiet run: event time it began (-1: none), score (usually-active hours that were quiet), ... */
  get runStart () { return this.c.f64[this.b + RUN_START]! }
  set runStart (x: number) { this.c.f64[this.b + RUN_START] = x }
  get runScore () { return this.c.i32[this.at32 + I32S + RUN_SCORE]! / TEN_K }
  set runScore (x: number) { this.c.i32[this.at32 + I32S + RUN_SCORE] = fix(x) }
  /** ... hours in it, usual and actual Wh above standby over them. */
  get runHours () { return this.c.i32[this.at32 + I32S + RUN_HOURS]! }
  set runHours (x: number) { this.c.i32[this.at32 + I32S + RUN_HOURS] = x }
  get runUsual () { return this.c.i32[this.at32 + I32S + RUN_USUAL]! }
  set runUsual (x: number) { this.c.i32[this.at32 + I32S + RUN_USUAL] = x }
  get runActual () { return this.c.i32[this.at32 + I32S + RUN_ACTUAL]! }
  set runActual (x: number) { this.c.i32[this.at32 + I32S + RUN_ACTUAL] = x }
  /** Hours in a row, in the run, usually slept through yet with a load held on from before (a lamp left on). */
  get litNight () { return this.c.i32[this.at32 + I32S + LIT_NIGHT]! }
  set litNight (x: number) { this.c.i32[this.at32 + I32S + LIT_NIGHT] = x }
  /** The most such hours in a row in this run, and in this person's ordinary runs (fading like lim). */
  get litPeak () { return this.c.i32[this.at32 + I32S + LIT_PEAK]! }
  set litPeak (x: number) { this.c.i32[this.at32 + I32S + LIT_PEAK] = x }
  get litLearned () { return this.c.i32[this.at32 + I32S + LIT_LEARNED]! / TEN_K }
  set litLearned (x: number) { this.c.i32[this.at32 + I32S + LIT_LEARNED] = fix(x) }
  /** 1 = as configured; false alarms lower it. */
  get sens () { return (this.c.i32[this.at32 + I32S + SENS]! & 0xffff) / TEN_K }
  set sens (x: number) { const k = this.at32 + I32S + SENS, i32 = this.c.i32; i32[k] = (i32[k]! & ~0xffff) | sixteen(x) }
  /** Event-time window (awayFrom, awayUntil] in which inactivity is expected: away, told or declared ahead. */
  get awayFrom () { return this.rareOf(AWAY_FROM) }
  set awayFrom (x: number) { this.setRare(AWAY_FROM, x) }
  get awayUntil () { return this.rareOf(AWAY_UNTIL) }
  set awayUntil (x: number) { this.setRare(AWAY_UNTIL, x) }
  /** Event time of the last door opening, and of the last event of any door sensor (0: none yet). */
  get doorAt () { return this.rareOf(DOOR_AT) }
  set doorAt (x: number) { this.setRare(DOOR_AT, x) }
  get doorSeen () { return this.rareOf(DOOR_SEEN) }
  set doorSeen (x: number) { this.setRare(DOOR_SEEN, x) }
  /** The most hours at the standby floor (runFloor) of an ordinary run with the door shut throughout (the person at home), fading like lim. (Snapshots before 2026-12 hold quiet-run scores here: larger, so a restored detector waits longer until they fade.) */
  get limIn () { return this.c.i32[this.at32 + I32S + LIM_IN]! / TEN_K }
  set limIn (x: number) { this.c.i32[this.at32 + I32S + LIM_IN] = fix(x) }
  /** Local day index of the last day activity was seen after 04:00 (-1 none). */
  get wakeDay () { return this.c.i32[this.at32 + I32S + WAKE_DAY]! }
  set wakeDay (x: number) { this.c.i32[this.at32 + I32S + WAKE_DAY] = x }
  /** Ordinary runs ended with a door sensor in place. */
  get doorRuns () { return this.c.i32[this.at32 + I32S + DOOR_RUNS]! }
  set doorRuns (x: number) { this.c.i32[this.at32 + I32S + DOOR_RUNS] = x }
  /** Sensitivity of the missed-routine rule, apart (perRuleSensitivity). */
  get sensWake () { return (this.c.i32[this.at32 + I32S + SENS]! >>> 16) / TEN_K }
  set sensWake (x: number) { const k = this.at32 + I32S + SENS, i32 = this.c.i32; i32[k] = (i32[k]! & 0xffff) | sixteen(x) << 16 }
  /** The current run's expected-activity evidence (inactivity-expect.ts). */
  get runLlr () { return this.c.i32[this.at32 + I32S + RUN_LLR]! / TEN_K }
  set runLlr (x: number) { this.c.i32[this.at32 + I32S + RUN_LLR] = fix(x) }
  /** Hours of the current run at the standby floor itself (a lamp held on is not), in hours the person is usually up in: with the door shut, what a fall looks like. */
  get runFloor () { return this.c.i32[this.at32 + I32S + RUN_FLOOR]! }
  set runFloor (x: number) { this.c.i32[this.at32 + I32S + RUN_FLOOR] = x }
}

/** The hour record (its loc) of the state in place `loc` of `slab`, read without a cursor. */
export const hourOf = (slab: Slab, loc: number) => slab.chunkOf(loc).i32[2 * (wordOf(loc) + F64) + I32S + HOUR_AT]!

/** Wh of remembered entry i (hour of day d, day j: i = d * DAYS + j); -1 empty. */
export const whAt = (s: State, i: number) => DECODE[get10(s.hist, s.histAt, i)]!

/**
 * The remembered hours' 10-bit codes, a float of 7 significant bits: exact below 256 Wh (codes 0-255:
 * most homes' standby and quiet hours), then in steps of 2, 4, ... 32 Wh up to 8,192 (0.4 % of the
 * hour at most: 128 codes each power of two), then of 128 and 256 Wh up to MAX_CODED (64 codes each:
 * 0.8 %); CODE_EMPTY none. DECODE[code] is the Wh; encode() takes the nearest code (a tie: the lower).
 */
const CODE_EMPTY = 0x3ff
/** The most Wh an hour is remembered as. */
export const MAX_CODED = 126 * 256
const DECODE = new Int32Array(CODE_EMPTY + 1)
for (let c = 0; c < CODE_EMPTY; c++) DECODE[c] = c < 256 ? c : c < 896 ? (128 + ((c - 256) & 127)) * 2 ** (1 + ((c - 256) >> 7)) : (64 + ((c - 896) & 63)) * 2 ** (7 + ((c - 896) >> 6))
DECODE[CODE_EMPTY] = EMPTY
function encode (wh: number): number {
  if (wh < 0) return CODE_EMPTY
  if (wh < 256) return Math.round(wh)
  // The last code whose Wh is at most wh, then it or the next, whichever is nearer.
  let lo = 255, hi = CODE_EMPTY - 1
  while (lo < hi) { const m = (lo + hi + 1) >> 1; if (DECODE[m]! <= wh) lo = m; else hi = m - 1 }
  return lo < CODE_EMPTY - 1 && DECODE[lo + 1]! - wh < wh - DECODE[lo]! ? lo + 1 : lo
}
const decode = (c: number) => DECODE[c]!
/** What an hour of `wh` Wh is remembered as. */
export const rememberedAs = (wh: number) => decode(encode(wh))

/**
 * Small tables in 16 bits, in `c.u16` (and `c.i16`) from `at16`: per local start hour the longest
 * ordinary run (lim: quiet-run scores in thousandths, NO_LIM unknown), the mornings (wake: mean local
 * hour and mean absolute deviation in thousandths, mornings learned, weekdays then weekends), the
 * last run that raised (lastRun: start hour, -1 none; score in thousandths), and the last two
 * closed hours' Wh (runRecent: whole Wh, -1 none, at most MAX_WH), and the standby floor (State.floor: a
 * quantile of the remembered hours, whole Wh at most MAX_CODED). The learned fractions are rounded to
 * ten-thousandths where they are computed (r4()), and kept to thousandths (thousandths()), at most
 * 65.534 (a run's score in usually-active hours: a bar past 5 is the cap's, ownLimitCapHours); a count at most 65,535.
 */
const LIM = 0, WAKE = 24, LAST_RUN = 30, RECENT = 32, FLOOR = 34, T16 = 35
const NO_LIM = 0xffff, MAX_THOUSANDTHS = 0xfffe
const TEN_K = 10_000
const fix = (x: number) => Math.max(-0x7fffffff, Math.min(0x7fffffff, Math.round(x * TEN_K)))
/** sens or sensWake as its 16 bits of SENS (ten-thousandths): the options keep it in (0, 1]; clamped so one never spills into the other. */
const sixteen = (x: number) => Math.max(0, Math.min(0xffff, Math.round(x * TEN_K)))
/** A learned fraction as its 16-bit code: thousandths, at most MAX_THOUSANDTHS (negative: 0). */
const milli = (x: number) => Math.max(0, Math.min(MAX_THOUSANDTHS, Math.round(x * 1000)))
/** What a learned fraction (>= 0) is kept as in the small tables. */
export const thousandths = (x: number) => milli(x) / 1000

/** Per local start hour, the longest score ordinary quiet runs begun then reached (-1 unknown). */
export const limOf = (s: State, k: number) => { const x = s.c.u16[s.at16 + LIM + k]!; return x === NO_LIM ? EMPTY : x / 1000 }
export const setLim = (s: State, k: number, score: number) => { s.c.u16[s.at16 + LIM + k] = score < 0 ? NO_LIM : milli(score) }
/** wake[k]: k, k + 1, k + 2 the mean local hour of the first activity after 04:00, its mean absolute deviation, mornings learned; k 0 weekdays, 3 weekends. */
export const wakeOf = (s: State, k: number) => { const x = s.c.u16[s.at16 + WAKE + k]!; return k % 3 === 2 ? x : x / 1000 }
export const setWake = (s: State, k: number, x: number) => { s.c.u16[s.at16 + WAKE + k] = k % 3 === 2 ? Math.max(0, Math.min(0xffff, Math.round(x))) : milli(x) }
/** The last run that raised, as it ended: local start hour (0; -1 none) and score (1). */
export const lastRunOf = (s: State, i: number) => i === 0 ? s.c.i16[s.at16 + LAST_RUN]! : s.c.u16[s.at16 + LAST_RUN + 1]! / 1000
export const setLastRun = (s: State, hour: number, score: number) => { s.c.i16[s.at16 + LAST_RUN] = Math.max(-1, Math.min(23, Math.round(hour))); s.c.u16[s.at16 + LAST_RUN + 1] = milli(score) }
/** The last two closed hours' Wh, run or not (i 1 the latest; -1 none). */
export const recentOf = (s: State, i: number) => s.c.i16[s.at16 + RECENT + i]!
/** Per local start hour, the most standby-floor hours of an ordinary run at home begun then (-1 unknown). */
export const limInHOf = (s: State, k: number) => s.doorH === null ? EMPTY : s.doorH[k]! / TEN_K
export const setLimInH = (s: State, k: number, hours: number) => { (s.doorH ??= s.slab.int32s(24).fill(-TEN_K))[k] = fix(hours) }
export const pushRecent = (s: State, wh: number) => { const at = s.at16 + RECENT, t = s.c.i16; t[at] = t[at + 1]!; t[at + 1] = Math.min(wh, MAX_WH) }

/** The scalars in `i32` from I32S (0: they come first, after the Float64s). */
const I32S = 0, I32 = FLAGS + 1
/** A subject's scalars (64 and 32 bits), small tables (16), hist (10 bits) and its lows (6), hz (10 bits), in one place of a shared chunk: their bytes. */
const T16_BYTE = 8 * F64 + 4 * I32, HIST_BYTE = T16_BYTE + 2 * T16, LOWS_BYTE = HIST_BYTE + BASE * 10 / 8, HZ_BYTE = LOWS_BYTE + 24 * 6 / 8, PLACE = HZ_BYTE + COUNT_BYTES

/** A fresh state for subject number i on hour record `hour` (a loc), in a new place: points cursor `s` at it and returns the place's loc. */
export function freshState (s: State, i: number, hour: number): number {
  const p = s.slab.place(PLACE), b = p.byte / 8, c = p.chunk, at32 = 2 * (b + F64), at16 = 4 * b + T16_BYTE / 2
  c.f64.fill(0, b, b + F64)
  c.i32.fill(0, at32 + I32S, at32 + I32)
  c.i32[at32 + I32S + HOUR_AT] = hour; c.i32[at32 + I32S + GROUP] = -1
  c.u16.fill(NO_LIM, at16 + LIM, at16 + WAKE).fill(0, at16 + WAKE, at16 + LAST_RUN)
  c.i16[at16 + LAST_RUN] = -1; c.u16[at16 + LAST_RUN + 1] = 0
  c.i16.fill(EMPTY, at16 + RECENT, at16 + FLOOR); c.u16[at16 + FLOOR] = 0
  // What an earlier state of the subject held beside its place is not this one's.
  s.held.eps.delete(i); s.held.doors.delete(i); s.held.rare.delete(i)
  s.at(i, p.loc)
  // All ones: every hour CODE_EMPTY, every hour of day's lows NONE.
  c.u8.fill(0xff, s.histAt, s.hzAt).fill(0, s.hzAt, s.hzAt + COUNT_BYTES)
  s.runStart = -1; s.sens = 1; s.wakeDay = -1; s.sensWake = 1
  return p.loc
}

/** Usual Wh in hour-of-day d on each remembered day (-1: not known). */
export const history = (s: State, d: number) => Array.from({ length: DAYS }, (_, j) => whAt(s, d * DAYS + j))

/** Appends `wh` to hour-of-day d's history (at most MAX_CODED) and refreshes its lows. */
export function remember (s: State, d: number, wh: number) {
  const h = s.hist, at = s.histAt, from = d * DAYS
  for (let i = from; i < from + DAYS - 1; i++) set10(h, at, i, get10(h, at, i + 1))
  set10(h, at, from + DAYS - 1, encode(wh))
  derive(s, d)
}

/** Shared scratch for sortedOf(): at most DAYS values, no allocation per call. */
const sorted = new Int32Array(DAYS)

/** Hour-of-day d's known remembered hours, least first, into `sorted`: how many. */
function sortedOf (s: State, d: number): number {
  let n = 0
  for (let i = d * DAYS; i < d * DAYS + DAYS; i++) {
    const v = whAt(s, i)
    if (v < 0) continue
    let j = n++
    while (j > 0 && sorted[j - 1]! > v) { sorted[j] = sorted[j - 1]!; j-- }
    sorted[j] = v
  }
  return n
}

/** Median Wh of hour-of-day d over the remembered days (0: none; the two middle ones' mean, rounded, when even). */
export function baseOf (s: State, d: number): number {
  const n = sortedOf(s, d)
  return n === 0 ? 0 : n % 2 === 1 ? sorted[n >> 1]! : Math.round((sorted[n / 2 - 1]! + sorted[n / 2]!) / 2)
}
/** Remembered Wh of hour-of-day d on its day j (NONE: -1). */
const dayOf = (s: State, d: number, j: number) => j === NONE ? EMPTY : whAt(s, d * DAYS + j)
/** Hour-of-day d's lows: which of its days are the least (3 bits) and the second least (3 bits above). */
const lowsAt = (s: State, d: number) => get6(s.hist, s.histAt + LOWS_BYTE - HIST_BYTE, d)

/** The least Wh of hour-of-day d over the remembered days (-1: none). */
export const leastOf = (s: State, d: number) => dayOf(s, d, lowsAt(s, d) & NONE)
/** The second least Wh of hour-of-day d over the remembered days (the least when only one is known; -1: none). */
export const steadyOf = (s: State, d: number) => dayOf(s, d, lowsAt(s, d) >> 3)

/** Refreshes which of hour-of-day d's remembered hours are its least and second least. */
function derive (s: State, d: number) {
  let lo = Infinity, lo2 = Infinity, jlo = NONE, jlo2 = NONE
  for (let k = 0; k < DAYS; k++) {
    const v = whAt(s, d * DAYS + k)
    if (v < 0) continue
    if (v < lo) { lo2 = lo; jlo2 = jlo; lo = v; jlo = k } else if (v < lo2) { lo2 = v; jlo2 = k }
  }
  set6(s.hist, s.histAt + LOWS_BYTE - HIST_BYTE, d, jlo | (jlo2 === NONE ? jlo : jlo2) << 3)
}

/** Shared scratch for quantileOf(). */
const all = new Float64Array(24 * DAYS)

/**
 * The p-quantile of all remembered hours, as simple-statistics' quantileSorted() finds it in them
 * sorted (numpy's linear method: the value at (n - 1) p, between its two neighbours when that is
 * not whole), the same number, without sorting: the one or two order statistics it needs are
 * selected (Wirth's algorithm: O(n), where a sort of the 168 hours was the costliest step of a
 * subject's day). Throws, as quantileSorted does, when nothing is remembered or p is outside [0, 1].
 */
export function quantileOf (s: State, p: number): number {
  let n = 0
  for (let i = 0; i < BASE; i++) { const x = whAt(s, i); if (x !== EMPTY) all[n++] = x }
  return quantile(all, n, p)
}

/** quantileSorted(a[0, n) sorted, p), found by selection (a's values are moved). */
export function quantile (a: Float64Array, n: number, p: number): number {
  if (n === 0) throw new Error('quantile requires at least one data point.')
  if (p < 0 || p > 1) throw new Error('quantiles must be between 0 and 1')
  const idx = (n - 1) * p, lower = Math.floor(idx)
  const lo = select(a, n, lower)
  if (idx % 1 === 0) return lo
  // Right of `lower` every value is at least a[lower]: the next in order is the least of them.
  let hi = Infinity
  for (let i = lower + 1; i < n; i++) if (a[i]! < hi) hi = a[i]!
  return lo + (idx - lower) * (hi - lo)
}

/** The k-th least of a[0, n) (from 0), moving a's values so that none left of k is more and none right of it less. */
function select (a: Float64Array, n: number, k: number): number {
  let l = 0, r = n - 1
  while (l < r) {
    const x = a[k]!
    let i = l, j = r
    do {
      while (a[i]! < x) i++
      while (x < a[j]!) j--
      if (i <= j) { const t = a[i]!; a[i] = a[j]!; a[j] = t; i++; j-- }
    } while (i <= j)
    if (j < k) l = i
    if (k < i) r = j
  }
  return a[k]!
}

const int = z.number().int()
/** The most a fraction kept in 32-bit ten-thousandths (fix()) holds: a snapshot with more is refused, not clamped. */
const MAX_FIX = Math.floor(0x7fffffff / TEN_K)
const wh = int.min(EMPTY)
/**
 * What the 16-bit tables hold (setLim, setWake, setLastRun): a snapshot past it is refused, not
 * clamped (a bar of 70 kept as 65.534, a morning at 30 h as 24, a last run at 30 h as 23 would each
 * go on as something else). Only the remembered hours and runRecent are clamped: older builds wrote
 * larger hours.
 */
const MAX_SMALL = MAX_THOUSANDTHS / 1000
/** A mean local hour of waking, or its mean absolute deviation (hours); mornings learned. */
const wakeHour = z.number().finite().min(0).max(24), mornings = int.min(0).max(0xffff)
const StateSchema = z.object({
  hour: int.min(-1),
  acc: z.number().finite().nonnegative(),
  cov: z.number().finite().nonnegative(),
  fill: z.number().finite().nonnegative(),
  last: z.number().finite().nullable(),
  n: int.nonnegative(),
  hist: z.array(wh).length(24 * DAYS),
  floor: int.nonnegative().max(0xffff),
  runStart: z.number().finite(),
  runScore: z.number().finite().nonnegative().max(MAX_FIX),
  runHours: int.nonnegative(),
  // Sums of whole Wh (kept as 32-bit integers).
  runUsual: z.number().finite().nonnegative().max(0x7fffffff).transform(Math.round),
  runActual: z.number().finite().nonnegative().max(0x7fffffff).transform(Math.round),
  // Fields added after the first release default, so an older snapshot still restores (and relearns them).
  litNight: int.nonnegative().default(0),
  litPeak: int.nonnegative().default(0),
  litLearned: z.number().finite().nonnegative().max(MAX_FIX).default(0),
  runRecent: z.array(wh).length(2),
  sens: z.number().positive().max(1),
  awayFrom: z.number().finite().default(0),
  awayUntil: z.number().finite(),
  ep: z.object({
    startedAt: z.number().finite(), raisedAt: z.number().finite(), severity: SeveritySchema, muted: z.boolean(),
    rule: z.string().max(32).default('low_use'),
    level: int.min(0).max(2).default(0),
    mutedAt: z.number().finite().optional(),
    mutedScore: z.number().finite().nonnegative().optional(),
    again: z.boolean().optional(),
  }).nullable(),
  lim: z.array(z.number().finite().min(EMPTY).max(MAX_SMALL)).length(24).default(() => new Array<number>(24).fill(EMPTY)),
  wake: z.tuple([wakeHour, wakeHour, mornings, wakeHour, wakeHour, mornings]).default(() => [0, 0, 0, 0, 0, 0] as [number, number, number, number, number, number]),
  doorAt: z.number().finite().nonnegative().default(0),
  doorSeen: z.number().finite().nonnegative().default(0),
  limIn: z.number().finite().nonnegative().max(MAX_FIX).default(0),
  lastRun: z.tuple([int.min(-1).max(23), z.number().finite().max(MAX_SMALL)]).default(() => [-1, 0] as [number, number]),
  limInH: z.array(z.number().finite().min(EMPTY)).length(24).default(() => new Array<number>(24).fill(EMPTY)),
  doorRuns: int.nonnegative().default(0),
  sensWake: z.number().positive().max(1).default(1),
  lastRule: z.string().max(40).default(''),
  wakeDay: int.min(-1).default(-1),
  hzTry: z.array(z.number().finite().nonnegative().max(MAX_COUNT / TENTHS)).length(BUCKETS).default(() => new Array<number>(BUCKETS).fill(0)),
  hzEnd: z.array(z.number().finite().nonnegative().max(MAX_COUNT / TENTHS)).length(BUCKETS).default(() => new Array<number>(BUCKETS).fill(0)),
  hzDeep: z.array(z.number().finite().nonnegative().max(MAX_COUNT / TENTHS)).length(BUCKETS).default(() => new Array<number>(BUCKETS).fill(0)),
  runLlr: z.number().finite().nonnegative().max(MAX_FIX).default(0),
  runFloor: int.nonnegative().default(0),
})

/** Faded counts as the snapshot says them: tenths back to decimals. */
const decimals = (s: State, from: number) => Array.from({ length: BUCKETS }, (_, b) => countOf(s, from + b) / TENTHS)

/** JSON-able copy; `last` is null before the first sample (JSON has no -Infinity). Same shape as ever: arrays of numbers, the keys in the order they have always had. */
export function toSnapshot (s: State): unknown {
  const h = s.h
  const table = (n: number, of: (s: State, k: number) => number) => Array.from({ length: n }, (_, k) => of(s, k))
  return {
    hour: h.hour, acc: h.acc, cov: h.cov, fill: h.fill, last: Number.isFinite(h.last) ? h.last : null,
    n: s.n, hist: Array.from({ length: BASE }, (_, i) => whAt(s, i)), floor: s.floor,
    runStart: s.runStart, runScore: s.runScore, runHours: s.runHours, runUsual: s.runUsual, runActual: s.runActual,
    litNight: s.litNight, litPeak: s.litPeak, litLearned: s.litLearned, sens: s.sens, awayFrom: s.awayFrom, awayUntil: s.awayUntil, ep: s.ep && { ...s.ep },
    doorAt: s.doorAt, doorSeen: s.doorSeen, limIn: s.limIn, wakeDay: s.wakeDay, doorRuns: s.doorRuns, sensWake: s.sensWake, lastRule: s.lastRule, runFloor: s.runFloor,
    runRecent: table(2, recentOf), lim: table(24, limOf), wake: table(6, wakeOf), lastRun: table(2, lastRunOf), limInH: table(24, limInHOf),
    hzTry: decimals(s, 0), hzEnd: decimals(s, BUCKETS), hzDeep: decimals(s, 2 * BUCKETS), runLlr: s.runLlr,
  }
}

/**
 * Parses a snapshot into a new state for subject number i on hour record `hour` (a loc), whose
 * bucket it restores unless the record holds a later sample (restoreHour); points cursor `s` at it
 * and returns its place's loc. Throws a TypeError naming what is wrong (before anything changes).
 */
export function fromSnapshot (raw: unknown, s: State, i: number, hour: number): number {
  const v = parseSnapshot('inactivity', StateSchema, raw)
  const loc = freshState(s, i, hour)
  const { hzTry, hzEnd, hzDeep, hour: at, acc, cov, fill, last, runRecent, lim, wake, lastRun, limInH, hist, ep, ...rest } = v
  restoreHour(s.h, { hour: at, acc, cov, fill, last: last ?? -Infinity }, true)
  for (let k = 0; k < 24; k++) { setLim(s, k, lim[k]!); if (limInH[k] !== EMPTY) setLimInH(s, k, limInH[k]!) }
  for (let k = 0; k < 6; k++) setWake(s, k, wake[k]!)
  setLastRun(s, lastRun[0]!, lastRun[1]!)
  pushRecent(s, runRecent[0]!); pushRecent(s, runRecent[1]!)
  // The scalars through their accessors (Object.assign sets, it does not define).
  Object.assign(s, rest)
  s.ep = ep && { ...ep }
  for (let j = 0; j < hist.length; j++) set10(s.hist, s.histAt, j, encode(hist[j]!))
  for (let d = 0; d < 24; d++) derive(s, d)
  for (let b = 0; b < BUCKETS; b++) { setCount(s, b, Math.round(hzTry[b]! * TENTHS)); setCount(s, BUCKETS + b, Math.round(hzEnd[b]! * TENTHS)); setCount(s, 2 * BUCKETS + b, Math.round(hzDeep[b]! * TENTHS)) }
  return loc
}

/** The subject is away at some time in (from, to]. */
export const awayDuring = (s: State, from: number, to: number) => to > s.awayFrom && from < s.awayUntil
