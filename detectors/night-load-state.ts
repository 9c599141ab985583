/**
 * Per-subject state of the night-load detector: a dozen numbers and three 24-entry tables of small
 * integers, all kept in a shared chunk (slab.ts Slab.place(): no typed array of their own, 200 bytes with
 * the hour record's loc and the episode flag; read through a cursor, no object per subject), so
 * that the state is its own short JSON snapshot (about 600 bytes) and a restored detector is
 * bit-identical to the original.
 *
 * The person's usual night is kept as day bit masks: bit 0 of `quiet[d]` is whether hour-of-day d
 * was at about standby on the latest learned day, bit 1 the day before, up to WINDOW days;
 * `days[d]` says how many of those bits are learned. Exact over a sliding window, O(1) to update.
 * Which hours are usually night (`night`, 24 bits) is derived from them, not snapshotted.
 */
import { z } from 'zod'
import { Severity as SeveritySchema } from '../vocab/index.ts'
import { parseSnapshot, type Episode } from './types.ts'
import { EMPTY_CHUNK, wordOf, type Chunk, type Slab } from './slab.ts'
import { HourRecord, MAX_WH, restoreHour } from './electricity-hours.ts'

import { HOUR } from './hours.ts'

export { HOUR }
/** Most days of habits a mask can hold (16 bits). */
export const MAX_WINDOW = 16

export type { Episode }

/**
 * Where a subject's numbers lie in its place of a shared chunk (slab.ts Slab.place()): from byte 8 * b,
 * F64 scalars that may hold fractions or epoch times (a Float64Array holds any number exactly;
 * an object's field would cost its slot and a 16-byte box); then I32 integer scalars (hour and day
 * indices, 24-bit masks) from `at` = 2 * (b + F64) in the 32-bit view; then per hour of day the
 * usual energy (whole Wh, 16 bits: at most MAX_WH; -1 unknown: usualOf()), a bit i set when that
 * hour was at about standby on the i-th latest learned day (16 bits: at most MAX_WINDOW days:
 * quietOf()), and how many days of those bits are learned (8 bits: daysOf()).
 */
const PREV_EXCESS = 0, PREV_RATIO = 1, PREV2_EXCESS = 2, SCALE = 3, AWAY_FROM = 4, AWAY_UNTIL = 5, F64 = 6
const DAY = 0, DAY_SEEN = 1, DAY_QUIET = 2, DAY_LIVED = 3, PREV_HOUR = 4, NIGHT = 5, HOUR_AT = 6, HAS_EP = 7, I32 = 8
/** Byte offsets in the place of: the usual energy, the quiet bits, the days learned; and the place's size. */
const USUAL = 8 * F64 + 4 * I32, QUIET = USUAL + 2 * 24, DAYS = QUIET + 2 * 24, BYTES = DAYS + 24


/**
 * A subject's state, read through a cursor (one State a detector reuses, pointed at a subject by
 * at(): no object per subject): its record of hours, its place (chunk `c`, from `c.f64[b]`; its hour
 * record's loc and whether it has an episode are in it), and its episode, kept by subject number in
 * `eps` (few subjects have one).
 */
export class State {
  /** The subject's electricity by local hour (electricity-hours.ts; shared with inactivity in the set): the hour being filled, its exact kWh and ms covered, the last sample taken. Snapshotted as this state's hour, acc (Wh), cov and last. */
  readonly h: HourRecord
  c: Chunk = EMPTY_CHUNK
  b = 0
  /** Where the integer scalars begin in the 32-bit view. */
  at = 0
  /** The subject's number (SubjectIndex). */
  i = -1
  private e: Episode | null = null

  /** `slab`: where the detector's states and hour records lie (its ElectricityHours' slab). */
  constructor (readonly eps: Map<number, Episode>, readonly slab: Slab) { this.h = new HourRecord(slab) }

  /** Points this cursor at subject number i, whose place is `loc`. */
  on (i: number, loc: number): this {
    const c = this.slab.chunkOf(loc), b = wordOf(loc), at = 2 * (b + F64)
    this.i = i; this.c = c; this.b = b; this.at = at
    this.h.at(c.i32[at + HOUR_AT]!)
    this.e = c.i32[at + HAS_EP] === 0 ? null : this.eps.get(i)!
    return this
  }

  get ep (): Episode | null { return this.e }
  set ep (x: Episode | null) {
    this.e = x
    this.c.i32[this.at + HAS_EP] = x === null ? 0 : 1
    if (x === null) this.eps.delete(this.i); else this.eps.set(this.i, x)
  }

  /** Local day index whose hours are being collected (-1 none), its hours seen and hours at standby (24-bit masks), and 1 once it showed someone home. */
  get day () { return this.c.i32[this.at + DAY]! }
  set day (x: number) { this.c.i32[this.at + DAY] = x }
  get daySeen () { return this.c.i32[this.at + DAY_SEEN]! }
  set daySeen (x: number) { this.c.i32[this.at + DAY_SEEN] = x }
  get dayQuiet () { return this.c.i32[this.at + DAY_QUIET]! }
  set dayQuiet (x: number) { this.c.i32[this.at + DAY_QUIET] = x }
  get dayLived () { return this.c.i32[this.at + DAY_LIVED]! }
  set dayLived (x: number) { this.c.i32[this.at + DAY_LIVED] = x }
  /** The last closed hour (-1: none, or the run of hours broken): its excess over usual, Wh, that over the threshold (0 unless usually night), and the hour before's excess. */
  get prevHour () { return this.c.i32[this.at + PREV_HOUR]! }
  set prevHour (x: number) { this.c.i32[this.at + PREV_HOUR] = x }
  get prevExcess () { return this.c.f64[this.b + PREV_EXCESS]! }
  set prevExcess (x: number) { this.c.f64[this.b + PREV_EXCESS] = x }
  get prevRatio () { return this.c.f64[this.b + PREV_RATIO]! }
  set prevRatio (x: number) { this.c.f64[this.b + PREV_RATIO] = x }
  get prev2Excess () { return this.c.f64[this.b + PREV2_EXCESS]! }
  set prev2Excess (x: number) { this.c.f64[this.b + PREV2_EXCESS] = x }
  /** Threshold multiplier: 1 as configured; false alarms raise it. */
  get scale () { return this.c.f64[this.b + SCALE]! }
  set scale (x: number) { this.c.f64[this.b + SCALE] = x }
  /** Event-time window (awayFrom, awayUntil] the person said they were away: those days teach nothing about their night. */
  get awayFrom () { return this.c.f64[this.b + AWAY_FROM]! }
  set awayFrom (x: number) { this.c.f64[this.b + AWAY_FROM] = x }
  get awayUntil () { return this.c.f64[this.b + AWAY_UNTIL]! }
  set awayUntil (x: number) { this.c.f64[this.b + AWAY_UNTIL] = x }
  /** Derived from quiet and days, not snapshotted: bit d set when hour-of-day d is usually night. */
  get night () { return this.c.i32[this.at + NIGHT]! }
  set night (x: number) { this.c.i32[this.at + NIGHT] = x }
}

/** Usual Wh of hour-of-day d (-1 unknown); set at most MAX_WH. */
export const usualOf = (s: State, d: number) => s.c.i16[(8 * s.b + USUAL) / 2 + d]!
export const setUsual = (s: State, d: number, wh: number) => { s.c.i16[(8 * s.b + USUAL) / 2 + d] = Math.min(wh, MAX_WH) }
export const quietOf = (s: State, d: number) => s.c.u16[(8 * s.b + QUIET) / 2 + d]!
export const setQuiet = (s: State, d: number, bits: number) => { s.c.u16[(8 * s.b + QUIET) / 2 + d] = bits }
export const daysOf = (s: State, d: number) => s.c.u8[8 * s.b + DAYS + d]!
export const setDays = (s: State, d: number, n: number) => { s.c.u8[8 * s.b + DAYS + d] = n }

/** The tables as plain arrays (snapshots, tests). */
export const tables = (s: State) => ({
  usual: Array.from({ length: 24 }, (_, d) => usualOf(s, d)),
  quiet: Array.from({ length: 24 }, (_, d) => quietOf(s, d)),
  days: Array.from({ length: 24 }, (_, d) => daysOf(s, d)),
})

/** A fresh state for subject number i on hour record `hour` (a loc), in a new place: points cursor `s` at it and returns the place's loc. */
export function freshState (s: State, i: number, hour: number): number {
  const p = s.slab.place(BYTES), at = 2 * (p.byte / 8 + F64)
  p.chunk.u8.fill(0, p.byte, p.byte + BYTES)
  p.chunk.i32[at + HOUR_AT] = hour
  s.eps.delete(i)
  s.on(i, p.loc)
  for (let d = 0; d < 24; d++) setUsual(s, d, -1)
  s.day = -1; s.prevHour = -1; s.scale = 1
  return p.loc
}

/** The hour record (its loc) of the state in place `loc` of `slab`, read without a cursor. */
export const hourOf = (slab: Slab, loc: number) => slab.chunkOf(loc).i32[2 * (wordOf(loc) + F64) + HOUR_AT]!

/** Rounds Wh to 0.1 Wh. */
export const r1 = (x: number) => Math.round(x * 10) / 10

const int = z.number().int()
const StateSchema = z.object({
  hour: int.min(-1),
  // The hour's energy so far: exact kWh (the shared record's); Wh to 0.1 in snapshots taken before it was shared.
  kwh: z.number().finite().nonnegative().optional(),
  acc: z.number().finite().nonnegative().optional(),
  cov: z.number().finite().nonnegative().max(HOUR),
  last: z.number().finite().nullable(),
  // Kept at most MAX_WH (an older snapshot's larger usual is taken as that).
  usual: z.array(int.min(-1).max(0x7fffffff)).length(24),
  quiet: z.array(int.nonnegative().max(2 ** MAX_WINDOW - 1)).length(24),
  days: z.array(int.nonnegative().max(MAX_WINDOW)).length(24),
  day: int.min(-1),
  daySeen: int.nonnegative().max(0xffffff),
  dayQuiet: int.nonnegative().max(0xffffff),
  dayLived: z.union([z.literal(0), z.literal(1)]),
  prevHour: int.min(-1),
  prevExcess: z.number().finite(),
  prevRatio: z.number().finite(),
  prev2Excess: z.number().finite(),
  scale: z.number().finite().min(1),
  awayFrom: z.number().finite(),
  awayUntil: z.number().finite(),
  ep: z.object({ startedAt: z.number().finite(), raisedAt: z.number().finite(), severity: SeveritySchema, muted: z.boolean() }).nullable(),
}).strict()

/** JSON-able copy; `last` is null before the first sample (JSON has no -Infinity). */
export function toSnapshot (s: State): unknown {
  const h = s.h
  const { usual, quiet, days } = tables(s)
  // The keys in the order they have always had.
  return {
    hour: h.hour, kwh: h.acc, cov: h.cov, last: Number.isFinite(h.last) ? h.last : null, usual, quiet, days,
    day: s.day, daySeen: s.daySeen, dayQuiet: s.dayQuiet, dayLived: s.dayLived, prevHour: s.prevHour, prevExcess: s.prevExcess, prevRatio: s.prevRatio, prev2Excess: s.prev2Excess,
    scale: s.scale, awayFrom: s.awayFrom, awayUntil: s.awayUntil, ep: s.ep && { ...s.ep },
  }
}

/**
 * Parses a snapshot into a new state for subject number i on hour record `hour` (a loc), whose
 * bucket it restores only when later than what the record holds (restoreHour: inactivity's exact
 * kWh wins a tie); points cursor `s` at it and returns its place's loc. Throws a TypeError naming
 * what is wrong (before anything changes). `nightOf` derives the usual night.
 */
export function fromSnapshot (raw: unknown, s: State, i: number, hour: number, nightOf: (s: State) => number): number {
  const { hour: at, kwh, acc, cov, last, ...v } = parseSnapshot('night_load', StateSchema, raw)
  const loc = freshState(s, i, hour)
  restoreHour(s.h, { hour: at, acc: kwh ?? (acc ?? 0) / 1000, cov, fill: 0, last: last ?? -Infinity }, false)
  const { usual, quiet, days, ep, ...fields } = v
  // The scalars through their accessors (Object.assign sets, it does not define).
  Object.assign(s, fields)
  s.ep = ep && { ...ep }
  for (let d = 0; d < 24; d++) { setUsual(s, d, usual[d]!); setQuiet(s, d, quiet[d]!); setDays(s, d, days[d]!) }
  s.night = nightOf(s)
  return loc
}
