import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { quantileSorted } from 'simple-statistics'
import { z } from 'zod'
import { GridcareError } from '../../errors/index.ts'
import { AddressCode } from '../../vocab/index.ts'
import { requireCovers } from '../auth.ts'
import { auditReads } from '../audit.ts'
import { errors } from '../schemas.ts'

const HOUR = 3_600_000

/** "王*", "W*** F***": enough to tell two neighbours apart on a wall, not enough to name them. */
export function maskName (name: string | null): string | null {
  if (!name) return name
  return name.split(/\s+/).map((w, i) => i === 0 || /^[A-Za-z]/.test(w) ? w[0] + '*'.repeat(Math.min(3, Math.max(1, [...w].length - 1))) : '').filter(Boolean).join(' ')
}
export const maskPhone = (phone: string | null) => !phone ? phone : phone.length >= 7 ? phone.slice(0, 3) + '****' + phone.slice(-4) : '****'
/** "101室" -> "1**室": the floor shows, the door does not. */
export const maskFlat = (flat: string) => flat.replace(/\d+/g, (d) => d[0] + '*'.repeat(d.length - 1))

const Household = z.object({
  subject: z.string(), kind: z.string(), unit: z.string(), building: z.string().nullable(), flat: z.string(), name: z.string().nullable(), phone: z.string().nullable(),
  masked: z.boolean(), open: z.array(z.object({ id: z.string(), kind: z.string(), severity: z.string() })),
})

/** Households for the drill-down (masked), a deliberate unmask (audited) and recent use against the usual curve (audited). */
export const householdRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db, registry, addresses } = app.deps
  const offsetHours = app.deps.utcOffsetHours ?? 8

  app.get('/households', {
    schema: {
      tags: ['pages'], summary: 'Care subjects under an address (a building, a grid...), names, phones and flats masked, with their open alerts',
      querystring: z.object({ under: AddressCode }), response: { 200: z.array(Household), ...errors },
    },
  }, async (req) => {
    const a = await addresses.get(req.query.under)
    if (!a) throw new GridcareError('NOT_FOUND', `no address "${req.query.under}"`)
    requireCovers(req, a.path)
    const { rows } = await db.query<{ id: string, kind: string, address: string, name: string | null, phone: string | null, unit_name: string, building: string | null }>(
      `SELECT s.id, s.kind, s.address, s.name, s.phone, u.name AS unit_name, b.name AS building
       FROM subjects s JOIN addresses u ON u.code = s.address LEFT JOIN addresses b ON b.code = u.parent
       WHERE $1 = ANY(u.path) ORDER BY s.address, s.id LIMIT 2000`, [a.code])
    const open = (await db.query<{ id: string, subject: string, kind: string, severity: string }>(
      `SELECT id, subject, kind, severity FROM alerts WHERE status = 'open' AND $1 = ANY(path) AND subject IS NOT NULL`, [a.code])).rows
    // Masked, but still people: the listing is audited like any read of them.
    await auditReads(app, req, 'list_households', rows.map((s) => s.id))
    return rows.map((s) => ({
      subject: s.id, kind: s.kind, unit: s.address, building: s.building, flat: maskFlat(s.unit_name), name: maskName(s.name), phone: maskPhone(s.phone), masked: true,
      open: open.filter((x) => x.subject === s.id).map((x) => ({ id: x.id, kind: x.kind, severity: x.severity })),
    }))
  })

  app.post('/subjects/:id/unmask', {
    schema: {
      tags: ['pages'], summary: 'Show a person\'s name, phone, exact flat and contacts: a deliberate act, written to the audit log as "unmask"',
      params: z.object({ id: z.string() }),
      response: { 200: z.object({ subject: z.string(), name: z.string().nullable(), phone: z.string().nullable(), flat: z.string(), building: z.string().nullable(), contacts: z.array(z.object({ name: z.string().optional(), phone: z.string().optional(), relation: z.string().optional() })) }), ...errors },
    },
  }, async (req) => {
    const s = await registry.getSubject(req.params.id)
    if (!s) throw new GridcareError('NOT_FOUND', `no subject "${req.params.id}"`)
    requireCovers(req, s.path)
    await registry.audit(req.principal.id, 'unmask', s.id)
    const unit = await addresses.get(s.address)
    const building = unit?.parent ? await addresses.get(unit.parent) : null
    const raw: unknown = s.contacts ?? s.details.contacts
    const contacts = Array.isArray(raw) ? raw.filter((c) => c && typeof c === 'object').map((c) => ({ ...(typeof c.name === 'string' ? { name: c.name } : {}), ...(typeof c.phone === 'string' ? { phone: c.phone } : {}), ...(typeof c.relation === 'string' ? { relation: c.relation } : {}) })) : []
    return { subject: s.id, name: s.name, phone: s.phone, flat: unit?.name ?? s.address, building: building?.name ?? null, contacts }
  })

  app.get('/subjects/:id/usage', {
    schema: {
      tags: ['pages'], summary: 'A subject\'s hourly use over the last hours to its latest reading (or `to`) beside its usual curve: the median and quartiles of the same local hour over the 14 days before (the read is audited)',
      params: z.object({ id: z.string() }),
      querystring: z.object({ hours: z.coerce.number().int().min(6).max(168).default(24), to: z.iso.datetime({ offset: true }).optional() }),
      response: {
        200: z.object({
          subject: z.string(), unit: z.enum(['kwh', 'm3']), to: z.string().nullable(),
          points: z.array(z.object({ at: z.string(), hour: z.number(), amount: z.number().nullable(), usual: z.number().nullable(), low: z.number().nullable(), high: z.number().nullable() })),
        }),
        ...errors,
      },
    },
  }, async (req) => {
    const s = await registry.getSubject(req.params.id)
    if (!s) throw new GridcareError('NOT_FOUND', `no subject "${req.params.id}"`)
    requireCovers(req, s.path)
    await registry.audit(req.principal.id, 'read_energy', s.id)
    const devs = (await db.query<{ id: string, kind: string }>(`SELECT id, kind FROM devices WHERE subject = $1 AND kind IN ('meter', 'water_meter') ORDER BY kind, id`, [s.id])).rows
    const meters = devs.some((d) => d.kind === 'meter') ? devs.filter((d) => d.kind === 'meter') : devs
    const unit = meters[0]?.kind === 'water_meter' ? 'm3' as const : 'kwh' as const
    const ids = meters.map((d) => d.id)
    let to = req.query.to ? Date.parse(req.query.to) : null
    if (to === null && ids.length > 0) {
      const { rows } = await db.query<{ last: Date | null }>('SELECT max(ts) AS last FROM readings WHERE device_id = ANY($1)', [ids])
      to = rows[0]?.last ? Math.floor(rows[0].last.getTime() / HOUR) * HOUR + HOUR : null
    }
    if (to === null) return { subject: s.id, unit, to: null, points: [] }
    const hours = req.query.hours
    const from = to - hours * HOUR
    const { rows } = await db.query<{ bucket: Date, amount: number | null }>(
      `SELECT bucket, sum(amount) AS amount FROM energy_hourly WHERE device_id = ANY($1) AND bucket >= $2 AND bucket < $3 GROUP BY bucket ORDER BY bucket`,
      [ids, new Date(from - 14 * 24 * HOUR), new Date(to)])
    const localHour = (t: number) => new Date(t + offsetHours * HOUR).getUTCHours()
    const byHour = Array.from({ length: 24 }, () => [] as number[])
    const recent = new Map<number, number | null>()
    for (const r of rows) {
      const t = r.bucket.getTime()
      const v = r.amount === null ? null : Number(r.amount)
      if (t >= from) recent.set(t, v)
      else if (v !== null) byHour[localHour(t)]!.push(v)
    }
    const r3 = (x: number) => Math.round(x * 1000) / 1000
    const points = Array.from({ length: hours }, (_, i) => {
      const t = from + i * HOUR
      const base = byHour[localHour(t)]!.sort((a, b) => a - b)
      const q = (p: number) => base.length >= 3 ? r3(quantileSorted(base, p)) : null
      const v = recent.get(t)
      return { at: new Date(t).toISOString(), hour: localHour(t), amount: v === undefined || v === null ? null : r3(v), usual: q(0.5), low: q(0.25), high: q(0.75) }
    })
    return { subject: s.id, unit, to: new Date(to).toISOString(), points }
  })
}
