import { z } from 'zod'
import { AddressCode, AddressLevel, CONFIDENCES, DeviceKind, Id, Outcome, ReportCategory, Severity, SubjectKind, TaskState, WorkerRole } from '../vocab/index.ts'
import { ALERT_CATEGORIES } from '../alerts/views.ts'

export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
}).describe('An error with a stable code (docs/errors.md)')
  .meta({ examples: [{ error: { code: 'AUTH_FORBIDDEN', message: 'outside your part of the address tree' } }] })

export const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody }

export const AddressOut = z.object({
  code: z.string(), parent: z.string().nullable(), level: AddressLevel, name: z.string(),
  lat: z.number().nullable(), lon: z.number().nullable(), path: z.array(z.string()), grid: z.string().nullable(), street: z.string().nullable(),
})

/** A path parameter naming a worker, subject, device, task...: bounded, so a huge one is a 400. */
export const IdParam = z.string().min(1).max(128)
export const idParams = (example: string) => z.object({ id: IdParam.meta({ example }) })

const Grids = z.array(AddressCode).min(1).max(200).describe('grid codes for a grid_worker; any address codes (street, community...) for the other roles')
export const WorkerIn = z.object({
  id: Id, name: z.string().min(1).max(200), phone: z.string().max(40).optional(), role: WorkerRole, grids: Grids,
}).meta({ examples: [{ id: 'w1', name: 'Wang Fang', phone: '13800000001', role: 'grid_worker', grids: ['G1'] }] })
export const WorkerPatch = z.object({
  name: z.string().min(1).max(200).optional(), phone: z.string().max(40).nullable().optional(), role: WorkerRole.optional(), grids: Grids.optional(),
}).refine((w) => Object.keys(w).length > 0, 'give at least one of name, phone, role, grids')
  .meta({ examples: [{ phone: '13800000011', grids: ['G1', 'G2'] }] })
const workerExample = { id: 'w1', name: 'Wang Fang', phone: '13800000001', role: 'grid_worker', grids: ['G1'], onDuty: true, topic: 'gc/v1/workers/w1/tasks' }
export const WorkerOut = z.object({
  id: z.string(), name: z.string(), phone: z.string().nullable(), role: WorkerRole, grids: z.array(z.string()), onDuty: z.boolean(),
  topic: z.string().describe('MQTT topic the worker app may subscribe to (username worker:<id>, password = token)'),
}).meta({ examples: [workerExample] })
export const WorkerList = z.array(WorkerOut).meta({ examples: [[workerExample]] })
export const TokenOut = z.object({ id: z.string(), token: z.string().describe('shown once; stored hashed') })
  .meta({ examples: [{ id: 'w1', token: 'q9Xc3v0mJ0nq3bZy0s3k1m2bZl0YkQy8r7o6tXwP1aA' }] })

export const ContactIn = z.object({ name: z.string().min(1).max(200), phone: z.string().min(1).max(40), relation: z.string().max(100).optional() })
export const Contacts = z.array(ContactIn).max(10).describe('tried in this order when a welfare alert is not critical: the subject, family, a neighbour')
export const SubjectIn = z.object({
  id: Id, kind: SubjectKind, address: AddressCode.describe('a unit code'),
  name: z.string().max(200).optional(), phone: z.string().max(40).optional(), details: z.record(z.string(), z.unknown()).optional(),
  contacts: Contacts.optional(),
}).meta({ examples: [{ id: 'e101', kind: 'lone_elder', address: 'U101', name: 'Chen Guiying', phone: '13900000001', details: { age: 83 }, contacts: [{ name: 'Chen Jie', phone: '13900000002', relation: 'daughter' }] }] })
export const SubjectUpdate = z.object({
  name: z.string().max(200).nullable().optional(), phone: z.string().max(40).nullable().optional(), details: z.record(z.string(), z.unknown()).optional(),
  contacts: Contacts.optional(),
}).meta({ examples: [{ contacts: [{ name: 'Chen Jie', phone: '13900000002', relation: 'daughter' }, { name: 'Liu Min', phone: '13900000003', relation: 'neighbour' }] }] })
const subjectExample = { id: 'e101', kind: 'lone_elder', address: 'U101', name: 'Chen Guiying', phone: '13900000001', details: { age: 83 }, contacts: [{ name: 'Chen Jie', phone: '13900000002', relation: 'daughter' }], awayUntil: null }
export const SubjectOut = z.object({
  id: z.string(), kind: SubjectKind, address: z.string(), name: z.string().nullable(), phone: z.string().nullable(),
  details: z.record(z.string(), z.unknown()), contacts: z.array(ContactIn), awayUntil: z.string().nullable(),
}).meta({ examples: [subjectExample] })
export const SubjectList = z.array(SubjectOut).meta({ examples: [[subjectExample]] })

export const DeviceIn = z.object({ id: Id, kind: DeviceKind, address: AddressCode.optional(), subject: Id.optional() })
  .meta({ examples: [{ id: 'm101', kind: 'meter', subject: 'e101' }] })
const Topics = z.object({ telemetry: z.string(), events: z.string(), status: z.string() })
const topicsExample = { telemetry: 'gc/v1/S1/m101/telemetry', events: 'gc/v1/S1/m101/events', status: 'gc/v1/S1/m101/status' }
export const DeviceOut = z.object({
  id: z.string(), username: z.string(), password: z.string().describe('shown once; stored hashed'),
  topics: Topics, commandTopic: z.string(),
}).meta({ examples: [{ id: 'm101', username: 'device:m101', password: 'Zq1mX0b3c...', topics: topicsExample, commandTopic: 'gc/v1/S1/m101/commands/#' }] })
export const DevicePatch = z.object({
  address: AddressCode.nullable().optional().describe('a new address; a device on another street gets new topics'),
  subject: Id.nullable().optional().describe('bind to this subject (and its address, unless address is given); null unbinds'),
}).refine((d) => d.address !== undefined || d.subject !== undefined, 'give address or subject')
  .meta({ examples: [{ subject: 'e102' }] })
const deviceExample = { id: 'm101', kind: 'meter', address: 'U101', subject: 'e101', username: 'device:m101', topics: topicsExample, commandTopic: 'gc/v1/S1/m101/commands/#', createdAt: '2026-11-20T08:00:00.000Z' }
export const DeviceView = z.object({
  id: z.string(), kind: DeviceKind, address: z.string().nullable(), subject: z.string().nullable(), username: z.string(),
  topics: Topics, commandTopic: z.string(), createdAt: z.string(),
}).meta({ examples: [deviceExample] })
export const DeviceList = z.array(DeviceView).meta({ examples: [[deviceExample]] })

export const ReportIn = z.object({
  category: ReportCategory, address: AddressCode.optional(), lat: z.number().min(-90).max(90).optional(), lon: z.number().min(-180).max(180).optional(),
  text: z.string().min(1).max(4000), contact: z.string().max(200).optional(),
}).refine((r) => r.address !== undefined || (r.lat !== undefined && r.lon !== undefined), 'give an address, or lat and lon')
  .meta({ examples: [{ category: 'public_safety', address: 'B1', text: 'The stairwell light on floor 3 has been out for a week', contact: 'Ms Liu 13700000000' }] })

export const AlertOut = z.object({
  id: z.string(), source: z.enum(['detector', 'report']), subject: z.string().nullable(), address: z.string(), path: z.array(z.string()),
  grid: z.string().nullable(), kind: z.string(), category: z.enum(ALERT_CATEGORIES).describe('welfare, safety, housing, device_fault (a technician, not a welfare visit) or report'),
  detector: z.string().nullable(), severity: Severity, confidence: z.enum(CONFIDENCES).nullable(),
  status: z.enum(['open', 'cleared', 'closed', 'suppressed']),
  stage: z.enum(['checkin', 'task']).describe('checkin: the subject\'s contacts are asked first; task: a worker has it'),
  outcome: z.string().nullable().describe('how it ended without a task: false_alarm (a contact said all is well), self_resolved'),
  reopened: z.number().describe('times it rose again soon after clearing and was reopened'),
  startedAt: z.string().describe('event time the odd behaviour began'), raisedAt: z.string().describe('event time the data first showed it'),
  lastSeenAt: z.string(), clearedAt: z.string().nullable(), evidence: z.record(z.string(), z.unknown()), createdAt: z.string(), updatedAt: z.string(),
})

export const TaskOut = z.object({
  id: z.string(), alertId: z.string(), kind: z.string(), category: z.enum(ALERT_CATEGORIES), subject: z.string().nullable(), address: z.string(), path: z.array(z.string()),
  grid: z.string().nullable(), workerId: z.string().nullable(), severity: Severity, confidence: z.enum(CONFIDENCES).nullable(), state: TaskState,
  stage: z.enum(['filed', 'dispatched', 'handling', 'checking', 'closed', 'evaluated']).describe('statutory stage: 立案 派遣 处置 核查 结案 评价'), stageName: z.string(),
  outcome: z.string().nullable().describe('a worker\'s outcome, or self_resolved when the alert cleared before anyone acted'), note: z.string().nullable(), awayUntil: z.string().nullable(),
  deadlines: z.object({ ackBy: z.string().nullable(), arriveBy: z.string().nullable(), resolveBy: z.string().nullable(), reviewBy: z.string().nullable() }),
  escalationLevel: z.number().describe('0 worker, 1 grid leader, 2 community, 3 street command centre'), escalatedTo: z.string().nullable(),
  satisfaction: z.number().nullable(),
  createdAt: z.string(), updatedAt: z.string(),
  history: z.array(z.object({ at: z.string(), actor: z.string(), action: z.string(), from: z.string().nullable(), to: z.string().nullable(), note: z.string().nullable(), data: z.unknown() })),
})

export const ResolveIn = z.object({
  outcome: Outcome, note: z.string().max(4000).optional(),
  awayUntil: z.iso.datetime({ offset: true }).optional().describe('with outcome "away": quiet inactivity alerts until then (at most 180 days; more than 3 days needs a leader)'),
  satisfaction: z.number().int().min(1).max(5).optional().describe('a resident\'s satisfaction with a report\'s task, 1-5'),
}).meta({ examples: [{ outcome: 'away', note: 'at her daughter\'s in Ningbo', awayUntil: '2026-12-05T12:00:00+08:00' }] })
export const NoteIn = z.object({ note: z.string().max(4000).optional() }).nullish().meta({ examples: [{ note: 'on my way' }] })
export const ReviewIn = z.object({ note: z.string().max(4000).optional(), satisfaction: z.number().int().min(1).max(5).optional().describe('a resident\'s satisfaction with a report\'s task, 1-5') }).nullish()
export const CheckinOut = z.object({
  id: z.string(), alertId: z.string(), subject: z.string(), contact: ContactIn, position: z.number(), sentAt: z.string(), dueAt: z.string(),
  answeredAt: z.string().nullable(), answer: z.enum(['well', 'help']).nullable(), state: z.enum(['pending', 'well', 'help', 'expired', 'cancelled']),
})

export const Paging = { limit: z.coerce.number().int().min(1).max(1000).default(200), offset: z.coerce.number().int().min(0).default(0) }
