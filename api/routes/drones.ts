import type { FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { GridcareError } from '../../errors/index.ts'
import { covers } from '../../registry/index.ts'
import { EventTime, Id } from '../../vocab/index.ts'
import { requireCovers } from '../auth.ts'
import { errors } from '../schemas.ts'

const DroneOut = z.object({
  id: z.string(), street: z.string(), address: z.string().nullable(),
  last: z.object({ ts: z.string(), lat: z.number(), lon: z.number(), alt: z.number().nullable(), battery: z.number().nullable(), seenAt: z.string().describe('server time the report arrived') }).nullable()
    .describe('last position report (event time), null before the first'),
  flying: z.boolean().describe('a report is expected within the lost-link interval'),
  linkLostAt: z.string().nullable(), lowBatteryAt: z.string().nullable(),
})
const TrackOut = z.object({
  id: z.string(), from: z.string(), to: z.string(),
  points: z.array(z.object({ ts: z.string(), lat: z.number(), lon: z.number(), alt: z.number().nullable(), battery: z.number().nullable() })),
})
const Time = z.union([z.coerce.number(), z.string()]).pipe(z.preprocess((v) => typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v, EventTime))

const HOUR = 3_600_000

/** The drone fleet for the map: drones with their last position, and each one's track. */
export const droneRoutes: FastifyPluginAsyncZod = async (app) => {
  const { addresses } = app.deps
  const fleetOf = () => {
    if (!app.deps.fleet) throw new GridcareError('NOT_FOUND', 'this gridcare runs no drone fleet')
    return app.deps.fleet
  }

  /** A drone's place in the tree is its street's path (its registered address's, when it has one). */
  async function pathOf (d: { street: string, address: string | null }): Promise<string[]> {
    const a = await addresses.get(d.address ?? d.street)
    return a?.path ?? [d.street]
  }
  const visible = async (req: FastifyRequest, d: { street: string, address: string | null }) => covers(req.principal, await pathOf(d))

  app.get('/drones', {
    schema: { tags: ['drones'], summary: 'Drones in your part of the address tree, with their last position', response: { 200: z.array(DroneOut), ...errors } },
  }, async (req) => {
    const all = await fleetOf().list()
    const out = []
    for (const d of all) if (await visible(req, d)) out.push(d)
    return out
  })

  app.get('/drones/:id/track', {
    schema: {
      tags: ['drones'], summary: 'A drone\'s positions between from and to (event time; default the two hours before its last report)',
      params: z.object({ id: Id }),
      querystring: z.object({ from: Time.optional(), to: Time.optional(), limit: z.coerce.number().int().min(1).max(20_000).default(5000) }),
      response: { 200: TrackOut, ...errors },
    },
  }, async (req) => {
    const fleet = fleetOf()
    const d = (await fleet.list()).find((x) => x.id === req.params.id)
    if (!d) throw new GridcareError('NOT_FOUND', `no drone "${req.params.id}"`)
    requireCovers(req, await pathOf(d))
    const to = req.query.to ?? (d.last ? Date.parse(d.last.ts) : Date.now())
    const from = req.query.from ?? to - 2 * HOUR
    if (!(from <= to)) throw new GridcareError('REQUEST_INVALID', 'from must not be after to')
    const points = await fleet.track(d.id, from, to, req.query.limit)
    return { id: d.id, from: new Date(from).toISOString(), to: new Date(to).toISOString(), points }
  })
}
