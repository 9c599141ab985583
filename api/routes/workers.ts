import type { FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { GridcareError } from '../../errors/index.ts'
import { auditReads } from '../audit.ts'
import { requireAdmin, requireCoversAll, requireSupervisor, scopeOf } from '../auth.ts'
import { errors, idParams, Paging, TokenOut, WorkerIn, WorkerList, WorkerOut, WorkerPatch } from '../schemas.ts'

/** Workers: registered, listed within the caller's part of the tree, changed, removed; their tokens. */
const WorkerParams = idParams('w1')

export const workerRoutes: FastifyPluginAsyncZod = async (app) => {
  const { registry } = app.deps

  /** The worker, when every code it covers lies in the caller's part of the tree (or it is the caller). */
  async function workerInScope (req: FastifyRequest, id: string) {
    const w = await registry.getWorker(id)
    if (!w) throw new GridcareError('NOT_FOUND', `no worker "${id}"`)
    if (req.principal.id !== w.id) requireCoversAll(req, w.paths)
    return w
  }

  app.post('/workers', {
    schema: { tags: ['workers'], summary: 'Register a worker; answers its token (shown once)', body: WorkerIn, response: { 201: WorkerOut.extend({ token: z.string() }), ...errors } },
  }, async (req, reply) => {
    requireAdmin(req)
    return reply.status(201).send(await registry.createWorker(req.body))
  })

  app.get('/workers', {
    schema: {
      tags: ['workers'], summary: 'Workers in your part of the address tree (leaders, command centres, admin; names and phones: each read is audited)',
      querystring: z.object({ ...Paging }), response: { 200: WorkerList, ...errors },
    },
  }, async (req) => {
    requireSupervisor(req)
    const list = await registry.listWorkers(scopeOf(req), req.query)
    await auditReads(app, req, 'list_workers', list.map((w) => w.id))
    return list
  })

  app.get('/workers/:id', {
    schema: { tags: ['workers'], summary: 'One worker (yourself, or one in your part of the tree; the read is audited)', params: WorkerParams, response: { 200: WorkerOut, ...errors } },
  }, async (req) => {
    if (req.principal.id !== req.params.id) requireSupervisor(req)
    const { paths: _paths, ...w } = await workerInScope(req, req.params.id)
    await auditReads(app, req, 'read_worker', [w.id])
    return w
  })

  app.patch('/workers/:id', {
    schema: { tags: ['workers'], summary: 'Change a worker\'s name, phone, role or grids (admin)', params: WorkerParams, body: WorkerPatch, response: { 200: WorkerOut, ...errors } },
  }, async (req) => {
    requireAdmin(req)
    const w = await registry.updateWorker(req.params.id, req.body)
    await registry.audit(req.principal.id, 'change_worker', w.id)
    return w
  })

  app.delete('/workers/:id', {
    schema: {
      tags: ['workers'], summary: 'Remove a worker (admin): off duty, token revoked, gone from lists and routing; tasks and history keep its id',
      params: WorkerParams, response: { 204: z.null().meta({ examples: [null] }), ...errors },
    },
  }, async (req, reply) => {
    requireAdmin(req)
    await registry.removeWorker(req.params.id)
    await registry.audit(req.principal.id, 'remove_worker', req.params.id)
    return reply.status(204).send(null)
  })

  app.post('/workers/:id/token', {
    schema: { tags: ['workers'], summary: 'Rotate a worker\'s token (admin): answers the new one (shown once); the old one gets 401 from now on; its live MQTT connections and feed are closed', params: WorkerParams, response: { 200: TokenOut, ...errors } },
  }, async (req) => {
    requireAdmin(req)
    const token = await registry.rotateWorkerToken(req.params.id)
    await registry.audit(req.principal.id, 'rotate_worker_token', req.params.id)
    return { id: req.params.id, token }
  })

  app.delete('/workers/:id/token', {
    schema: { tags: ['workers'], summary: 'Revoke a worker\'s token (admin): it gets 401 until a new one is issued; its live MQTT connections and feed are closed', params: WorkerParams, response: { 204: z.null().meta({ examples: [null] }), ...errors } },
  }, async (req, reply) => {
    requireAdmin(req)
    await registry.revokeWorkerToken(req.params.id)
    await registry.audit(req.principal.id, 'revoke_worker_token', req.params.id)
    return reply.status(204).send(null)
  })

  app.put('/workers/:id/duty', {
    schema: {
      tags: ['workers'], summary: 'Put a worker on or off duty (yourself, or a worker all of whose grids are in your part of the tree)',
      params: WorkerParams, body: z.object({ onDuty: z.boolean() }).meta({ examples: [{ onDuty: false }] }), response: { 204: z.null().meta({ examples: [null] }), ...errors },
    },
  }, async (req, reply) => {
    if (req.principal.id !== req.params.id) requireSupervisor(req)
    await workerInScope(req, req.params.id)
    await registry.setOnDuty(req.params.id, req.body.onDuty)
    return reply.status(204).send(null)
  })

  app.get('/me', {
    schema: {
      tags: ['workers'], summary: 'Who this token belongs to',
      response: { 200: z.object({ type: z.enum(['admin', 'worker']), id: z.string(), role: z.string().optional(), grids: z.array(z.string()).optional() }).meta({ examples: [{ type: 'worker', id: 'w1', role: 'grid_worker', grids: ['G1'] }] }) },
    },
  }, async (req) => {
    const p = req.principal
    return p.type === 'admin' ? { type: p.type, id: p.id } : { type: p.type, id: p.id, role: p.role, grids: p.scopes }
  })
}
