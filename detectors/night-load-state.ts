/**
 * Per-subject state of the night-load detector: plain numbers and three 24-entry tables of small
 * integers kept in a shared chunk (slab.ts place(): no typed array of their own, 216 bytes), so
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
import { place } from './slab.ts'
import { restoreHour, type HourRecord } from './electricity-hours.ts'

export const HOUR = 3_600_000
/** Most days of habits a mask can hold. */
export const MAX_WINDOW = 30

export type { Episode }

export interface State {
  /** The subject's electricity by local hour (electricity-hours.ts; shared with inactivity in the set): the hour being filled, its exact kWh and ms covered, the last sample taken. Snapshotted as this state's hour, acc (Wh), cov and last. */
  h: HourRecord
  /**
   * The subject's tables, in a chunk shared with other subjects (slab.ts): from `m[at]`, per hour of
   * day, the usual energy, a low level tracked from below (whole Wh; -1 unknown: usualOf()); from
   * `m[at + 24]` a bit i set when that hour was at about standby on the i-th latest learned day (at
   * most MAX_WINDOW bits: quietOf()); from byte `4 * (at + 48)` of the chunk (`m8`) how many days of
   * those bits are learned (daysOf()).
   */
  m: Int32Array
  m8: Uint8Array
  at: number
  /** Local day index whose hours are being collected (-1 none), its hours seen and hours at standby (24-bit masks), and 1 once it showed someone home. */
  day: number
  daySeen: number
  dayQuiet: number
  dayLived: number
  /** The last closed hour (-1: none, or the run of hours broken): its excess over usual, Wh, that over the threshold (0 unless usually night), and the hour before's excess. */
  prevHour: number
  prevExcess: number
  prevRatio: number
  prev2Excess: number
  /** Threshold multiplier: 1 as configured; false alarms raise it. */
  scale: number
  /** Event-time window (awayFrom, awayUntil] the person said they were away: those days teach nothing about their night. */
  awayFrom: number
  awayUntil: number
  ep: Episode | null
  /** Derived from quiet and days, not snapshotted: bit d set when hour-of-day d is usually night. */
  night: number
}

const QUIET = 24, DAYS = 48
/** Bytes of a subject's tables: 24 int32 usual, 24 int32 quiet, 24 uint8 days. */
const BYTES = 4 * DAYS + 24

export const usualOf = (s: State, d: number) => s.m[s.at + d]!
export const setUsual = (s: State, d: number, wh: number) => { s.m[s.at + d] = wh }
export const quietOf = (s: State, d: number) => s.m[s.at + QUIET + d]!
export const setQuiet = (s: State, d: number, bits: number) => { s.m[s.at + QUIET + d] = bits }
export const daysOf = (s: State, d: number) => s.m8[4 * (s.at + DAYS) + d]!
export const setDays = (s: State, d: number, n: number) => { s.m8[4 * (s.at + DAYS) + d] = n }

/** The tables as plain arrays (snapshots, tests). */
export const tables = (s: State) => ({
  usual: Array.from(s.m.subarray(s.at, s.at + 24)),
  quiet: Array.from(s.m.subarray(s.at + QUIET, s.at + QUIET + 24)),
  days: Array.from(s.m8.subarray(4 * (s.at + DAYS), 4 * (s.at + DAYS) + 24)),
})

export function freshState (h: HourRecord): State {
  const p = place(BYTES), at = p.byte / 4
  p.chunk.i32.fill(-1, at, at + 24)
  return {
    h,
    m: p.chunk.i32, m8: p.chunk.u8, at,
    day: -1, daySeen: 0, dayQuiet: 0, dayLived: 0, prevHour: -1, prevExcess: 0, prevRatio: 0, prev2Excess: 0, scale: 1, awayFrom: 0, awayUntil: 0, ep: null, night: 0,
  }
}

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
  const { h, night: _derived, ...rest } = s
  const { m: _m, m8: _m8, at: _at, ...fields } = rest
  const { usual, quiet, days } = tables(s)
  // The keys in the order they have always had.
  return { hour: h.hour, kwh: h.acc, cov: h.cov, last: Number.isFinite(h.last) ? h.last : null, usual, quiet, days, ...fields, ep: s.ep && { ...s.ep } }
}

/**
 * Parses a snapshot into a state on record `h`, whose bucket it restores only when later than what
 * `h` holds (restoreHour: inactivity's exact kWh wins a tie); throws a TypeError naming what is
 * wrong. `nightOf` derives the usual night.
 */
export function fromSnapshot (raw: unknown, h: HourRecord, nightOf: (s: State) => number): State {
  const { hour, kwh, acc, cov, last, ...v } = parseSnapshot('night_load', StateSchema, raw)
  restoreHour(h, { hour, acc: kwh ?? (acc ?? 0) / 1000, cov, fill: 0, last: last ?? -Infinity }, false)
  const { usual, quiet, days, ...fields } = v
  const s: State = Object.assign(freshState(h), fields, { ep: v.ep && { ...v.ep } })
  for (let d = 0; d < 24; d++) { setUsual(s, d, usual[d]!); setQuiet(s, d, quiet[d]!); setDays(s, d, days[d]!) }
  s.night = nightOf(s)
  return s
}
