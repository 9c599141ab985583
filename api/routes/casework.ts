import type { FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { MAX_PHOTO_BYTES } from '../../alerts/casework.ts'
import { GridcareError } from '../../errors/index.ts'
import { Outcome } from '../../vocab/index.ts'
import { requireCovers, requireSupervisor } from '../auth.ts'
import { errors, TaskOut } from '../schemas.ts'

/** Working a case: reassign, hand back, comments, photos, bulk moves and the overdue list. */
export const caseworkRoutes: FastifyPluginAsyncZod = async (app) => {
  const { alerts } = app.deps
  const Params = z.object({ id: z.string() })
  const Reason = z.string().min(1).max(2000)

  async function taskFor (req: FastifyRequest, id: string) {
    const t = await alerts.getTask(id)
    if (!t) throw new GridcareError('NOT_FOUND', `no task "${id}"`)
    requireCovers(req, t.path)
    return t
  }

  app.get('/tasks/overdue', {
    schema: {
      tags: ['tasks'], summary: 'Tasks past the deadline of their state, in a part of the tree, with a count per escalation level',
      querystring: z.object({ scope: z.string().optional().describe('an address code; default your whole part of the tree'), level: z.coerce.number().int().min(0).max(3).optional() }),
      response: { 200: z.object({ byLevel: z.array(z.object({ level: z.number(), name: z.string(), count: z.number() })), tasks: z.array(TaskOut) }), ...errors },
    },
  }, async (req) => {
    const p = req.principal
    let scope = p.type === 'admin' ? null : p.scopes
    if (req.query.scope) {
      const a = await app.deps.addresses.get(req.query.scope)
      if (!a) throw new GridcareError('ADDRESS_UNKNOWN', `address "${req.query.scope}" is not in the address base`)
      requireCovers(req, a.path)
      scope = [a.code]
    }
    return alerts.overdue(scope, req.query.level)
  })

  app.post('/tasks/:id/reassign', {
    schema: { tags: ['tasks'], summary: 'A leader or command centre gives the task to another worker, with a reason', params: Params, body: z.object({ worker: z.string(), reason: Reason }), response: { 200: TaskOut, ...errors } },
  }, async (req) => {
    await taskFor(req, req.params.id)
    requireSupervisor(req)
    return alerts.reassign(req.params.id, req.body.worker, req.body.reason, req.principal.id)
  })

  app.post('/tasks/:id/handback', {
    schema: { tags: ['tasks'], summary: 'The assigned worker hands the task back with a reason; it goes to the next one by the roster', params: Params, body: z.object({ reason: Reason }), response: { 200: TaskOut, ...errors } },
  }, async (req) => {
    await taskFor(req, req.params.id)
    return alerts.handBack(req.params.id, req.body.reason, req.principal.id)
  })

  app.post('/tasks/:id/comments', {
    schema: { tags: ['tasks'], summary: 'A comment on the task (kept in its history)', params: Params, body: z.object({ text: z.string().min(1).max(4000) }), response: { 200: TaskOut, ...errors } },
  }, async (req) => {
    await taskFor(req, req.params.id)
    return alerts.comment(req.params.id, req.body.text, req.principal.id)
  })

  app.register(async (photos) => {
    // A photo is the raw body: image/jpeg, image/png or image/webp, at most 5 MB, checked by its bytes.
    photos.addContentTypeParser(['image/jpeg', 'image/png', 'image/webp', 'application/octet-stream'], { parseAs: 'buffer', bodyLimit: MAX_PHOTO_BYTES + 1 }, (_req, body, done) => done(null, body))
    photos.setErrorHandler((err, _req, reply) => {
      if ((err as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') throw new GridcareError('PHOTO_TOO_LARGE')
      throw err
    })
    photos.post('/tasks/:id/photos', {
      schema: { tags: ['tasks'], summary: 'A photo (raw JPEG/PNG/WebP body, at most 5 MB), kept by gridcare', params: Params, response: { 201: z.object({ id: z.string(), mime: z.string(), size: z.number() }), ...errors } },
    }, async (req, reply) => {
      const { id } = req.params as { id: string }
      await taskFor(req, id)
      if (!Buffer.isBuffer(req.body)) throw new GridcareError('PHOTO_BAD_TYPE')
      return reply.status(201).send(await alerts.addPhoto(id, req.body, req.principal.id))
    })
  })

  app.get('/tasks/:id/photos/:photoId', {
    schema: {
      tags: ['tasks'], summary: 'A photo of the task', params: z.object({ id: z.string(), photoId: z.string() }),
      produces: ['image/jpeg', 'image/png', 'image/webp'],
      response: { 200: z.string().describe('the photo\'s bytes, as uploaded (JPEG, PNG or WebP)').meta({ examples: ['<binary JPEG>'] }), ...errors },
    },
  }, async (req, reply) => {
    await taskFor(req, req.params.id)
    const p = await alerts.getPhoto(req.params.id, req.params.photoId)
    // Bytes go out as they are: fastify does not serialize a Buffer.
    return reply.type(p.mime).send(p.bytes as unknown as string)
  })

  app.post('/tasks/bulk', {
    schema: {
      tags: ['tasks'], summary: 'A command centre acknowledges or closes many tasks at once; each succeeds or fails on its own',
      body: z.object({ ids: z.array(z.string()).min(1).max(500), action: z.enum(['ack', 'resolve', 'review']), outcome: Outcome.optional(), note: z.string().max(4000).optional() }),
      response: { 200: z.array(z.object({ id: z.string(), ok: z.boolean(), state: z.string().optional(), error: z.object({ code: z.string(), message: z.string() }).optional() })), ...errors },
    },
  }, async (req) => {
    const p = req.principal
    if (p.type === 'worker' && p.role !== 'command_centre') throw new GridcareError('AUTH_FORBIDDEN', 'bulk moves are for a command centre or the admin')
    const ids: string[] = []
    const refused: Array<{ id: string, ok: boolean, error: { code: string, message: string } }> = []
    for (const id of req.body.ids) {
      const t = await alerts.getTask(id)
      if (!t) refused.push({ id, ok: false, error: { code: 'NOT_FOUND', message: `no task "${id}"` } })
      else if (p.type === 'worker' && !p.scopes.some((s) => t.path.includes(s))) refused.push({ id, ok: false, error: { code: 'AUTH_FORBIDDEN', message: 'outside your part of the address tree' } })
      else ids.push(id)
    }
    const body = { ...(req.body.outcome ? { outcome: req.body.outcome } : {}), ...(req.body.note ? { note: req.body.note } : {}) }
    return [...refused, ...await alerts.bulk(ids, req.body.action, p.id, body)]
  })
}
