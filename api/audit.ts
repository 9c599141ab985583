import type { FastifyInstance, FastifyRequest } from 'fastify'

/**
 * Reads of a person's details are written to the audit log, one row per person read
 * (actor, action, target), as the subject routes do. A route listing people calls this
 * before it answers; when the audit cannot be written the answer is not sent.
 */
export async function auditReads (app: FastifyInstance, req: FastifyRequest, action: string, targets: readonly string[]) {
  if (targets.length === 0) return
  await app.deps.registry.auditMany(req.principal.id, action, targets)
}

/** Alerts that carry a person's details: a resident's report with a contact. */
export function personTargets (views: ReadonlyArray<{ id: string, evidence?: unknown }>): string[] {
  return views.filter((v) => {
    const e = v.evidence as Record<string, unknown> | undefined
    return e !== undefined && e !== null && typeof e === 'object' && e.contact !== undefined && e.contact !== null && e.contact !== ''
  }).map((v) => v.id)
}

/** Audits the alerts among `views` that carry a contact (GET /api/alerts, the live feed). */
export const auditAlertContacts = (app: FastifyInstance, req: FastifyRequest, action: string, views: ReadonlyArray<{ id: string, evidence?: unknown }>) =>
  auditReads(app, req, action, personTargets(views))
