/**
 * A lone elder's electricity by local hour, kept once per subject for the detectors that judge it
 * (inactivity and night load): each sample is spread into it once (hours.ts), and what it closed is
 * handed to each detector in turn.
 *
 * Each detector's per-subject state holds a reference to its subject's record (`State.h`). Built
 * alone, a detector owns its records; in the set, createDetectors gives both one ElectricityHours,
 * whose subjects share a record: a detector making a subject's state takes the record another one
 * already holds for it (of(), through the detectors' own maps: no map of records). A sample is fed by whichever detector sees it first; the other,
 * feeding the same sample object for the same record, is handed what the first feed did (feed()),
 * so nothing is spread or taken twice. Rental (15-minute slots) and water (m3) keep their own
 * buckets: another series, another unit.
 *
 * Snapshots: each detector still writes the record's fields (hour, acc, cov, last; inactivity also
 * fill) into its own snapshot, as before. Restoring either fills the record (restoreHour) unless it
 * already holds a later sample; on a tie inactivity's wins (its acc is the exact kWh; night load's
 * snapshot says Wh), so the order snapshots are restored in does not matter.
 */
import { HOUR, bucketOf, spread } from './hours.ts'
import { Slab, wordOf } from './slab.ts'

const HOUR_ = 0, ACC = 1, COV = 2, FILL = 3, LAST = 4

/**
 * The local hour being filled. Its numbers lie in a place of a chunk shared with other subjects
 * (slab.ts Slab.place()), Float64 from `f[b]` (exact for any number), each a property (an accessor):
 * an object's field holding a fraction or an epoch time would cost its slot and a 16-byte box.
 * An HourRecord is a cursor: one object a detector reuses for every subject, pointed at a
 * subject's record by at() (the record is its place's loc in `slab`, its ElectricityHours' one: no
 * object per subject).
 */
export class HourRecord {
  f: Float64Array = NOWHERE
  b = 0
  /** The record it points at (slab.ts loc; -1 none yet). */
  loc = -1

  constructor (readonly slab: Slab) {}

  /** Points this cursor at record `loc`. */
  at (loc: number): this {
    this.loc = loc; this.f = this.slab.chunkOf(loc).f64; this.b = wordOf(loc)
    return this
  }

  /** Local hour index (hours since epoch on the local clock) being filled; -1 before the first sample. */
  get hour () { return this.f[this.b + HOUR_]! }
  set hour (x: number) { this.f[this.b + HOUR_] = x }
  /** kWh in that hour so far (exact: no rounding per add). */
  get acc () { return this.f[this.b + ACC]! }
  set acc (x: number) { this.f[this.b + ACC] = x }
  /** ms of that hour covered by samples. */
  get cov () { return this.f[this.b + COV]! }
  set cov (x: number) { this.f[this.b + COV] = x }
  /** ms of that covered by samples spanning more than an hour (a meter gap spread out). */
  get fill () { return this.f[this.b + FILL]! }
  set fill (x: number) { this.f[this.b + FILL] = x }
  /** Event time up to which samples have been taken; anything older is late or repeated. */
  get last () { return this.f[this.b + LAST]! }
  set last (x: number) { this.f[this.b + LAST] = x }
}

const NOWHERE = new Float64Array(5)

/** A new record in `slab`, empty: its loc. */
function freshHour (slab: Slab): number {
  const p = slab.place(40), f = p.chunk.f64, b = p.byte / 8
  f[b + HOUR_] = -1; f[b + ACC] = 0; f[b + COV] = 0; f[b + FILL] = 0; f[b + LAST] = -Infinity
  return p.loc
}

/** What one feed did. Read it before the next feed of the same ElectricityHours. */
export interface Fed {
  /** The feed's number: a detector that has consumed it passes it back (feed's `seen`). */
  seq: number
  /** Something new was taken (false: a late or repeated sample; nothing below is set). */
  fresh: boolean
  /** The part of the sample taken: [start, end), event time. */
  start: number
  end: number
  /** The sample spanned more than maxSpanMs: a data gap, not spread. The hour then being filled was closed (closes[0]) and the sample's end hour opened, empty. */
  gap: boolean
  /** Hours closed by the sample, in order: n of them, 4 numbers each (hour, kWh, covered ms, gap-filled ms); hour -1 when nothing was being filled. */
  n: number
  closes: Float64Array
}

export interface ElectricityHours {
  /** Where its records lie; the detectors given this cut their states from it too (one slab a set, freed with it). */
  readonly slab: Slab
  readonly offsetMs: number
  readonly maxSpanMs: number
  /** The subject's record (its loc): shared, the one a detector given this already holds for the subject (hold()); else a new one. */
  of (subjectId: string): number
  /** A detector given this says how to find the record its state holds for a subject (its loc; -1 none). */
  hold (lookup: (subjectId: string) => number): void
  /**
   * Spreads sample (end, intervalMs, kWh) into `rec`. A detector passes the `seq` of the last feed
   * it consumed: when the same sample object was just fed for the same record by another
   * detector, that feed is handed back instead of spreading again.
   */
  feed (rec: HourRecord, c: { ts: number, intervalMs: number, amount: number }, seen: number): Fed
}

/** The most Wh an hour is remembered as by the detectors that keep hours (16 bits; 32.8 kW held for the hour, past any home's main fuse). */
export const MAX_WH = 0x7fff

/** A closed hour's numbers in `closes`. */
export const CLOSE = 4

/**
 * Records for one set of detectors. `shared`: one record per subject for every detector given this
 * (found through what the detectors hold); else each of() is a detector's own.
 */
export function createElectricityHours (offsetMs: number, maxSpanMs: number, shared: boolean): ElectricityHours {
  const slab = new Slab()
  const holders: ((subjectId: string) => number)[] = []
  const fed: Fed = { seq: 0, fresh: false, start: 0, end: 0, gap: false, n: 0, closes: new Float64Array(64 * CLOSE) }
  let sample: object | null = null
  let fedRec = -1

  function push (rec: HourRecord) {
    if (fed.n * CLOSE === fed.closes.length) {
      const more = new Float64Array(fed.closes.length * 2)
      more.set(fed.closes); fed.closes = more
    }
    const i = fed.n++ * CLOSE, c = fed.closes
    c[i] = rec.hour; c[i + 1] = rec.acc; c[i + 2] = rec.cov; c[i + 3] = rec.fill
  }

  const open = (rec: HourRecord, h: number) => { rec.hour = h; rec.acc = 0; rec.cov = 0; rec.fill = 0 }

  const hours = {
    size: HOUR,
    offsetMs,
    start: 0,
    end: 0,
    /** The sample being spread: kWh per ms, and whether it spans more than an hour. */
    rate: 0,
    long: false,
    move (rec: HourRecord, h: number) {
      push(rec)
      open(rec, h)
      return null
    },
    add (rec: HourRecord, dt: number) {
      rec.acc += this.rate * dt; rec.cov += dt
      if (this.long) rec.fill += dt
    },
  }

  return {
    slab,
    offsetMs,
    maxSpanMs,
    of (subjectId) {
      if (shared) for (const held of holders) { const r = held(subjectId); if (r >= 0) return r }
      return freshHour(slab)
    },
    hold (lookup) { holders.push(lookup) },
    feed (rec, c, seen) {
      if (c === sample && rec.loc === fedRec && seen !== fed.seq) return fed
      sample = c; fedRec = rec.loc
      fed.seq++; fed.n = 0; fed.gap = false
      // take() and inside() (hours.ts) written out: a number passed to a function that is not inlined is boxed (16 bytes a call).
      const end = c.ts
      if (end <= rec.last) { fed.fresh = false; return fed }
      fed.fresh = true
      let start = end - c.intervalMs, amount = c.amount
      const was = rec.last
      if (start < was) { amount *= (end - was) / (end - start); start = was }
      rec.last = end
      fed.start = start; fed.end = end
      if (end - start > maxSpanMs) {
        push(rec)
        open(rec, bucketOf(hours, end))
        fed.gap = true
        return fed
      }
      hours.start = start; hours.end = end; hours.rate = amount / (end - start); hours.long = end - start > HOUR
      const filling = rec.hour, from = filling * HOUR - offsetMs
      if (filling >= 0 && start >= from && end < from + HOUR) hours.add(rec, end - start)
      else spread(hours, rec, filling)
      return fed
    },
  }
}

/** The records a detector uses: `given` (the set's shared ones), which must keep its clock and maxSpanMs; else its own. */
export function ownHours (detector: string, given: ElectricityHours | undefined, offsetMs: number, maxSpanMs: number): ElectricityHours {
  if (given === undefined) return createElectricityHours(offsetMs, maxSpanMs, false)
  if (given.offsetMs !== offsetMs || given.maxSpanMs !== maxSpanMs) throw new RangeError(`${detector}: the shared electricity hours must have this detector's utcOffsetHours and maxSpanHours`)
  return given
}

/** A snapshot's bucket, kWh. */
export interface SavedHour { hour: number, acc: number, cov: number, fill: number, last: number }

/**
 * Restores a snapshot's bucket into the record unless the record holds a later sample; `wins`:
 * also on a tie (the exact kWh of inactivity's snapshot over night load's Wh).
 */
export function restoreHour (rec: HourRecord, b: SavedHour, wins: boolean) {
  if (b.last < rec.last || (b.last === rec.last && !wins)) return
  rec.hour = b.hour; rec.acc = b.acc; rec.cov = b.cov; rec.fill = b.fill; rec.last = b.last
}
