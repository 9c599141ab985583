/**
 * Per-subject state of the night-load detector: a dozen numbers and two 24-entry tables of small
 * integers, all kept in a shared chunk (slab.ts Slab.place(): no typed array of their own, 152 bytes with
 * the hour record's loc and the flags; read through a cursor, no object per subject), so
 * that the state is its own short JSON snapshot (about 600 bytes) and a restored detector is
 * bit-identical to the original.
 *
 * The person's usual night is kept as day bit masks: bit 0 of `quiet[d]` is whether hour-of-day d
 * was at about standby on the latest learned day, bit 1 the day before, up to WINDOW days;
 * `days[d]` says how many of those bits are learned (quiet[d] never has a bit set past them). Both in
 * one 16-bit number an hour of day: quiet[d] with a 1 above it at bit days[d] (so days at most 15).
 * Exact over a sliding window, O(1) to update.
 * Which hours are usually night (`night`, 24 bits) is derived from them, not snapshotted.
 */
import { z } from 'zod'
import { Severity as SeveritySchema } from '../vocab/index.ts'
import { parseSnapshot, type Episode } from './types.ts'
import { EMPTY_CHUNK, RareRecords, wordOf, type Chunk, type Slab } from './slab.ts'
import { HourRecord, MAX_WH, restoreHour } from './electricity-hours.ts'

import { HOUR } from './hours.ts'

export { HOUR }
/** Most days of habits a mask can hold (16 bits, one of them the mark above the days). */
export const MAX_WINDOW = 15

export type { Episode }

/**
 * Where a subject's numbers lie in its place of a shared chunk (slab.ts Slab.place()): from byte 8 * b,
 * F64 scalars that may hold fractions (a Float64Array holds any number exactly; an object's field
 * would cost its slot and a 16-byte box); then I32 integer scalars (hour and day indices, 24-bit
 * masks; `night` with the flags above its 24 bits) from `at` = 2 * (b + F64) in the 32-bit view;
 * then per hour of day the usual energy (whole Wh, 16 bits: at most MAX_WH; -1 unknown: usualOf()),
 * and a bit i set when that hour was at about standby on the i-th latest learned day below a 1 at
 * bit days (16 bits: at most MAX_WINDOW days: quietOf(), daysOf()). The away window, two epoch
 * times that most subjects never set, is in `rare` by subject number once set (a flag says so).
 */
const PREV_EXCESS = 0, PREV_RATIO = 1, PREV2_EXCESS = 2, SCALE = 3, F64 = 4
const DAY = 0, DAY_SEEN = 1, DAY_QUIET = 2, PREV_HOUR = 3, NIGHT = 4, HOUR_AT = 5, I32 = 6
/** Flags, above night's 24 bits. */
const HAS_EP = 1 << 24, LIVED = 1 << 25, HAS_RARE = 1 << 26, NIGHT_BITS = 0xffffff
/** Byte offsets in the place of: the usual energy, the quiet bits and days learned; and the place's size. */
const USUAL = 8 * F64 + 4 * I32, QUIET = USUAL + 2 * 24, BYTES = QUIET + 2 * 24


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

  /** `slab`: where the detector's states and hour records lie (its ElectricityHours' slab); `eps` and `rare` by subject number. */
  constructor (readonly eps: Map<number, Episode>, readonly slab: Slab, readonly rare = new RareRecords(2, 0)) { this.h = new HourRecord(slab) }

  /** Points this cursor at subject number i, whose place is `loc`. */
  on (i: number, loc: number): this {
    const c = this.slab.chunkOf(loc), b = wordOf(loc), at = 2 * (b + F64)
    this.i = i; this.c = c; this.b = b; this.at = at
    this.h.at(c.i32[at + HOUR_AT]!)
    this.e = (c.i32[at + NIGHT]! & HAS_EP) === 0 ? null : this.eps.get(i)!
    return this
  }

  private flag (bit: number, on: boolean) {
    const k = this.at + NIGHT, i32 = this.c.i32
    i32[k] = on ? i32[k]! | bit : i32[k]! & ~bit
  }

  get ep (): Episode | null { return this.e }
  set ep (x: Episode | null) {
    this.e = x
    this.flag(HAS_EP, x !== null)
    if (x === null) this.eps.delete(this.i); else this.eps.set(this.i, x)
  }

  /** The away window's end k (0 from, 1 until): 0 unless set. */
  private rareOf (k: number): number { return (this.c.i32[this.at + NIGHT]! & HAS_RARE) === 0 ? 0 : this.rare.get(this.i)![k]! }
  private setRare (k: number, x: number) {
    let r = (this.c.i32[this.at + NIGHT]! & HAS_RARE) === 0 ? undefined : this.rare.get(this.i)
    if (r === undefined) {
      if (x === 0) return
      r = this.rare.make(this.i); this.flag(HAS_RARE, true)
    }
    r[k] = x
  }

  /** Local day index whose hours are being collected (-1 none), its hours seen and hours at standby (24-bit masks), and 1 once it showed someone home. */
  get day () { return this.c.i32[this.at + DAY]! }
  set day (x: number) { this.c.i32[this.at + DAY] = x }
  get daySeen () { return this.c.i32[this.at + DAY_SEEN]! }
  set daySeen (x: number) { this.c.i32[this.at + DAY_SEEN] = x }
  get dayQuiet () { return this.c.i32[this.at + DAY_QUIET]! }
  set dayQuiet (x: number) { this.c.i32[this.at + DAY_QUIET] = x }
  get dayLived () { return (this.c.i32[this.at + NIGHT]! & LIVED) === 0 ? 0 : 1 }
  set dayLived (x: number) { this.flag(LIVED, x !== 0) }
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
  get awayFrom () { return this.rareOf(0) }
  set awayFrom (x: number) { this.setRare(0, x) }
  get awayUntil () { return this.rareOf(1) }
  set awayUntil (x: number) { this.setRare(1, x) }
  /** Derived from quiet and days, not snapshotted: bit d set when hour-of-day d is usually night. */
  get night () { return this.c.i32[this.at + NIGHT]! & NIGHT_BITS }
  set night (x: number) { const k = this.at + NIGHT, i32 = this.c.i32; i32[k] = (i32[k]! & ~NIGHT_BITS) | (x & NIGHT_BITS) }
}

/** Usual Wh of hour-of-day d (-1 unknown); set at most MAX_WH. */
export const usualOf = (s: State, d: number) => s.c.i16[(8 * s.b + USUAL) / 2 + d]!
export const setUsual = (s: State, d: number, wh: number) => { s.c.i16[(8 * s.b + USUAL) / 2 + d] = Math.min(wh, MAX_WH) }
/** Hour-of-day d's quiet bits and days learned, one number: the bits below a 1 at bit days. */
const maskOf = (s: State, d: number) => s.c.u16[(8 * s.b + QUIET) / 2 + d]!
/** Hour-of-day d's days learned (at most MAX_WINDOW). */
export const daysOf = (s: State, d: number) => 31 - Math.clz32(maskOf(s, d))
/** Hour-of-day d's quiet bits: bit i, the i-th latest learned day. */
export const quietOf = (s: State, d: number) => maskOf(s, d) ^ 1 << daysOf(s, d)
/** Sets hour-of-day d's quiet bits (below bit `days`: what is above is dropped) and days learned (at most MAX_WINDOW). */
export const setNight = (s: State, d: number, bits: number, days: number) => { s.c.u16[(8 * s.b + QUIET) / 2 + d] = 1 << days | (bits & ((1 << days) - 1)) }

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
  s.eps.delete(i); s.rare.delete(i)
  s.on(i, p.loc)
  for (let d = 0; d < 24; d++) { setUsual(s, d, -1); setNight(s, d, 0, 0) }
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
  // No quiet bit past the days learned: this detector never keeps one (each learned day shifts one bit in).
  .refine((v) => v.quiet.every((q, d) => q < 2 ** v.days[d]!), { message: 'quiet bits past the days learned', path: ['quiet'] })

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
  for (let d = 0; d < 24; d++) { setUsual(s, d, usual[d]!); setNight(s, d, quiet[d]!, days[d]!) }
  s.night = nightOf(s)
  return loc
}
