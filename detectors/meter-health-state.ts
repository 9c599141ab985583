/**
 * Per-device state of the meter-health detector: a flat record of numbers, so that it is its own
 * short JSON snapshot and a restored detector is bit-identical to the original. Times are event
 * time (epoch ms) unless named otherwise; -1 means "none" (no real reading is that old).
 */
import { z } from 'zod'
import { parseSnapshot } from './types.ts'

export const HOUR = 3_600_000

/** Fault levels of the open meter_fault episode. */
export const NO_FAULT = 0
/** One register reset: a meter swap, information only. */
export const INFO = 1
/** Repeated resets or an implausible jump: a faulty register. */
export const FAULT = 2

export interface Device {
  readonly id: string
  subject: string
  unit: 'kwh' | 'm3'
  /** Latest event time taken; later samples only. */
  last: number
  /** Usual interval between samples, ms. */
  cadence: number
  /** How far behind the data clock this device usually is when its data arrives, ms (peak, slowly decaying). */
  lag: number
  /** Healthy metered time learned from, ms ... */
  learned: number
  /** ... of which in runs of exactly zero, ms. */
  zeroMs: number
  /** Longest healthy run of exactly zero, ms. */
  longestZero: number
  /** Start of the current run of exactly zero; -1 none. */
  zeroFrom: number
  /** Readings in that run whose reported power should have moved the register. */
  powered: number
  /** Smallest positive amount seen: an upper bound on the register's resolution; 0 unknown. */
  minPos: number
  /** Event time of the last register reset; -1 none. */
  lastReset: number
  /** Open meter_fault episode: level (NO_FAULT none), when it began, and the event time it holds until. */
  faultLevel: number
  faultFrom: number
  faultUntil: number
  /** Wall-clock judgement: `last` when the previous tick saw this device advance. */
  tickLast: number
  /** Usual advance of `last` between ticks, ms: the upload cadence (a day for a concentrator). */
  step: number
  /** Its data arrived close to the wall clock when it last advanced. */
  live: boolean
  /** Open meter_offline episode: when data stopped; -1 none. */
  offline: number
  /** Open meter_stuck episode: when the register stopped; -1 none. */
  stuck: number
}

export function freshDevice (id: string, subject: string, unit: 'kwh' | 'm3', ts: number, intervalMs: number): Device {
  return {
    id, subject, unit, last: -1, cadence: intervalMs, lag: 0, learned: 0, zeroMs: 0, longestZero: 0, zeroFrom: -1, powered: 0, minPos: 0,
    lastReset: -1, faultLevel: NO_FAULT, faultFrom: -1, faultUntil: -1, tickLast: ts - intervalMs, step: 0, live: false, offline: -1, stuck: -1,
  }
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
  powered: z.number().int().nonnegative(),
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

/** One subject's devices as JSON. */
export function toSnapshot (devices: readonly Device[]): unknown {
  return { devices: devices.map(({ subject: _implied, ...rest }) => rest) }
}

/** Parses a subject's snapshot; throws a TypeError naming what is wrong. */
export function fromSnapshot (subject: string, raw: unknown): Device[] {
  const data = parseSnapshot('meter-health', SubjectSchema, raw)
  // Same shape as a fresh device, so restored and live records share one hidden class.
  return data.devices.map((d) => Object.assign(freshDevice(d.id, subject, d.unit, 0, 1), d))
}
