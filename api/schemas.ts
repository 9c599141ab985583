import { z } from 'zod'
import { AddressCode, AddressLevel, DeviceKind, Id, Outcome, ReportCategory, Severity, SubjectKind, TaskState, WorkerRole } from '../vocab/index.ts'
import { ALERT_CATEGORIES } from '../alerts/views.ts'

export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
}).describe('An error with a stable code (docs/errors.md)')

export const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody }

export const AddressOut = z.object({
  code: z.string(), parent: z.string().nullable(), level: AddressLevel, name: z.string(),
  lat: z.number().nullable(), lon: z.number().nullable(), path: z.array(z.string()), grid: z.string().nullable(), street: z.string().nullable(),
})

export const WorkerIn = z.object({
  id: Id, name: z.string().min(1).max(200), phone: z.string().max(40).optional(), role: WorkerRole,
  grids: z.array(AddressCode).min(1).describe('grid codes for a grid_worker; any address codes (street, community...) for the other roles'),
})
export const WorkerOut = z.object({
  id: z.string(), name: z.string(), phone: z.string().nullable(), role: WorkerRole, grids: z.array(z.string()), onDuty: z.boolean(),
  topic: z.string().describe('MQTT topic the worker app may subscribe to (username worker:<id>, password = token)'),
})

export const SubjectIn = z.object({
  id: Id, kind: SubjectKind, address: AddressCode.describe('a unit code'),
  name: z.string().max(200).optional(), phone: z.string().max(40).optional(), details: z.record(z.string(), z.unknown()).optional(),
})
export const SubjectOut = z.object({
  id: z.string(), kind: SubjectKind, address: z.string(), name: z.string().nullable(), phone: z.string().nullable(),
  details: z.record(z.string(), z.unknown()), awayUntil: z.string().nullable(),
})

export const DeviceIn = z.object({ id: Id, kind: DeviceKind, address: AddressCode.optional(), subject: Id.optional() })
export const DeviceOut = z.object({
  id: z.string(), username: z.string(), password: z.string().describe('shown once; stored hashed'),
  topics: z.object({ telemetry: z.string(), events: z.string(), status: z.string() }),
  commandTopic: z.string(),
})

export const ReportIn = z.object({
  category: ReportCategory, address: AddressCode.optional(), lat: z.number().min(-90).max(90).optional(), lon: z.number().min(-180).max(180).optional(),
  text: z.string().min(1).max(4000), contact: z.string().max(200).optional(),
}).refine((r) => r.address !== undefined || (r.lat !== undefined && r.lon !== undefined), 'give an address, or lat and lon')

export const AlertOut = z.object({
  id: z.string(), source: z.enum(['detector', 'report']), subject: z.string().nullable(), address: z.string(), path: z.array(z.string()),
  grid: z.string().nullable(), kind: z.string(), category: z.enum(ALERT_CATEGORIES).describe('welfare, safety, housing, device_fault (a technician, not a welfare visit) or report'),
  detector: z.string().nullable(), severity: Severity,
  status: z.enum(['open', 'cleared', 'closed', 'suppressed']),
  startedAt: z.string().describe('event time the odd behaviour began'), raisedAt: z.string().describe('event time the data first showed it'),
  lastSeenAt: z.string(), clearedAt: z.string().nullable(), evidence: z.record(z.string(), z.unknown()), createdAt: z.string(), updatedAt: z.string(),
})

export const TaskOut = z.object({
  id: z.string(), alertId: z.string(), kind: z.string(), category: z.enum(ALERT_CATEGORIES), subject: z.string().nullable(), address: z.string(), path: z.array(z.string()),
  grid: z.string().nullable(), workerId: z.string().nullable(), severity: Severity, state: TaskState,
  outcome: z.string().nullable(), note: z.string().nullable(), awayUntil: z.string().nullable(),
  deadlines: z.object({ ackBy: z.string().nullable(), arriveBy: z.string().nullable() }), escalationLevel: z.number(),
  createdAt: z.string(), updatedAt: z.string(),
  history: z.array(z.object({ at: z.string(), actor: z.string(), action: z.string(), from: z.string().nullable(), to: z.string().nullable(), note: z.string().nullable(), data: z.unknown() })),
})

export const ResolveIn = z.object({
  outcome: Outcome, note: z.string().max(4000).optional(),
  awayUntil: z.iso.datetime({ offset: true }).optional().describe('with outcome "away": quiet inactivity alerts until then'),
})
export const NoteIn = z.object({ note: z.string().max(4000).optional() }).nullish()

export const Paging = { limit: z.coerce.number().int().min(1).max(1000).default(200), offset: z.coerce.number().int().min(0).default(0) }
