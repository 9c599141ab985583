import type { FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { GridcareError } from '../../errors/index.ts'
import { AddressCode, AddressLevel } from '../../vocab/index.ts'
import { requireAdmin, requireCovers, requireSupervisor } from '../auth.ts'
import { AddressOut, DeviceIn, DeviceOut, errors, Paging, SubjectIn, SubjectOut, SubjectUpdate, WorkerIn, WorkerOut } from '../schemas.ts'

/** Address base, workers, care subjects, devices and dead letters. */
export const registryRoutes: FastifyPluginAsyncZod = async (app) => {
  const { addresses, registry, db } = app.deps

  /** A person's record, if the caller's part of the tree covers it; every such read is audited. */
  async function readSubject (req: FastifyRequest, id: string, action: 'read_subject' | 'read_energy' | 'declare_absence' | 'read_absences' | 'cancel_absence' | 'update_subject') {
    const s = await registry.getSubject(id)
    if (!s) throw new GridcareError('NOT_FOUND', `no subject "${id}"`)
    requireCovers(req, s.path)
    await registry.audit(req.principal.id, action, s.id)
    return s
  }

  app.post('/addresses/import', {
    schema: {
      tags: ['registry'], summary: 'Import address-base CSV (code,parent,level,name,lat,lon): all rows or none',
      consumes: ['text/csv'], body: z.string().min(1).describe('CSV text'),
      response: { 200: z.object({ imported: z.number() }), ...errors },
    },
  }, async (req) => {
    requireAdmin(req)
    return addresses.importCsv(req.body)
  })

  app.get('/addresses', {
    schema: {
      tags: ['registry'], summary: 'List addresses, optionally under a code or of a level',
      querystring: z.object({ under: AddressCode.optional(), level: AddressLevel.optional(), ...Paging }),
      response: { 200: z.array(AddressOut), ...errors },
    },
  }, async (req) => addresses.list(req.query))

  app.get('/addresses/:code', {
    schema: { tags: ['registry'], params: z.object({ code: AddressCode }), response: { 200: AddressOut, ...errors } },
  }, async (req) => {
    const a = await addresses.get(req.params.code)
    if (!a) throw new GridcareError('NOT_FOUND', `no address "${req.params.code}"`)
    return a
  })

  app.post('/grids/import', {
    schema: {
      tags: ['registry'], summary: 'Import grid areas: a GeoJSON FeatureCollection of Polygons with properties.code',
      body: z.unknown(), response: { 200: z.object({ imported: z.number() }), ...errors },
    },
  }, async (req) => {
    requireAdmin(req)
    return addresses.importGrids(req.body)
  })

  app.post('/workers', {
    schema: { tags: ['registry'], summary: 'Register a worker; answers its token (shown once)', body: WorkerIn, response: { 201: WorkerOut.extend({ token: z.string() }), ...errors } },
  }, async (req, reply) => {
    requireAdmin(req)
    return reply.status(201).send(await registry.createWorker(req.body))
  })

  app.get('/workers', { schema: { tags: ['registry'], response: { 200: z.array(WorkerOut), ...errors } } }, async (req) => {
    requireSupervisor(req)
    return registry.listWorkers()
  })

  app.put('/workers/:id/duty', {
    schema: { tags: ['registry'], summary: 'Put a worker on or off duty', params: z.object({ id: z.string() }), body: z.object({ onDuty: z.boolean() }), response: { 204: z.null(), ...errors } },
  }, async (req, reply) => {
    if (req.principal.type === 'worker' && req.principal.id !== req.params.id) requireSupervisor(req)
    await registry.setOnDuty(req.params.id, req.body.onDuty)
    return reply.status(204).send(null)
  })

  app.get('/me', {
    schema: { tags: ['registry'], summary: 'Who this token belongs to', response: { 200: z.object({ type: z.enum(['admin', 'worker']), id: z.string(), role: z.string().optional(), grids: z.array(z.string()).optional() }) } },
  }, async (req) => {
    const p = req.principal
    return p.type === 'admin' ? { type: p.type, id: p.id } : { type: p.type, id: p.id, role: p.role, grids: p.scopes }
  })

  app.post('/subjects', {
    schema: { tags: ['registry'], summary: 'Register a care subject in a unit', body: SubjectIn, response: { 201: SubjectOut, ...errors } },
  }, async (req, reply) => {
    requireAdmin(req)
    return reply.status(201).send(await registry.createSubject(req.body))
  })

  app.get('/subjects/:id', {
    schema: { tags: ['registry'], summary: 'A subject\'s details (the read is written to the audit log)', params: z.object({ id: z.string() }), response: { 200: SubjectOut, ...errors } },
  }, async (req) => {
    const { path: _path, ...out } = await readSubject(req, req.params.id, 'read_subject')
    return out
  })

  app.put('/subjects/:id', {
    schema: { tags: ['registry'], summary: 'Change a subject\'s name, phone, details or contacts (fields left out stay); audited', params: z.object({ id: z.string() }), body: SubjectUpdate, response: { 200: SubjectOut, ...errors } },
  }, async (req) => {
    const s = await readSubject(req, req.params.id, 'update_subject')
    return registry.updateSubject(s.id, req.body)
  })

  app.get('/subjects/:id/energy', {
    schema: {
      tags: ['registry'], summary: 'A subject\'s energy per hour or day, from the aggregates (the read is audited)',
      params: z.object({ id: z.string() }),
      querystring: z.object({ from: z.iso.datetime({ offset: true }), to: z.iso.datetime({ offset: true }), bucket: z.enum(['hour', 'day']).default('hour') }),
      response: { 200: z.array(z.object({ deviceId: z.string(), bucket: z.string(), amount: z.number().nullable(), readings: z.number() })), ...errors },
    },
  }, async (req) => {
    const s = await readSubject(req, req.params.id, 'read_energy')
    const view = req.query.bucket === 'day' ? 'energy_daily' : 'energy_hourly'
    const { rows } = await db.query<{ device_id: string, bucket: Date, amount: number | null, readings: string | number }>(
      `SELECT e.device_id, e.bucket, e.amount, e.readings FROM ${view} e JOIN devices d ON d.id = e.device_id
       WHERE d.subject = $1 AND e.bucket >= $2 AND e.bucket < $3 ORDER BY e.device_id, e.bucket LIMIT 20000`, [s.id, req.query.from, req.query.to])
    return rows.map((r) => ({ deviceId: r.device_id, bucket: r.bucket.toISOString(), amount: r.amount === null ? null : Number(r.amount), readings: Number(r.readings) }))
  })

  const AbsenceOut = z.object({ id: z.string(), subjectId: z.string(), from: z.string(), until: z.string(), note: z.string().nullable(), declaredBy: z.string(), declaredAt: z.string(), cancelledAt: z.string().nullable() })
  const SubjectParams = z.object({ id: z.string() })

  app.post('/subjects/:id/absences', {
    schema: {
      tags: ['registry'], summary: 'Declare an absence ahead (a trip, a hospital stay): no inactivity or vacancy alert for the subject in that window',
      params: SubjectParams,
      body: z.object({
        from: z.iso.datetime({ offset: true }).optional().describe('when the absence starts; default now'),
        until: z.iso.datetime({ offset: true }).describe('when the subject is expected back'),
        note: z.string().max(500).optional(),
      }),
      response: { 201: AbsenceOut, ...errors },
    },
  }, async (req, reply) => {
    const s = await readSubject(req, req.params.id, 'declare_absence')
    const from = req.body.from ? { from: Date.parse(req.body.from) } : {}
    return reply.status(201).send(await app.deps.alerts.declareAbsence({ subjectId: s.id, ...from, until: Date.parse(req.body.until), ...(req.body.note ? { note: req.body.note } : {}), actor: req.principal.id }))
  })

  app.get('/subjects/:id/absences', {
    schema: { tags: ['registry'], summary: 'Absences declared for a subject: current, upcoming and those ended in the last 30 days', params: SubjectParams, response: { 200: z.array(AbsenceOut), ...errors } },
  }, async (req) => {
    const s = await readSubject(req, req.params.id, 'read_absences')
    return app.deps.alerts.listAbsences(s.id)
  })

  app.delete('/subjects/:id/absences/:absenceId', {
    schema: { tags: ['registry'], summary: 'Cancel a declared absence', params: z.object({ id: z.string(), absenceId: z.string() }), response: { 200: AbsenceOut, ...errors } },
  }, async (req) => {
    const s = await readSubject(req, req.params.id, 'cancel_absence')
    return app.deps.alerts.cancelAbsence(s.id, req.params.absenceId)
  })

  app.post('/devices', {
    schema: { tags: ['registry'], summary: 'Register a device; answers its MQTT credentials (password shown once) and topics', body: DeviceIn, response: { 201: DeviceOut, ...errors } },
  }, async (req, reply) => {
    requireAdmin(req)
    return reply.status(201).send(await registry.createDevice(req.body))
  })

  app.get('/dead-letters', {
    schema: {
      tags: ['ingest'], summary: 'Payloads that were kept, not stored, with the reason; newest first, paged: pass the last id seen as `before` for the next page',
      querystring: z.object({ device: z.string().optional(), before: z.coerce.number().int().positive().optional(), ...Paging }),
      response: { 200: z.array(z.object({ id: z.number(), receivedAt: z.string(), source: z.string(), topic: z.string().nullable(), deviceId: z.string().nullable(), code: z.string(), reason: z.string(), payload: z.string().describe('the first 4 KB of the payload (base64: when binary)'), payloadBytes: z.number().nullable(), payloadSha256: z.string().nullable() })), ...errors },
    },
  }, async (req) => {
    requireSupervisor(req)
    const { rows } = await db.query<{ id: string, received_at: Date, source: string, topic: string | null, device_id: string | null, code: string, reason: string, payload: string, payload_bytes: number | null, payload_sha256: string | null }>(
      `SELECT id, received_at, source, topic, device_id, code, reason, payload, payload_bytes, payload_sha256 FROM dead_letters
       WHERE ($1::text IS NULL OR device_id = $1) AND ($4::bigint IS NULL OR id < $4) ORDER BY id DESC LIMIT $2 OFFSET $3`, [req.query.device ?? null, req.query.limit, req.query.offset, req.query.before ?? null])
    return rows.map((r) => ({ id: Number(r.id), receivedAt: r.received_at.toISOString(), source: r.source, topic: r.topic, deviceId: r.device_id, code: r.code, reason: r.reason, payload: r.payload, payloadBytes: r.payload_bytes, payloadSha256: r.payload_sha256 }))
  })
}
