import type { FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { GridcareError } from '../../errors/index.ts'
import { WEBHOOK_EVENTS } from '../../notify/index.ts'
import { errors } from '../schemas.ts'

/** Webhooks are managed by the admin and command centres: they wire gridcare to SMS, voice and WeCom gateways. */
export function requireCommandCentre (req: FastifyRequest) {
  const p = req.principal
  if (p.type === 'worker' && p.role !== 'command_centre') throw new GridcareError('AUTH_FORBIDDEN', 'only the admin or a command centre may do this')
}

const WebhookIn = z.object({
  url: z.string().min(1).max(2000).describe('absolute http:// or https:// URL that receives POSTs'),
  secret: z.string().min(16).max(512).describe('HMAC-SHA256 key for X-Gridcare-Signature; kept, never shown again'),
  events: z.array(z.enum(WEBHOOK_EVENTS)).min(1).max(WEBHOOK_EVENTS.length),
})
const WebhookOut = z.object({
  id: z.string(), url: z.string(), events: z.array(z.string()),
  scopes: z.array(z.string()).nullable().describe('address codes whose events it receives (its maker\'s part of the tree); null: everything'),
  owner: z.string(), createdAt: z.string(),
})
const DeliveryOut = z.object({
  id: z.string().describe('the body\'s id; the same id may arrive twice'), event: z.string(), createdAt: z.string(),
  state: z.enum(['pending', 'delivered', 'failed', 'cancelled']),
  attempts: z.array(z.object({ at: z.string(), status: z.number().nullable().describe('HTTP status, null when none came'), error: z.string().nullable(), nextRetryAt: z.string().nullable() })),
  nextAttemptAt: z.string().nullable(), deliveredAt: z.string().nullable(),
})
const Params = z.object({ id: z.string() })

export const webhookRoutes: FastifyPluginAsyncZod = async (app) => {
  const hooks = () => {
    const n = app.deps.notify
    if (!n) throw new GridcareError('NOT_FOUND', 'webhooks are not enabled in this process')
    return n.webhooks
  }
  app.addHook('onRequest', async (req) => requireCommandCentre(req))

  app.post('/webhooks', {
    schema: {
      tags: ['webhooks'], summary: 'Subscribe a URL to events (admin or command centre); deliveries are signed and retried for 24 h',
      body: WebhookIn, response: { 201: WebhookOut, ...errors },
    },
  }, async (req, reply) => reply.status(201).send(await hooks().create(req.principal, req.body)))

  app.get('/webhooks', {
    schema: { tags: ['webhooks'], summary: 'Webhooks (the admin sees all, a command centre its own); secrets are never shown', response: { 200: z.array(WebhookOut), ...errors } },
  }, async (req) => hooks().list(req.principal))

  app.delete('/webhooks/:id', {
    schema: { tags: ['webhooks'], summary: 'Delete a webhook; pending deliveries are cancelled', params: Params, response: { 204: z.null(), ...errors } },
  }, async (req, reply) => { await hooks().remove(req.principal, req.params.id); return reply.status(204).send(null) })

  app.get('/webhooks/:id/deliveries', {
    schema: {
      tags: ['webhooks'], summary: 'Deliveries newest first, each attempt with its time, status code or error, and next retry',
      params: Params, querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }),
      response: { 200: z.array(DeliveryOut), ...errors },
    },
  }, async (req) => hooks().deliveries(req.principal, req.params.id, req.query.limit))
}
