import { readFileSync } from 'node:fs'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { CheckinOut, errors } from '../schemas.ts'

const page = readFileSync(new URL('../../web/checkin.html', import.meta.url), 'utf8')

/**
 * A contact's answer to a check-in: no bearer token, the check-in's own secret instead (`s` in
 * the link `/checkin/<id>?s=<secret>`, given as `?s=` or as `secret` in the body).
 */
export const checkinAnswerRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post('/api/checkins/:id/answer', {
    schema: {
      tags: ['checkins'], summary: 'Answer a check-in: "well" closes the alert as a false alarm; "help" sends the worker. No token: the secret from the link.',
      security: [], params: z.object({ id: z.string().max(64) }),
      querystring: z.object({ s: z.string().max(200).optional() }),
      body: z.object({ answer: z.enum(['well', 'help']), secret: z.string().max(200).optional() }),
      response: { 200: CheckinOut, ...errors },
    },
  }, async (req) => app.deps.alerts.answerCheckin(req.params.id, req.body.secret ?? req.query.s ?? '', req.body.answer))

  app.get('/checkin/:id', { schema: { hide: true } }, (_req, reply) => reply.type('text/html; charset=utf-8').send(page))
}
