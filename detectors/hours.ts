/**
 * Spreading samples over buckets of the local clock (hours for inactivity, night load and water,
 * 15-minute slots for rental): the one copy of the loop every bucketed detector uses, and of the
 * rule that takes only what a sample adds after the last one taken.
 *
 * A sample covers (ts - intervalMs, ts]; it is spread evenly, by event time only, over the
 * buckets it overlaps, so a replay at any speed gives the same buckets. Each time the sample
 * crosses into a bucket other than the one being filled, the detector's `move` closes that one
 * (judges and learns from it) and opens the next; a sample ending exactly on a bucket's end
 * closes it there, so an hour is judged as soon as its last reading is in.
 */
import { mergeVerdicts } from './types.ts'

export const HOUR = 3_600_000

/** What take() found new in a sample: its start (ms) and amount, scaled down when it overlaps what was taken. Read before the next call. */
export const taken = { start: 0, amount: 0 }

/**
 * Takes the part of a sample ending at `end` that lies after `s.last` (anything older is late or
 * repeated): false when nothing is new; else sets `taken` and moves `s.last` to `end`. `amount`
 * is in the detector's own unit, converted before the call (the scaling is then exactly the
 * detector's own).
 */
export function take (s: { last: number }, end: number, intervalMs: number, amount: number): boolean {
  if (end <= s.last) return false
  let start = end - intervalMs
  if (start < s.last) { amount *= (end - s.last) / (end - start); start = s.last }
  taken.start = start; taken.amount = amount
  s.last = end
  return true
}

/** A detector's buckets: their length and clock, the sample being spread, and what it does as it is spread. */
export interface Spreader<S, V> {
  /** Bucket length, ms, and the local clock's offset from UTC, ms. */
  readonly size: number
  readonly offsetMs: number
  /** The part of the sample to spread, [start, end), event time: fields, not arguments, so that a call boxes no number. */
  start: number
  end: number
  /** Closes the bucket being filled, if any, at event time `at`, and opens bucket k; what the detector says of the one closed. */
  move (s: S, k: number, at: number): V | null
  /** Adds dt ms of the sample to the open bucket. */
  add (s: S, dt: number): void
}

/** Local bucket index of event time t. */
export const bucketOf = (sp: { size: number, offsetMs: number }, t: number) => Math.floor((t + sp.offsetMs) / sp.size)

/** Event time bucket k starts at. */
export const bucketStart = (sp: { size: number, offsetMs: number }, k: number) => k * sp.size - sp.offsetMs

/**
 * The sample [start, end) lies inside bucket `open` and ends before its end: the common case (three
 * 15-minute readings of four), in which the detector adds it itself (`sp.add(s, end - start)`) and
 * nothing closes. spread() does the rest; it is shared by every bucketed detector, so its calls
 * to `move` and `add` see several detectors, while the detector's own call to `add` sees one.
 */
export const inside = (sp: { size: number, offsetMs: number }, open: number, start: number, end: number) =>
  open >= 0 && start >= bucketStart(sp, open) && end < bucketStart(sp, open + 1)

/**
 * Spreads [sp.start, sp.end) over the buckets it overlaps; a bucket ending exactly at the end is
 * closed then. `open` is the bucket being filled (buckets since the epoch on the local clock; -1 none).
 * Returns `out` (what the sample said before) merged in turn with what each close says
 * (mergeVerdicts). After it, `end === bucketStart(sp, <the bucket being filled>)` says the sample
 * ended on a bucket's end and closed it.
 */
export function spread<S, V extends { phase: 'raise' | 'update' | 'clear' }> (sp: Spreader<S, V>, s: S, open: number, out: V | null = null): V | null {
  const end = sp.end
  let k = open
  for (let t = sp.start; t < end;) {
    const was = k
    k = bucketOf(sp, t)
    if (k !== was) out = mergeVerdicts(out, sp.move(s, k, end))
    const segEnd = Math.min(end, bucketStart(sp, k + 1))
    sp.add(s, segEnd - t)
    t = segEnd
  }
  if (end === bucketStart(sp, k + 1)) out = mergeVerdicts(out, sp.move(s, k + 1, end))
  return out
}
