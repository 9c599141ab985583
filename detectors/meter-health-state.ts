/**
 * Per-device state of the meter-health detector: a flat record of numbers, so that it is its own
 * short JSON snapshot and a restored detector is bit-identical to the original. Times are event
 * time (epoch ms) unless named otherwise; -1 means "none" (no real reading is that old).
 */
import { z } from 'zod'
import { parseSnapshot } from './types.ts'
import { EMPTY_CHUNK, RareRecords, wordOf, type Chunk, type Slab } from './slab.ts'

import { HOUR } from './hours.ts'

export { HOUR }

/** Fault levels of the open meter_fault episode. */
export const NO_FAULT = 0
/** One register reset: a meter swap, information only. */
export const INFO = 1
/** Repeated resets or an implausible jump: a faulty register. */
export const FAULT = 2

/**
 * A device's numbers lie in a place of a chunk shared with other devices (slab.ts Slab.place(); the
 * detector's own slab), known by its loc, read through a cursor (Device: one object a detector
 * reuses, pointed at a device by at(); no object per device: it cost 56 bytes). Each number is a
 * property of Device (an accessor): from `c.f64[b]` F64 times and durations (exact for any number:
 * an object's field holding a fraction or an epoch time would cost its slot and a 16-byte box),
 * then in 32-bit integers the device's number (its id and subject in Devices' lists) and, in one,
 * BITS (the fault level, the unit, `live`, whether the device has a rare record) below the count of
 * powered zero readings (16 bits: at most 65,535). The six epoch times that are -1 ("none") on most
 * devices most of the time (the start of a zero run, the last register reset, the open episodes')
 * are in a record of their own (RARE Float64s, in Devices' `rare` by device number) made the first
 * time one of them is set.
 */
const LAST = 0, CADENCE = 1, LAG = 2, LEARNED = 3, ZERO_MS = 4, LONGEST_ZERO = 5, MIN_POS = 6, TICK_LAST = 7, STEP = 8, F64 = 9
const NO = 0, BITS = 1, BYTES = 8 * F64 + 4 * 2
/** In BITS: the fault level (2 bits), then flags; the powered count above POWERED_SHIFT. */
const LEVEL = 3, M3 = 4, LIVE = 8, HAS_RARE = 16, POWERED_SHIFT = 16, MAX_POWERED = 0xffff
/** In the rare record: */
const ZERO_FROM = 0, LAST_RESET = 1, FAULT_FROM = 2, FAULT_UNTIL = 3, OFFLINE = 4, STUCK = 5, RARE = 6

/** A detector's devices: where their numbers lie, and by device number their ids, subjects and rare records. */
export class Devices {
  readonly id: string[] = []
  readonly subject: string[] = []
  readonly rare = new RareRecords(RARE, -1)
  constructor (readonly slab: Slab) {}
}

export class Device {
  c: Chunk = EMPTY_CHUNK
  b = 0
  /** Where BITS is in the 32-bit view. */
  k = 0
  /** The device's number (Devices' lists) and place (slab.ts loc). */
  no = -1
  loc = -1
  /** Its rare record (null none), found once by at(). */
  private r: Float64Array | null = null

  constructor (readonly all: Devices) {}

  /** Points this cursor at the device in place `loc`. */
  at (loc: number): this {
    const c = this.all.slab.chunkOf(loc), b = wordOf(loc)
    const k = 2 * (b + F64) + BITS, no = c.i32[2 * (b + F64) + NO]!
    this.c = c; this.b = b; this.loc = loc; this.k = k; this.no = no
    this.r = (c.i32[k]! & HAS_RARE) === 0 ? null : this.all.rare.get(no)!
    return this
  }

  /** Its id, and the subject it meters. */
  get id (): string { return this.all.id[this.no]! }
  get subject (): string { return this.all.subject[this.no]! }

  private get bits () { return this.c.i32[this.k]! }
  private set bits (x: number) { this.c.i32[this.k] = x }
  /** Rare number k: -1 unless set. */
  private rareOf (k: number): number { const r = this.r; return r === null ? -1 : r[k]! }
  private setRare (k: number, x: number) {
    let r = this.r
    if (r === null) {
      if (x === -1) return
      r = this.r = this.all.rare.make(this.no); this.bits |= HAS_RARE
    }
    r[k] = x
  }

  /** What it meters. */
  get unit (): 'kwh' | 'm3' { return (this.bits & M3) !== 0 ? 'm3' : 'kwh' }
  set unit (x: 'kwh' | 'm3') { this.bits = x === 'm3' ? this.bits | M3 : this.bits & ~M3 }
  /** Its data arrived close to the wall clock when it last advanced. */
  get live (): boolean { return (this.bits & LIVE) !== 0 }
  set live (x: boolean) { this.bits = x ? this.bits | LIVE : this.bits & ~LIVE }
  /** Latest event time taken; later samples only. */
  get last () { return this.c.f64[this.b + LAST]! }
  set last (x: number) { this.c.f64[this.b + LAST] = x }
  /** Usual interval between samples, ms. */
  get cadence () { return this.c.f64[this.b + CADENCE]! }
  set cadence (x: number) { this.c.f64[this.b + CADENCE] = x }
  /** How far behind the data clock this device usually is when its data arrives, ms (peak, slowly decaying). */
  get lag () { return this.c.f64[this.b + LAG]! }
  set lag (x: number) { this.c.f64[this.b + LAG] = x }
  /** Healthy metered time learned from, ms ... */
  get learned () { return this.c.f64[this.b + LEARNED]! }
  set learned (x: number) { this.c.f64[this.b + LEARNED] = x }
  /** ... of which in runs of exactly zero, ms. */
  get zeroMs () { return this.c.f64[this.b + ZERO_MS]! }
  set zeroMs (x: number) { this.c.f64[this.b + ZERO_MS] = x }
  /** Longest healthy run of exactly zero, ms. */
  get longestZero () { return this.c.f64[this.b + LONGEST_ZERO]! }
  set longestZero (x: number) { this.c.f64[this.b + LONGEST_ZERO] = x }
  /** Start of the current run of exactly zero; -1 none. */
  get zeroFrom () { return this.rareOf(ZERO_FROM) }
  set zeroFrom (x: number) { this.setRare(ZERO_FROM, x) }
  /** Smallest positive amount seen: an upper bound on the register's resolution; 0 unknown. */
  get minPos () { return this.c.f64[this.b + MIN_POS]! }
  set minPos (x: number) { this.c.f64[this.b + MIN_POS] = x }
  /** Event time of the last register reset; -1 none. */
  get lastReset () { return this.rareOf(LAST_RESET) }
  set lastReset (x: number) { this.setRare(LAST_RESET, x) }
  /** Open meter_fault episode: when it began, and the event time it holds until (its level: faultLevel). */
  get faultFrom () { return this.rareOf(FAULT_FROM) }
  set faultFrom (x: number) { this.setRare(FAULT_FROM, x) }
  get faultUntil () { return this.rareOf(FAULT_UNTIL) }
  set faultUntil (x: number) { this.setRare(FAULT_UNTIL, x) }
  /** Wall-clock judgement: `last` when the previous tick saw this device advance. */
  get tickLast () { return this.c.f64[this.b + TICK_LAST]! }
  set tickLast (x: number) { this.c.f64[this.b + TICK_LAST] = x }
  /** Usual advance of `last` between ticks, ms: the upload cadence (a day for a concentrator). */
  get step () { return this.c.f64[this.b + STEP]! }
  set step (x: number) { this.c.f64[this.b + STEP] = x }
  /** Open meter_offline episode: when data stopped; -1 none. */
  get offline () { return this.rareOf(OFFLINE) }
  set offline (x: number) { this.setRare(OFFLINE, x) }
  /** Open meter_stuck episode: when the register stopped; -1 none. */
  get stuck () { return this.rareOf(STUCK) }
  set stuck (x: number) { this.setRare(STUCK, x) }
  /** Readings in the current run of exactly zero whose reported power should have moved the register. */
  get powered () { return this.bits >>> POWERED_SHIFT }
  set powered (x: number) { const b = this.bits; if (b >>> POWERED_SHIFT !== x) this.bits = (b & ((1 << POWERED_SHIFT) - 1)) | Math.min(x, MAX_POWERED) << POWERED_SHIFT }
  /** The open meter_fault episode's level (NO_FAULT none). */
  get faultLevel () { return this.bits & LEVEL }
  set faultLevel (x: number) { this.bits = (this.bits & ~LEVEL) | (x & LEVEL) }
}

/** A new device, its numbers in a place of the devices' slab: points cursor `d` at it (returned; its loc is d.loc). */
export function freshDevice (d: Device, id: string, subject: string, unit: 'kwh' | 'm3', ts: number, intervalMs: number): Device {
  const all = d.all, p = all.slab.place(BYTES), no = all.id.length
  all.id.push(id); all.subject.push(subject)
  p.chunk.i32[2 * (p.byte / 8 + F64) + NO] = no; p.chunk.i32[2 * (p.byte / 8 + F64) + BITS] = 0
  d.at(p.loc)
  d.unit = unit
  d.last = -1; d.cadence = intervalMs; d.lag = 0; d.learned = 0; d.zeroMs = 0; d.longestZero = 0; d.zeroFrom = -1; d.powered = 0; d.minPos = 0
  d.lastReset = -1; d.faultLevel = NO_FAULT; d.faultFrom = -1; d.faultUntil = -1; d.tickLast = ts - intervalMs; d.step = 0; d.live = false; d.offline = -1; d.stuck = -1
  return d
}

/** Drops what a device forgotten by its detector held beside its place (its id, subject and rare record); its place goes with the slab. */
export function dropDevice (d: Device) {
  const all = d.all
  all.rare.delete(d.no); all.id[d.no] = ''; all.subject[d.no] = ''
}

/** An open episode of any kind: the device's data is not to be read as the household's behaviour. */
export const hasEpisode = (d: Device) => d.offline >= 0 || d.stuck >= 0 || d.faultLevel !== NO_FAULT

const time = z.number().finite().min(-1)
const ms = z.number().finite().nonnegative()
const DeviceSchema = z.object({
  id: z.string().min(1),
  unit: z.enum(['kwh', 'm3']),
  last: time,
  cadence: z.number().finite().positive(),
  lag: ms,
  learned: ms,
  zeroMs: ms,
  longestZero: ms,
  zeroFrom: time,
  powered: z.number().int().nonnegative().max(MAX_POWERED),
  minPos: ms,
  lastReset: time,
  faultLevel: z.union([z.literal(NO_FAULT), z.literal(INFO), z.literal(FAULT)]),
  faultFrom: time,
  faultUntil: time,
  tickLast: z.number().finite(),
  step: ms,
  live: z.boolean(),
  offline: time,
  stuck: time,
}).refine((d) => d.zeroMs <= d.learned, 'zeroMs exceeds learned')
const SubjectSchema = z.object({ devices: z.array(DeviceSchema).min(1).max(16) })
  .refine((s) => new Set(s.devices.map((d) => d.id)).size === s.devices.length, 'device ids repeat')

/** One subject's devices (their locs, read through cursor `d`) as JSON. */
export function toSnapshot (d: Device, devices: readonly number[]): unknown {
  // The keys in the order they have always had; the subject is implied.
  return {
    devices: devices.map((loc) => (d.at(loc), {
      id: d.id, unit: d.unit, last: d.last, cadence: d.cadence, lag: d.lag, learned: d.learned, zeroMs: d.zeroMs, longestZero: d.longestZero, zeroFrom: d.zeroFrom,
      powered: d.powered, minPos: d.minPos, lastReset: d.lastReset, faultLevel: d.faultLevel, faultFrom: d.faultFrom, faultUntil: d.faultUntil, tickLast: d.tickLast,
      step: d.step, live: d.live, offline: d.offline, stuck: d.stuck,
    })),
  }
}

/** Parses a subject's snapshot into new devices (read through cursor `d`): their locs. Throws a TypeError naming what is wrong (before anything changes). */
export function fromSnapshot (d: Device, subject: string, raw: unknown): number[] {
  const data = parseSnapshot('meter-health', SubjectSchema, raw)
  // The numbers through their accessors (Object.assign sets, it does not define); id and unit as made.
  return data.devices.map(({ id, unit, ...v }) => Object.assign(freshDevice(d, id, subject, unit, 0, 1), v).loc)
}
