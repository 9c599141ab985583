/**
 * Shared vocabulary: the one definition of readings, anomalies, alerts, tasks,
 * topics and address codes used by every stage, the API and the simulators.
 */
import { z } from 'zod'

export const ADDRESS_LEVELS = ['district', 'street', 'community', 'grid', 'building', 'unit'] as const
export const AddressLevel = z.enum(ADDRESS_LEVELS)
export type AddressLevel = z.infer<typeof AddressLevel>

/** An address code: letters, digits and `-_.`, at most 64 characters. */
export const AddressCode = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'address code: 1-64 of A-Z a-z 0-9 _ . -')

/** An identifier chosen by the caller (worker, subject, device). Safe inside an MQTT topic level. */
export const Id = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'id: 1-64 of A-Z a-z 0-9 _ . -')

/** `drone_operator` flies a street's drones: fleet alerts (low battery, lost link) go to them, not to a grid worker. */
export const WORKER_ROLES = ['grid_worker', 'grid_leader', 'community', 'command_centre', 'drone_operator'] as const
export const WorkerRole = z.enum(WORKER_ROLES)
export type WorkerRole = z.infer<typeof WorkerRole>

export const SUBJECT_KINDS = ['lone_elder', 'rental_unit'] as const
export const SubjectKind = z.enum(SUBJECT_KINDS)
export type SubjectKind = z.infer<typeof SubjectKind>

export const DEVICE_KINDS = ['meter', 'water_meter', 'camera', 'drone'] as const
export const DeviceKind = z.enum(DEVICE_KINDS)
export type DeviceKind = z.infer<typeof DeviceKind>

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const
export const Severity = z.enum(SEVERITIES)
export type Severity = z.infer<typeof Severity>

export const TASK_STATES = ['open', 'acknowledged', 'on_site', 'resolved', 'reviewed'] as const
export const TaskState = z.enum(TASK_STATES)
export type TaskState = z.infer<typeof TaskState>

export const OUTCOMES = ['emergency', 'away', 'false_alarm', 'device_fault', 'handled'] as const
export const Outcome = z.enum(OUTCOMES)
export type Outcome = z.infer<typeof Outcome>

export const REPORT_CATEGORIES = ['dispute', 'public_safety', 'work_safety', 'environment', 'city_management', 'livelihood'] as const
export const ReportCategory = z.enum(REPORT_CATEGORIES)

// ---------------------------------------------------------------- device payloads

/** Event times accepted, epoch ms: 2000-01-01 to 2100-01-01 UTC, the same for both forms. */
export const EVENT_TIME_MIN = 946684800000
export const EVENT_TIME_MAX = 4102444800000

/** Event time: ISO 8601 string or epoch milliseconds; becomes epoch ms. */
export const EventTime = z.union([
  z.iso.datetime({ offset: true, local: false }).transform((s) => Date.parse(s)),
  z.number().int(),
], { error: 'must be an ISO 8601 time with its offset ("2026-05-01T08:15:00+08:00") or epoch milliseconds' }).refine((n) => Number.isFinite(n), 'ts is not a valid time')
  .refine((n) => n >= EVENT_TIME_MIN, 'ts before 2000')
  .refine((n) => n <= EVENT_TIME_MAX, 'ts after 2100')

const register = z.number().finite().nonnegative()

export const MeterReadingPayload = z.object({
  ts: EventTime,
  kwh: register.optional(),
  m3: register.optional(),
  w: z.number().finite().nonnegative().optional(),
}).refine((r) => (r.kwh === undefined) !== (r.m3 === undefined), 'exactly one of kwh or m3 is required')
export type MeterReadingPayload = z.infer<typeof MeterReadingPayload>

/**
 * MeterReadingPayload's answer for the usual reading (`ts` in epoch ms, one register, maybe
 * `w`) without zod: the same data zod gives, or undefined when zod is to judge it (an ISO
 * time, anything odd, and every rejection, so the reasons stay zod's). Runs per reading;
 * test/fast-reading.test.ts holds the two to the same answers.
 */
export function fastMeterReading (v: unknown): MeterReadingPayload | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined
  const { ts, kwh, m3, w } = v as { ts?: unknown, kwh?: unknown, m3?: unknown, w?: unknown }
  if (typeof ts !== 'number' || !Number.isInteger(ts) || ts < EVENT_TIME_MIN || ts > EVENT_TIME_MAX) return undefined
  if (w !== undefined && !isRegister(w)) return undefined
  if (kwh !== undefined) {
    if (m3 !== undefined || !isRegister(kwh)) return undefined
    return w === undefined ? { ts, kwh } : { ts, kwh, w: w as number }
  }
  if (!isRegister(m3)) return undefined
  return w === undefined ? { ts, m3 } : { ts, m3, w: w as number }
}

/** fastMeterReading() for each reading of a batch: all of them, or undefined when zod is to judge the batch. */
export function fastMeterReadings (items: unknown[]): MeterReadingPayload[] | undefined {
  if (items.length === 0 || items.length > MAX_READINGS_PER_BATCH) return undefined
  const out: MeterReadingPayload[] = new Array(items.length)
  for (let i = 0; i < items.length; i++) {
    const r = fastMeterReading(items[i])
    if (r === undefined) return undefined
    out[i] = r
  }
  return out
}

const isRegister = (x: unknown): x is number => typeof x === 'number' && x >= 0 && Number.isFinite(x)

/** The most readings one batch may hold (MeterBatchPayload). */
const MAX_READINGS_PER_BATCH = 5000

/** Concentrators upload a day of 15-minute points at once; allow a few days. */
export const MeterBatchPayload = z.object({ readings: z.array(MeterReadingPayload).min(1).max(MAX_READINGS_PER_BATCH) })

export const CameraEventPayload = z.object({
  ts: EventTime,
  event: z.enum(['door_open', 'motion', 'fall', 'smoke', 'person_count']),
  count: z.number().int().nonnegative().optional(),
  confidence: z.number().min(0).max(1).optional(),
})

export const DroneTelemetryPayload = z.object({
  ts: EventTime,
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  alt: z.number().finite().optional(),
  battery: z.number().min(0).max(100).optional(),
})

/** What a drone's on-board model reports seeing from the sky. */
export const DRONE_LABELS = ['fire', 'smoke', 'flood', 'crowd', 'construction'] as const
export type DroneLabel = (typeof DRONE_LABELS)[number]

export const DroneDetectionPayload = z.object({
  ts: EventTime,
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  label: z.enum(DRONE_LABELS),
  confidence: z.number().min(0).max(1).optional(),
})

// ---------------------------------------------------------------- between stages

/** What a meter of this kind reports: cubic metres for a water meter, kWh for the rest. */
export const unitOf = (kind: string): 'kwh' | 'm3' => kind === 'water_meter' ? 'm3' : 'kwh'

/** A stored meter reading turned into interval consumption: ingest -> detectors. */
export interface Consumption {
  subjectId: string
  subjectKind: SubjectKind
  deviceId: string
  unit: 'kwh' | 'm3'
  /** End of the interval, event time, epoch ms. */
  ts: number
  /** Length of the interval the amount covers, ms. */
  intervalMs: number
  /** kWh or m3 consumed over the interval. */
  amount: number
  /** Instantaneous power at ts, W, when the meter reports it. */
  powerW?: number
  /** Street code of the device: detectors take subjects of the same kind in the same street as peers. */
  street?: string
  /**
   * The register did something a healthy meter does not: `reset` went back (a replaced meter
   * or a rollover; amount is then what the new register counted), `implausible` jumped by more
   * than a home can draw or went back by an amount that cannot be trusted (amount is then 0 and
   * says nothing about use). Meter-health detectors raise device faults on these; the others
   * treat an implausible sample as a gap.
   */
  registerFault?: 'reset' | 'implausible'
}

/** A camera event of a device that watches a care subject's door: ingest -> detectors. */
export interface SubjectEvent {
  subjectId: string
  subjectKind: SubjectKind
  deviceId: string
  /** Event time, epoch ms. */
  ts: number
  event: 'door_open' | 'motion' | 'fall' | 'smoke' | 'person_count'
  count?: number
  /** The camera's own confidence, 0-1, when it gives one. */
  confidence?: number
}

/** A stored drone position report: ingest -> fleet (tracks, battery, link). */
export interface DroneTelemetry {
  deviceId: string
  /** Street code the drone is registered to (`_` when none). */
  street: string
  /** Event time, epoch ms. */
  ts: number
  lat: number
  lon: number
  /** Metres above take-off, when the drone says. */
  alt?: number
  /** Per cent, when the drone says. */
  battery?: number
}

/** A stored drone detection: ingest -> the drone detector. */
export interface DroneDetection {
  deviceId: string
  street: string
  /** Event time, epoch ms. */
  ts: number
  lat: number
  lon: number
  label: DroneLabel
  /** The on-board model's confidence, 0-1, when it gives one. */
  confidence?: number
}

/**
 * An anomaly about a place or the drone fleet, with no care subject: the drone detector's sightings
 * (placed by position) and the fleet's low battery or lost link (for the street's drone operator).
 * -> alerts. One alert per `episode`; an update raises its severity or extends it.
 */
export interface PlaceAnomaly {
  detector: 'drone' | 'fleet'
  /** `fire`, `smoke`, `flood`, `crowd`, `construction`; `drone_low_battery`, `drone_lost_link`. */
  kind: string
  phase: 'raise' | 'update'
  severity: Severity
  /** Stable id of the episode: the same thing seen again is the same alert. */
  episode: string
  /** The drone that saw it, or the drone it is about. */
  deviceId: string
  /** The drone's registered street (`_` when none). */
  street: string
  lat: number
  lon: number
  /** Event time the episode began, epoch ms. */
  startedAt: number
  /** Event time of the data that showed it, epoch ms. */
  observedAt: number
  evidence: Record<string, unknown>
}

export const CONFIDENCES = ['low', 'medium', 'high'] as const
/**
 * What the evidence of a welfare anomaly is worth: `low` one meter's reading of a routine,
 * `medium` one source well past this person's own learned bounds, `high` two sources agree
 * (meter and water, meter and a shut door). Dispatch checks in with the family first on a weak
 * one and sends a worker at once on a strong one.
 */
export type Confidence = (typeof CONFIDENCES)[number]

export const ANOMALY_PHASES = ['raise', 'update', 'clear'] as const
/** What a detector says about one subject: detectors -> alerts. */
export interface Anomaly {
  subjectId: string
  detector: string
  /** Alert kind, e.g. `inactivity`. One open episode per (subject, kind). */
  kind: string
  phase: (typeof ANOMALY_PHASES)[number]
  severity: Severity
  /** Event time the odd behaviour began, epoch ms. */
  startedAt: number
  /** Event time of the data that showed it, epoch ms. */
  observedAt: number
  evidence: Record<string, unknown>
  /** Welfare anomalies say what their evidence is worth; others may leave it out. */
  confidence?: Confidence
}

// ---------------------------------------------------------------- topics

/**
 * Topics are rooted at the street so that a street's traffic can be given to one
 * gridcare worker with a shared subscription (`$share/gridcare/gc/v1/<street>/#`).
 */
export const TOPIC_ROOT = 'gc/v1'
export const NO_STREET = '_'

export function deviceTopics (street: string, deviceId: string) {
  const base = `${TOPIC_ROOT}/${street}/${deviceId}`
  return { telemetry: `${base}/telemetry`, events: `${base}/events`, status: `${base}/status`, commands: `${base}/commands` }
}

export function workerTopic (workerId: string) {
  return `${TOPIC_ROOT}/workers/${workerId}/tasks`
}

const DEVICE_TOPIC_PREFIX = `${TOPIC_ROOT}/`

/**
 * Parses a device topic (`gc/v1/<street>/<device>/<channel>`); null when it is not one. Runs for
 * every message: by indexOf, not split (no array, no joined prefix).
 */
export function parseDeviceTopic (topic: string): { street: string, deviceId: string, channel: 'telemetry' | 'events' | 'status' } | null {
  if (!topic.startsWith(DEVICE_TOPIC_PREFIX)) return null
  const a = DEVICE_TOPIC_PREFIX.length
  const b = topic.indexOf('/', a)
  if (b < 0) return null
  const c = topic.indexOf('/', b + 1)
  if (c < 0) return null
  const channel = topic.slice(c + 1)
  if (channel !== 'telemetry' && channel !== 'events' && channel !== 'status') return null
  return { street: topic.slice(a, b), deviceId: topic.slice(b + 1, c), channel }
}
