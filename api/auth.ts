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
}

export function requireCovers (req: FastifyRequest, path: readonly string[]) {
  if (!covers(req.principal, path)) throw new GridcareError('AUTH_FORBIDDEN', 'outside your part of the address tree')
}
