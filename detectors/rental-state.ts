/**
 * Per-flat state of the rental detector: plain numbers and one short array of recent 15-minute
 * powers, so the state is its own JSON snapshot (about 0.7 KB) and a restored detector carries on
 * bit-identically. Nothing here grows with history: the baseline is a handful of running means.
 */
import { z } from 'zod'
import { Severity as SeveritySchema, type Severity } from '../vocab/index.ts'
import { parseSnapshot } from './types.ts'

export const MIN = 60_000
export const SLOT = 15 * MIN
export const SLOTS_PER_DAY = 96
/** Recent slots kept: up to 8 h of held load before an e-bike edge, the edge slot and 1.5 h after it. */
export const RING = 40
/** Nights remembered for the e-bike pattern. */
export const NIGHTS = 3
export const KINDS = ['crowding', 'vacancy', 'ebike_charging'] as const
export type Kind = (typeof KINDS)[number]

export interface Episode {
  startedAt: number
  /** Told it was a false alarm: the baseline may learn again; it still clears as usual. */
  muted: boolean
}

/** An anomaly decided but not yet handed out (one sample can close a day and a run at once). */
export interface Pending {
  kind: Kind
  phase: 'raise' | 'clear'
  severity: Severity
  startedAt: number
  observedAt: number
  evidence: Record<string, number | string | null>
}

export interface State {
  /** Event time up to which samples have been taken; anything older is late or repeated. */
  last: number
  /** Local 15-minute slot being filled (slots since epoch on the local clock); -1 before the first sample. */
  slot: number
  /** Wh in that slot so far, and ms of it covered by samples. */
  acc: number
  cov: number
  /** Mean W of the last RING closed slots (-1: missing), written at `head % RING`. */
  ring: number[]
  head: number
  /** The local day being summed: Wh and slots seen, over the day and over 00:00-06:00; slots >= heavyW; least hourly mean W (-1: none). */
  dayWh: number
  daySlots: number
  nightWh: number
  nightSlots: number
  heavy: number
  dayMinW: number
  /** Wh of tonight's e-bike charge since midnight: not counted as the flat's own use for crowding. */
  ebikeWh: number
  /** Days learned from, and the learned day: Wh above standby per day and per night, heavy slots per day; standby W (-1: unknown). */
  days: number
  baseDay: number
  baseNight: number
  baseHeavy: number
  floor: number
  /** Crowding score of the last judged day and the one before, the first day of the current run of raised scores, calm days in an episode. */
  crowd: number
  crowdPrev: number
  crowdSince: number
  crowdCalm: number
  /** Most people a camera counted at the door today (-1: none counted), and the flat's usual such count (0: not learned). */
  people: number
  basePeople: number
  /** This night's strongest e-bike edge as a multiple of ebikeMinW, when it was, slots of 00:00-08:00 seen; the last NIGHTS nights' (oldest first) and when their edges were. */
  nightScore: number
  nightAt: number
  nightHeld: number
  nightSeen: number
  nights: number[]
  nightEnds: number[]
  /** Nights in a row without the pattern. */
  ebikeCalm: number
  /** The current standby run: event time it began (-1: none), ms of data in it. */
  runStart: number
  runCov: number
  /** Per kind, 1 = as configured; false alarms lower it. */
  sens: number[]
  /** Event-time window (awayFrom, awayUntil] in which the flat is known to be empty (away, told or declared ahead): no vacancy. */
  awayFrom: number
  awayUntil: number
  ep: Record<Kind, Episode | null>
  queue: Pending[]
}

export function freshState (): State {
  return {
    last: -Infinity, slot: -1, acc: 0, cov: 0, ring: new Array<number>(RING).fill(-1), head: 0,
    dayWh: 0, daySlots: 0, nightWh: 0, nightSlots: 0, heavy: 0, dayMinW: -1, ebikeWh: 0,
    days: 0, baseDay: 0, baseNight: 0, baseHeavy: 0, floor: -1,
    crowd: 0, crowdPrev: 0, crowdSince: -1, crowdCalm: 0, people: -1, basePeople: 0,
    nightScore: 0, nightAt: -1, nightHeld: 0, nightSeen: 0, nights: new Array<number>(NIGHTS).fill(0), nightEnds: new Array<number>(NIGHTS).fill(-1), ebikeCalm: 0,
    runStart: -1, runCov: 0, sens: [1, 1, 1], awayFrom: 0, awayUntil: 0,
    ep: { crowding: null, vacancy: null, ebike_charging: null }, queue: [],
  }
}

const finite = z.number().finite()
const count = z.number().int().nonnegative()
const episode = z.object({ startedAt: finite, muted: z.boolean() }).nullable()
const StateSchema = z.object({
  last: finite.nullable(),
  slot: z.number().int().min(-1),
  acc: finite.nonnegative(),
  cov: finite.nonnegative().max(SLOT),
  ring: z.array(z.number().int().min(-1)).length(RING),
  head: count.max(RING - 1),
  dayWh: finite.nonnegative(),
  daySlots: count.max(SLOTS_PER_DAY),
  nightWh: finite.nonnegative(),
  nightSlots: count.max(SLOTS_PER_DAY / 4),
  heavy: count.max(SLOTS_PER_DAY),
  dayMinW: finite.min(-1),
  ebikeWh: finite.nonnegative(),
  days: count,
  baseDay: finite.nonnegative(),
  baseNight: finite.nonnegative(),
  baseHeavy: finite.nonnegative(),
  floor: finite.min(-1),
  crowd: finite.nonnegative(),
  crowdPrev: finite.nonnegative(),
  crowdSince: finite,
  crowdCalm: count,
  people: finite.min(-1).default(-1),
  basePeople: finite.nonnegative().default(0),
  nightScore: finite.nonnegative(),
  nightAt: finite,
  nightHeld: count,
  nightSeen: count.max(SLOTS_PER_DAY),
  nights: z.array(finite.nonnegative()).length(NIGHTS),
  nightEnds: z.array(finite).length(NIGHTS),
  ebikeCalm: count,
  runStart: finite,
  runCov: finite.nonnegative(),
  sens: z.array(z.number().positive().max(1)).length(KINDS.length),
  awayFrom: finite,
  awayUntil: finite,
  ep: z.object({ crowding: episode, vacancy: episode, ebike_charging: episode }),
  queue: z.array(z.object({
    kind: z.enum(KINDS), phase: z.enum(['raise', 'clear']), severity: SeveritySchema, startedAt: finite, observedAt: finite,
    evidence: z.record(z.string(), z.union([z.number(), z.string(), z.null()])),
  })).max(16),
})

/** JSON-able copy; `last` is null before the first sample (JSON has no -Infinity). */
export function toSnapshot (s: State): unknown {
  return JSON.parse(JSON.stringify({ ...s, last: Number.isFinite(s.last) ? s.last : null }))
}

/** Parses a snapshot; throws a TypeError naming what is wrong. */
export function fromSnapshot (raw: unknown): State {
  const v = structuredClone(parseSnapshot('rental', StateSchema, raw))
  return { ...v, last: v.last ?? -Infinity }
}
