import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { GridcareError } from '../errors/index.ts'
import { covers, type Principal } from '../registry/index.ts'

declare module 'fastify' {
  interface FastifyRequest { principal: Principal }
}

/** Every /api call carries `Authorization: Bearer <token>`. */
export const authPlugin = fp(async (app) => {
  app.decorateRequest('principal', null as unknown as { getter: () => Principal })
  app.addHook('onRequest', async (req: FastifyRequest) => {
    const h = req.headers.authorization
    const m = h ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null
    if (!m) throw new GridcareError('AUTH_MISSING_TOKEN')
    const p = await app.deps.registry.principalFor(m[1]!)
    if (!p) throw new GridcareError('AUTH_BAD_TOKEN')
    req.principal = p
  })
})

export function requireAdmin (req: FastifyRequest, _reply?: FastifyReply) {
  if (req.principal.type !== 'admin') throw new GridcareError('AUTH_FORBIDDEN', 'this needs the admin token')
}

/** Leaders and command centres (and the admin) review and see wide views. */
export function requireSupervisor (req: FastifyRequest) {
  const p = req.principal
  if (p.type === 'worker' && p.role === 'grid_worker') throw new GridcareError('AUTH_FORBIDDEN', 'a grid worker may not do this; a leader or command centre may')
  if (p.type === 'worker' && p.role === 'drone_operator') throw new GridcareError('AUTH_FORBIDDEN', 'a drone operator may not do this; a leader or command centre may')
}

export function requireCovers (req: FastifyRequest, path: readonly string[]) {
  if (!covers(req.principal, path)) throw new GridcareError('AUTH_FORBIDDEN', 'outside your part of the address tree')
}

/** The address codes the caller covers, or null for everything (the admin): for SQL `path && $scope`. */
export const scopeOf = (req: FastifyRequest): string[] | null => req.principal.type === 'admin' ? null : req.principal.scopes

/** Every one of the paths lies in the caller's part of the tree (a worker spanning two grids is changed only by one covering both). */
export function requireCoversAll (req: FastifyRequest, paths: ReadonlyArray<readonly string[]>) {
  if (paths.length === 0 && req.principal.type !== 'admin') throw new GridcareError('AUTH_FORBIDDEN', 'outside your part of the address tree')
  for (const p of paths) requireCovers(req, p)
}

/**
 * A report, a declaration or anything else placed at an address (or a position): the place
 * must lie in the caller's part of the tree. Unknown places are left to the route to refuse.
 */
export async function requirePlaceInScope (req: FastifyRequest, place: { address?: string | undefined, lat?: number | undefined, lon?: number | undefined }) {
  if (req.principal.type === 'admin') return
  const { addresses } = req.server.deps
  const code = place.address ?? (place.lat !== undefined && place.lon !== undefined ? await addresses.locate(place.lat, place.lon) : null)
  const a = code ? await addresses.get(code) : null
  if (a) requireCovers(req, a.path)
}
