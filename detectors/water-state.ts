/**
 * Per-subject state of the water detector: plain numbers and two 24-entry arrays of day bit
 * masks, so that the state is its own short JSON snapshot and a restored detector is
 * bit-identical to the original.
 *
 * How often a person uses water in each local hour of the day is kept as bits: bit 0 of
 * `used[d]` is whether hour-of-day d of the latest learned day had use, bit 1 the day before, up
 * to DAYS days; `known[d]` says which of those days had data for that hour. Exact over a sliding
 * window, O(1) to update, and 2 x 24 small integers to store.
 */
import { z } from 'zod'
import { Severity as SeveritySchema } from '../vocab/index.ts'
import { parseSnapshot, type Episode } from './types.ts'

export const HOUR = 3_600_000
/** Days of history kept per hour of day (bits in a mask). */
export const DAYS = 14
export const WINDOW = (1 << DAYS) - 1

export type { Episode }

export interface State {
  /** Local hour index (hours since epoch on the local clock) being filled; -1 before the first sample. */
  hour: number
  /** Litres in that hour so far, and ms of it covered by samples. */
  acc: number
  cov: number
  /** 1 when a sample in the hour showed use; 2 when use was seen only spread over a long gap (hour not judged). */
  mark: number
  /** Event time up to which samples have been taken; anything older is late or repeated. */
  last: number
  /** Hours learned from. */
  n: number
  used: number[]
  known: number[]
  /** Litres per hour that flow anyway (the quietest hour of the last night): a leak is not use. */
  floor: number
  /** The quietest covered hour of the current night so far, litres (-1: none yet). */
  nightMin: number
  /** Event time since which no sample has shown use (-1: no data yet). */
  quietSince: number
  /** Evidence of the current quiet run: sum over its hours of -ln(chance of no use in that hour). */
  surprise: number
  /** Usual use-hours (sum of each quiet hour's chance of use) the run has gone without. */
  missed: number
  /** The current run of continuous flow: its start (-1: none), the end of its last sample with flow, its litres, and ms and litres of it at night. */
  flowSince: number
  lastFlow: number
  flowL: number
  flowNightMs: number
  flowNightL: number
  /** The current run of samples every one of which had flow (-1: none), and ms of it at night. */
  steadySince: number
  steadyNightMs: number
  /** 1 = as configured; false alarms lower it. */
  sens: number
  /** Event-time window (awayFrom, awayUntil] in which quiet is expected: away, told or declared ahead. */
  awayFrom: number
  awayUntil: number
  ep: Episode | null
  leak: Episode | null
}

export function freshState (): State {
  return {
    hour: -1, acc: 0, cov: 0, mark: 0, last: -Infinity, n: 0,
    used: new Array<number>(24).fill(0), known: new Array<number>(24).fill(0), floor: 0, nightMin: -1,
    quietSince: -1, surprise: 0, missed: 0, flowSince: -1, lastFlow: -1, flowL: 0, flowNightMs: 0, flowNightL: 0, steadySince: -1, steadyNightMs: 0,
    sens: 1, awayFrom: 0, awayUntil: 0, ep: null, leak: null,
  }
}

/** Number of set bits of a 32-bit integer. */
export function bits (x: number): number {
  x -= (x >>> 1) & 0x55555555
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333)
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24
}

const num = z.number().finite()
const mask = z.number().int().min(0).max(WINDOW)
const episode = z.object({ startedAt: num, raisedAt: num, severity: SeveritySchema, muted: z.boolean() }).nullable()
const StateSchema = z.object({
  hour: z.number().int().min(-1),
  acc: num.nonnegative(),
  cov: num.nonnegative(),
  mark: z.number().int().min(0).max(3),
  last: num.nullable(),
  n: z.number().int().nonnegative(),
  used: z.array(mask).length(24),
  known: z.array(mask).length(24),
  floor: num.nonnegative(),
  nightMin: num.min(-1),
  quietSince: num,
  surprise: num.nonnegative(),
  missed: num.nonnegative(),
  flowSince: num,
  lastFlow: num,
  flowL: num.nonnegative(),
  flowNightMs: num.nonnegative(),
  flowNightL: num.nonnegative(),
  steadySince: num,
  steadyNightMs: num.nonnegative(),
  sens: z.number().positive().max(1),
  awayFrom: num,
  awayUntil: num,
  ep: episode,
  leak: episode,
})

/** JSON-able copy; `last` is null before the first sample (JSON has no -Infinity). */
export function toSnapshot (s: State): unknown {
  return { ...s, last: Number.isFinite(s.last) ? s.last : null, used: [...s.used], known: [...s.known], ep: s.ep && { ...s.ep }, leak: s.leak && { ...s.leak } }
}

/** Parses a snapshot; throws a TypeError naming what is wrong. */
export function fromSnapshot (raw: unknown): State {
  const v = parseSnapshot('water', StateSchema, raw)
  return { ...v, last: v.last ?? -Infinity, used: [...v.used], known: [...v.known], ep: v.ep && { ...v.ep }, leak: v.leak && { ...v.leak } }
}
