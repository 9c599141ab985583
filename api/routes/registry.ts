import type { FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { GridcareError } from '../../errors/index.ts'
import { AddressCode, AddressLevel } from '../../vocab/index.ts'
import { auditReads } from '../audit.ts'
import { requireAdmin, requireCovers, requireSupervisor, scopeOf } from '../auth.ts'
import { AddressOut, errors, idParams, IdParam, Paging, SubjectIn, SubjectList, SubjectOut, SubjectUpdate } from '../schemas.ts'

const SubjectParams = idParams('e101')

/** Address base, care subjects and dead letters (workers and devices: workers.ts, devices.ts). */
export const registryRoutes: FastifyPluginAsyncZod = async (app) => {
  const { addresses, registry, db } = app.deps

  /**
   * What of the address base a caller may see: its part of the tree, and the addresses above
   * it (its street's and district's names); everything for the admin.
   */
  const ADDRESS_SCOPE = `($1::text[] IS NULL OR path && $1 OR code IN (SELECT unnest(path) FROM addresses WHERE code = ANY($1)))`

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
  }, async (req) => {
    const q = req.query
    const { rows } = await db.query<z.infer<typeof AddressOut>>(`SELECT code, parent, level, name, lat, lon, path, grid, street FROM addresses
      WHERE ${ADDRESS_SCOPE} AND ($2::text IS NULL OR $2 = ANY(path)) AND ($3::text IS NULL OR level = $3)
      ORDER BY code LIMIT $4 OFFSET $5`, [scopeOf(req), q.under ?? null, q.level ?? null, q.limit, q.offset])
    return rows
  })

  app.get('/addresses/:code', {
    schema: { tags: ['registry'], summary: 'One address (in your part of the tree, or above it)', params: z.object({ code: AddressCode.meta({ example: 'G1' }) }), response: { 200: AddressOut, ...errors } },
  }, async (req) => {
    const { rows } = await db.query<z.infer<typeof AddressOut>>(`SELECT code, parent, level, name, lat, lon, path, grid, street FROM addresses
      WHERE code = $2 AND ${ADDRESS_SCOPE}`, [scopeOf(req), req.params.code])
    if (rows[0]) return rows[0]
    if (await addresses.get(req.params.code)) throw new GridcareError('AUTH_FORBIDDEN', 'outside your part of the address tree')
    throw new GridcareError('NOT_FOUND', `no address "${req.params.code}"`)
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

  app.post('/subjects', {
    schema: { tags: ['registry'], summary: 'Register a care subject in a unit', body: SubjectIn, response: { 201: SubjectOut, ...errors } },
  }, async (req, reply) => {
    requireAdmin(req)
    return reply.status(201).send(await registry.createSubject(req.body))
  })

  app.get('/subjects', {
    schema: {
      tags: ['registry'], summary: 'Care subjects in your part of the address tree (names and phones: each read is audited)',
      querystring: z.object({ under: AddressCode.optional().describe('only those under this address code'), ...Paging }),
      response: { 200: SubjectList, ...errors },
    },
  }, async (req) => {
    const { under, limit, offset } = req.query
    const list = await registry.listSubjects(scopeOf(req), { limit, offset }, under ? { under } : {})
    await auditReads(app, req, 'list_subjects', list.map((s) => s.id))
    return list
  })

  app.delete('/subjects/:id', {
    schema: {
      tags: ['registry'],
      summary: 'Remove a care subject (admin): gone from lists, reads and detection, its devices detached; its alerts, tasks and absences stay as history',
      params: SubjectParams,
      response: { 200: z.object({ id: z.string(), removed: z.literal(true), detachedDevices: z.array(z.string()) }).meta({ examples: [{ id: 'e101', removed: true, detachedDevices: ['m101'] }] }), ...errors },
    },
  }, async (req) => {
    requireAdmin(req)
    const out = await registry.removeSubject(req.params.id)
    await registry.audit(req.principal.id, 'remove_subject', req.params.id)
    return { id: req.params.id, removed: true as const, ...out }
  })

  app.get('/subjects/:id', {
    schema: { tags: ['registry'], summary: 'A subject\'s details (the read is written to the audit log)', params: SubjectParams, response: { 200: SubjectOut, ...errors } },
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
      params: SubjectParams,
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
    schema: { tags: ['registry'], summary: 'Cancel a declared absence', params: z.object({ id: IdParam.meta({ example: 'e101' }), absenceId: IdParam.meta({ example: '3f2b6c1e-8d0a-4c59-9a53-0b7f0e3c2a11' }) }), response: { 200: AbsenceOut, ...errors } },
  }, async (req) => {
    const s = await readSubject(req, req.params.id, 'cancel_absence')
    return app.deps.alerts.cancelAbsence(s.id, req.params.absenceId)
  })

  app.get('/dead-letters', {
    schema: {
      tags: ['ingest'], summary: 'Payloads that were kept, not stored, with the reason; newest first, paged: pass the last id seen as `before` for the next page',
      querystring: z.object({ device: IdParam.optional(), before: z.coerce.number().int().positive().optional(), ...Paging }),
      response: { 200: z.array(z.object({ id: z.number(), receivedAt: z.string(), source: z.string(), topic: z.string().nullable(), deviceId: z.string().nullable(), code: z.string(), reason: z.string(), payload: z.string().describe('the first 4 KB of the payload (base64: when binary)'), payloadBytes: z.number().nullable(), payloadSha256: z.string().nullable() })), ...errors },
    },
  }, async (req) => {
    requireSupervisor(req)
    // Outside the admin: only devices registered at an address in the caller's part of the tree.
    if (req.query.device && req.principal.type !== 'admin') {
      const d = await registry.getDeviceRecord(req.query.device)
      if (!d) throw new GridcareError('AUTH_FORBIDDEN', `device "${req.query.device}" is not in your part of the address tree`)
      requireCovers(req, d.path)
    }
    const { rows } = await db.query<{ id: string, received_at: Date, source: string, topic: string | null, device_id: string | null, code: string, reason: string, payload: string, payload_bytes: number | null, payload_sha256: string | null }>(
      `SELECT dl.id, dl.received_at, dl.source, dl.topic, dl.device_id, dl.code, dl.reason, dl.payload, dl.payload_bytes, dl.payload_sha256 FROM dead_letters dl
       WHERE ($1::text IS NULL OR dl.device_id = $1) AND ($5::bigint IS NULL OR dl.id < $5)
         AND ($4::text[] IS NULL OR EXISTS (SELECT 1 FROM devices d JOIN addresses a ON a.code = d.address WHERE d.id = dl.device_id AND a.path && $4))
       ORDER BY dl.id DESC LIMIT $2 OFFSET $3`, [req.query.device ?? null, req.query.limit, req.query.offset, scopeOf(req), req.query.before ?? null])
    return rows.map((r) => ({ id: Number(r.id), receivedAt: r.received_at.toISOString(), source: r.source, topic: r.topic, deviceId: r.device_id, code: r.code, reason: r.reason, payload: r.payload, payloadBytes: r.payload_bytes, payloadSha256: r.payload_sha256 }))
  })
}
