import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { GridcareError } from '../../errors/index.ts'
import { INDEX_FIGURES, Thresholds, Weights } from '../../reports/index.ts'
import { AddressCode } from '../../vocab/index.ts'
import { requireCovers } from '../auth.ts'
import { errors } from '../schemas.ts'
import { scopeFor } from './statistics.ts'
import { requireCommandCentre } from './webhooks.ts'

const Colour = z.enum(['green', 'yellow', 'orange', 'red'])
const IndexFiguresOut = z.object({ ...Object.fromEntries(INDEX_FIGURES.map((f) => [f, z.number()])), visitsAvoided: z.number() })
const SettingsOut = z.object({
  weights: z.object(Object.fromEntries(INDEX_FIGURES.map((f) => [f, z.number()]))).describe('points taken from 100 per unit of each figure'),
  thresholds: Thresholds.describe('a score at or above green is green, else at or above yellow yellow, else at or above orange orange, else red'),
})
const Month = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'a month YYYY-MM')

/** The monthly four-colour safety index per grid (green, yellow, orange, red). */
export const safetyIndexRoutes: FastifyPluginAsyncZod = async (app) => {
  const { reports } = app.deps

  app.get('/index', {
    schema: {
      tags: ['reports'], summary: 'The month\'s safety index: one entry per grid under scope; a closed month from its stored history',
      querystring: z.object({ month: Month, scope: AddressCode.optional().describe('default your whole part of the tree') }),
      response: { 200: z.array(z.object({ grid: z.string(), name: z.string(), colour: Colour, score: z.number(), figures: IndexFiguresOut, closed: z.boolean() })), ...errors },
    },
  }, async (req) => {
    const { scope, scopes } = await scopeFor(req, req.query.scope)
    return reports.safetyIndex(req.query.month, scope?.code ?? null, scopes)
  })

  app.get('/index/history', {
    schema: {
      tags: ['reports'], summary: 'A grid\'s scores of closed months, newest first, each with the weights it was scored with',
      querystring: z.object({ grid: AddressCode }),
      response: { 200: z.array(z.object({ month: z.string(), colour: Colour, score: z.number(), figures: IndexFiguresOut, settings: SettingsOut, computedAt: z.string() })), ...errors },
    },
  }, async (req) => {
    const a = await app.deps.addresses.get(req.query.grid)
    if (!a) throw new GridcareError('ADDRESS_UNKNOWN', `address "${req.query.grid}" is not in the address base`)
    if (a.level !== 'grid') throw new GridcareError('ADDRESS_WRONG_LEVEL', `"${a.code}" is a ${a.level}, not a grid`)
    requireCovers(req, a.path)
    return reports.history(a.code)
  })

  app.get('/index/weights', {
    schema: { tags: ['reports'], summary: 'The index\'s weights and colour thresholds (admin or command centre)', response: { 200: SettingsOut.extend({ updatedBy: z.string().nullable(), updatedAt: z.string().nullable() }), ...errors } },
  }, async (req) => {
    requireCommandCentre(req)
    return reports.settings()
  })

  app.put('/index/weights', {
    schema: {
      tags: ['reports'], summary: 'Change weights (merged over the current ones) and thresholds; closed months keep their scores',
      body: z.object({ weights: Weights.optional(), thresholds: Thresholds.optional() }),
      response: { 200: SettingsOut.extend({ updatedBy: z.string().nullable(), updatedAt: z.string().nullable() }), ...errors },
    },
  }, async (req) => {
    requireCommandCentre(req)
    return reports.setSettings(req.body, req.principal.id)
  })
}
