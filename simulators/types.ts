/** Types shared by the household model, the scenarios and the publisher. */
import type { SubjectKind } from '../vocab/index.ts'

/** Labelled events injected into a household's history. Times are event time, epoch ms. */
export type Scenario =
  /** From `at` on, only standby plus an optional constant residual (a light or TV left on). Permanent. */
  | { kind: 'incapacitated', at: number, residualW?: number }
  /** Standby only during [from, until): a trip, a hospital stay. */
  | { kind: 'away', from: number, until: number }
  /** Group renting from `from` on: `occupants` people, much more night load and hot water. */
  | { kind: 'crowded', from: number, occupants: number }
  /** Standby only from `from` on: moved out. */
  | { kind: 'vacant', from: number }
  /** An e-bike battery charged indoors every night from `from` on. */
  | { kind: 'ebike_charging', from: number }
  /** The meter misbehaves from `from` on; the household does not change. */
  | { kind: 'meter_fault', from: number, fault: MeterFault }

export type MeterFault = 'stuck' | 'reset' | 'offline'

export interface MeterProfile {
  subjectKind: SubjectKind
  seed: number
  /** Local time offset used for the daily rhythm; default 8. */
  utcOffsetHours?: number
  /** Rental units only; default 1 or 2, chosen by the seed. */
  occupants?: number
  scenarios?: Scenario[]
  /** Register value at the first reading; default 1,000-9,000 kWh chosen by the seed. */
  startKwh?: number
}

/** One meter reading: event time, cumulative register and instantaneous power. */
export interface Reading {
  ts: number
  kwh: number
  w: number
}

/** An appliance running over [from, until), epoch ms. */
export interface LoadEvent {
  from: number
  until: number
  w: number
}

/** One person's day: awake over [wake, sleep), absent during `outs`. */
export interface Person {
  wake: number
  sleep: number
  outs: Array<[from: number, until: number]>
  /** Lights, TV, laptop while awake at home. */
  w: number
  /** Extra lighting after dark. */
  eveningW: number
}

/** What one household does on one local day. Times may run past the next midnight. */
export interface DayPlan {
  day: number
  /** Local midnight, epoch ms. */
  start: number
  people: Person[]
  events: LoadEvent[]
}

/** What was really going on at a time, for scoring detectors. */
export interface GroundTruth {
  /** Scenarios in effect at the time (permanent ones from their start on). */
  scenarios: Scenario[]
  /** `out` is an ordinary outing or work; `away` is the labelled scenario. */
  presence: 'home' | 'asleep' | 'out' | 'away' | 'vacant' | 'incapacitated'
  occupants: number
  fault: MeterFault | null
}
