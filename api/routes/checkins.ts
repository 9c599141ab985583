import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { GridcareError } from '../../errors/index.ts'
import { requireCovers } from '../auth.ts'
import { auditReads } from '../audit.ts'
import { CheckinOut, errors, Paging } from '../schemas.ts'

/** Check-ins as the command centre sees them (behind the bearer token). */
export const checkinRoutes: FastifyPluginAsyncZod = async (app) => {
  const { alerts } = app.deps
  const scopeOf = (p: { type: string, scopes?: string[] }) => p.type === 'admin' ? null : p.scopes!

  app.get('/checkins', {
    schema: {
      tags: ['checkins'], summary: 'Check-ins sent to subjects\' contacts in your part of the tree, newest first',
      querystring: z.object({ state: z.enum(['pending', 'well', 'help', 'expired', 'cancelled']).optional(), alert: z.string().optional(), ...Paging }),
      response: { 200: z.array(CheckinOut), ...errors },
    },
  }, async (req) => {
    const list = await alerts.listCheckins({ ...(req.query.alert ? { alertId: req.query.alert } : {}), ...(req.query.state ? { state: req.query.state } : {}), scope: scopeOf(req.principal), limit: req.query.limit, offset: req.query.offset })
    await auditReads(app, req, 'read_checkin_contact', list.map((c) => c.id)) // each names a contact and their phone
    return list
  })

  app.get('/checkins/summary', {
    schema: {
      tags: ['checkins'], summary: 'Visits avoided: check-ins answered "well" (closing the alert without a worker), in a period',
      querystring: z.object({ from: z.iso.datetime({ offset: true }).optional(), to: z.iso.datetime({ offset: true }).optional() }),
      response: { 200: z.object({ visitsAvoided: z.number() }), ...errors },
    },
  }, async (req) => ({
    visitsAvoided: await alerts.visitsAvoided(scopeOf(req.principal), req.query.from ? Date.parse(req.query.from) : undefined, req.query.to ? Date.parse(req.query.to) : undefined),
  }))

  app.get('/alerts/:id/checkins', {
    schema: { tags: ['checkins'], summary: 'An alert\'s stage and its check-ins', params: z.object({ id: z.string() }), response: { 200: z.object({ stage: z.enum(['checkin', 'task']), checkins: z.array(CheckinOut) }), ...errors } },
  }, async (req) => {
    const a = await alerts.getAlert(req.params.id)
    if (!a) throw new GridcareError('NOT_FOUND', `no alert "${req.params.id}"`)
    requireCovers(req, a.path)
    const checkins = await alerts.listCheckins({ alertId: a.id, scope: null, limit: 100, offset: 0 })
    await auditReads(app, req, 'read_checkin_contact', checkins.map((c) => c.id))
    return { stage: a.stage, checkins }
  })
}
