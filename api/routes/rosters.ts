import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { GridcareError } from '../../errors/index.ts'
import { AddressCode, Severity } from '../../vocab/index.ts'
import { requireCovers, requireSupervisor } from '../auth.ts'
import { errors } from '../schemas.ts'

const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'a local time HH:MM')
const RosterBody = z.object({
  shifts: z.array(z.object({ worker: z.string(), weekdays: z.array(z.number().int().min(0).max(6)).min(1).describe('0 Sunday .. 6 Saturday'), from: HHMM, to: HHMM.describe('before from: runs past midnight') })).max(500).default([]),
  exceptions: z.array(z.object({ worker: z.string(), date: z.iso.date(), onDuty: z.boolean(), from: HHMM.optional(), to: HHMM.optional(), note: z.string().max(500).optional() })).max(1000).default([]),
  backups: z.array(z.string()).max(20).default([]).describe('tried in order when nobody is on duty'),
  leader: z.string().nullable().default(null).describe('the grid leader: last in routing, first in escalation'),
})
const RosterOut = RosterBody.extend({ grid: z.string(), onDutyNow: z.string().nullable().describe('who would get a new task now') })

const Policy = z.object({
  severity: Severity, category: z.string().regex(/^(\*|welfare|safety|housing|device_fault|report)$/).describe('a category, or * for the default'),
  ackMin: z.number().int().min(1), arriveMin: z.number().int().min(1), resolveMin: z.number().int().min(1), reviewMin: z.number().int().min(1), remindMin: z.number().int().min(0),
})

/** Rosters per grid and deadline policies: set by leaders and command centres at run time. */
export const rosterRoutes: FastifyPluginAsyncZod = async (app) => {
  const { alerts, addresses } = app.deps

  async function grid (code: string) {
    const a = await addresses.get(code)
    if (!a || a.level !== 'grid') throw new GridcareError('NOT_FOUND', `no grid "${code}"`)
    return a
  }

  app.get('/rosters/:grid', {
    schema: { tags: ['rosters'], summary: 'A grid\'s duty hours, exceptions, backups and leader, and who is on duty now', params: z.object({ grid: AddressCode }), response: { 200: RosterOut, ...errors } },
  }, async (req) => {
    const a = await grid(req.params.grid)
    requireCovers(req, a.path)
    return { ...await alerts.getRoster(a.code), onDutyNow: await alerts.whoWouldGet(a.code, a.path) }
  })

  app.put('/rosters/:grid', {
    schema: { tags: ['rosters'], summary: 'Replace a grid\'s roster (a leader or command centre over the grid)', params: z.object({ grid: AddressCode }), body: RosterBody, response: { 200: RosterOut, ...errors } },
  }, async (req) => {
    const a = await grid(req.params.grid)
    requireCovers(req, a.path)
    requireSupervisor(req)
    const r = await alerts.putRoster({ grid: a.code, ...req.body })
    return { ...r, onDutyNow: await alerts.whoWouldGet(a.code, a.path) }
  })

  app.get('/policies/deadlines', {
    schema: { tags: ['policies'], summary: 'Deadlines per stage (minutes) by severity and category; `*` rows apply where a category has none', response: { 200: z.array(Policy.extend({ updatedBy: z.string(), updatedAt: z.string() })), ...errors } },
  }, async () => alerts.listDeadlinePolicies())

  app.put('/policies/deadlines', {
    schema: {
      tags: ['policies'], summary: 'Set deadline rows (command centre or admin); new tasks take them at once, open tasks keep theirs',
      body: z.object({ set: z.array(Policy).max(100).default([]), remove: z.array(z.object({ severity: Severity, category: z.string() })).max(100).default([]) }),
      response: { 200: z.array(Policy.extend({ updatedBy: z.string(), updatedAt: z.string() })), ...errors },
    },
  }, async (req) => {
    const p = req.principal
    if (p.type === 'worker' && p.role !== 'command_centre') throw new GridcareError('AUTH_FORBIDDEN', 'deadline policies are set by a command centre or the admin')
    return alerts.putDeadlinePolicies(req.body.set, p.id, req.body.remove)
  })
}
