import type { FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { ALERT_CATEGORIES } from '../../alerts/views.ts'
import { GridcareError } from '../../errors/index.ts'
import { fileName, toCsv, toXlsx, XLSX_TYPE, type Area, type Report } from '../../reports/index.ts'
import { AddressCode } from '../../vocab/index.ts'
import { requireCovers } from '../auth.ts'
import { errors } from '../schemas.ts'

const Spread = z.object({ count: z.number(), median: z.number().nullable(), p90: z.number().nullable() })
export const FiguresOut = z.object({
  cases: z.number(),
  byCategory: z.object(Object.fromEntries(ALERT_CATEGORIES.map((c) => [c, z.number()]))),
  bySource: z.object({ detector: z.number(), report: z.number() }),
  tasks: z.number(),
  responseMinutes: Spread.describe('task created -> first acknowledged (or on site), minutes'),
  resolutionMinutes: Spread.describe('task created -> resolved, minutes; self-resolved tasks left out'),
  withinDeadline: z.object({ count: z.number(), share: z.number().nullable() }).describe('tasks never escalated, acknowledged and resolved by their deadlines'),
  falseAlarms: z.object({ count: z.number(), share: z.number().nullable() }).describe('share of cases'),
  selfResolved: z.number(), visitsAvoided: z.number().describe('cases closed by a contact\'s "all well"'),
  escalations: z.number(), unresolved: z.number().describe('tasks not resolved by the end of the period'),
})
const AreaOut = z.object({ code: z.string(), name: z.string(), level: z.string() })
const ReportOut = z.object({
  period: z.enum(['week', 'month']), start: z.string(), from: z.string(), to: z.string(), utcOffsetHours: z.number(),
  scope: AreaOut.nullable(), figures: FiguresOut, areas: z.array(AreaOut.extend({ figures: FiguresOut })),
})
const Format = z.enum(['json', 'csv', 'xlsx']).optional().describe('instead of the Accept header: csv, xlsx')

/** A scope the caller may see: the code's own path must be inside its part of the tree (403 otherwise). Without one, the caller's whole part. */
export async function scopeFor (req: FastifyRequest, code: string | undefined): Promise<{ scope: Area | null, scopes: string[] | null }> {
  if (code !== undefined) {
    const a = await req.server.deps.addresses.get(code)
    if (!a) throw new GridcareError('ADDRESS_UNKNOWN', `address "${code}" is not in the address base`)
    requireCovers(req, a.path)
    return { scope: { code: a.code, name: a.name, level: a.level }, scopes: null }
  }
  const p = req.principal
  return { scope: null, scopes: p.type === 'admin' ? null : p.scopes }
}

/** JSON, or CSV (`Accept: text/csv`, `?format=csv`), or XLSX (`Accept: <xlsx type>`, `?format=xlsx`). */
async function send (req: FastifyRequest, reply: FastifyReply, report: Report, format: string | undefined) {
  const accept = req.headers.accept ?? ''
  const f = format ?? (accept.includes(XLSX_TYPE) ? 'xlsx' : accept.includes('text/csv') ? 'csv' : 'json')
  if (f === 'csv') return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${fileName(report, 'csv')}"`).send(toCsv(report))
  if (f === 'xlsx') return reply.type(XLSX_TYPE).header('content-disposition', `attachment; filename="${fileName(report, 'xlsx')}"`).send(await toXlsx(report))
  return report
}

export const statisticsRoutes: FastifyPluginAsyncZod = async (app) => {
  const { reports } = app.deps

  app.get('/statistics', {
    schema: {
      tags: ['reports'],
      summary: 'The week\'s (Monday-Sunday) or month\'s figures for a part of the tree, in local time; JSON, CSV (Accept: text/csv) or XLSX',
      querystring: z.object({
        period: z.enum(['week', 'month']),
        start: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional().describe('a local date in the period (default today); the week or month containing it'),
        scope: AddressCode.optional().describe('address code; default your whole part of the tree'),
        format: Format,
      }),
      response: { 200: ReportOut, ...errors },
    },
  }, async (req, reply) => {
    const { scope, scopes } = await scopeFor(req, req.query.scope)
    return send(req, reply, await reports.build(req.query.period, req.query.start, scope, scopes), req.query.format)
  })

  app.get('/statistics/reports', {
    schema: {
      tags: ['reports'], summary: 'Reports made on schedule (weekly on Monday 01:00, monthly on the 1st 01:00 local) per street, community and grid',
      querystring: z.object({ period: z.enum(['week', 'month']).optional(), scope: AddressCode.optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      response: { 200: z.array(z.object({ id: z.string(), period: z.enum(['week', 'month']), start: z.string(), scope: z.string(), madeAt: z.string() })), ...errors },
    },
  }, async (req) => {
    const p = req.principal
    return reports.listStored(req.query, p.type === 'admin' ? null : p.scopes)
  })

  app.get('/statistics/reports/:id', {
    schema: {
      tags: ['reports'], summary: 'One stored report; JSON, CSV or XLSX as /statistics',
      params: z.object({ id: z.string() }), querystring: z.object({ format: Format }), response: { 200: ReportOut, ...errors },
    },
  }, async (req, reply) => {
    const found = await reports.getStored(req.params.id)
    if (!found) throw new GridcareError('NOT_FOUND', `no report "${req.params.id}"`)
    requireCovers(req, found.path)
    return send(req, reply, found.report, req.query.format)
  })
}
