import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { Principal } from '../../registry/index.ts'
import { errors } from '../schemas.ts'

const DAY = 86_400_000
/** The address codes a principal may see; null for everything. */
const scopeOf = (p: Principal) => p.type === 'admin' ? null : p.scopes

/** Start of the local day (UTC offset in hours) containing t, as epoch ms. */
export function localDayStart (t: number, offsetHours: number): number {
  const off = offsetHours * 3_600_000
  return Math.floor((t + off) / DAY) * DAY - off
}

const Counts = z.object({ code: z.string(), open: z.number(), openTasks: z.number(), today: z.number(), week: z.number() })

/**
 * What the pages draw from: grid areas as GeoJSON, and one overview of the caller's part of the tree
 * (places, counts by grid and community, a week's trend, device health, drone tracks). Read-only.
 */
export const overviewRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db } = app.deps
  const offsetHours = app.deps.utcOffsetHours ?? 8
  const now = app.deps.now ?? Date.now

  app.get('/ui/config', {
    schema: { tags: ['pages'], summary: 'What the pages need to show times as the subjects live them: the configured UTC offset and the server clock', response: { 200: z.object({ utcOffsetHours: z.number(), now: z.string() }) } },
  }, async () => ({ utcOffsetHours: offsetHours, now: new Date(now()).toISOString() }))

  app.get('/grids', {
    schema: {
      tags: ['pages'], summary: 'Grid areas in your part of the tree as a GeoJSON FeatureCollection; a grid without an imported area gets a box around its buildings (properties.synthetic)',
      response: { 200: z.object({ type: z.literal('FeatureCollection'), features: z.array(z.object({ type: z.literal('Feature'), properties: z.record(z.string(), z.unknown()), geometry: z.unknown() })) }), ...errors },
    },
  }, async (req) => {
    const scope = scopeOf(req.principal)
    const { rows } = await db.query<{ code: string, name: string, parent: string | null, geometry: unknown, lat: number | null, lon: number | null, lat0: number | null, lat1: number | null, lon0: number | null, lon1: number | null }>(
      `SELECT g.code, g.name, g.parent, ga.geometry,
         (SELECT min(b.lat) FROM addresses b WHERE b.grid = g.code AND b.level = 'building') AS lat0,
         (SELECT max(b.lat) FROM addresses b WHERE b.grid = g.code AND b.level = 'building') AS lat1,
         (SELECT min(b.lon) FROM addresses b WHERE b.grid = g.code AND b.level = 'building') AS lon0,
         (SELECT max(b.lon) FROM addresses b WHERE b.grid = g.code AND b.level = 'building') AS lon1
       FROM addresses g LEFT JOIN grid_areas ga ON ga.code = g.code
       WHERE g.level = 'grid' AND ($1::text[] IS NULL OR g.path && $1) ORDER BY g.code`, [scope])
    const features = []
    for (const r of rows) {
      let geometry = r.geometry
      const synthetic = !geometry
      if (!geometry) {
        if (r.lat0 === null || r.lon0 === null || r.lat1 === null || r.lon1 === null) continue
        const pad = 0.0004
        const [x0, x1, y0, y1] = [Number(r.lon0) - pad, Number(r.lon1) + pad, Number(r.lat0) - pad, Number(r.lat1) + pad]
        geometry = { type: 'Polygon', coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]] }
      }
      features.push({ type: 'Feature' as const, properties: { code: r.code, name: r.name, community: r.parent, ...(synthetic ? { synthetic: true } : {}) }, geometry })
    }
    return { type: 'FeatureCollection' as const, features }
  })

  app.get('/overview', {
    schema: {
      tags: ['pages'], summary: 'The command centre\'s overview of your part of the tree: places down to buildings, alert and task counts by grid and community (open, today, this week in local time), a 7-day trend, device health and drone tracks',
      response: {
        200: z.object({
          utcOffsetHours: z.number(), now: z.string(),
          places: z.array(z.object({ code: z.string(), parent: z.string().nullable(), level: z.string(), name: z.string(), lat: z.number().nullable(), lon: z.number().nullable() })),
          grids: z.array(Counts), communities: z.array(Counts),
          trend: z.array(z.object({ day: z.string(), alerts: z.number(), critical: z.number() })),
          devices: z.object({ total: z.number(), reporting: z.number(), silent: z.number(), offline: z.number(), faulty: z.number() }),
          drones: z.array(z.object({ id: z.string(), track: z.array(z.tuple([z.number(), z.number(), z.string()])) })),
          safetyIndex: z.boolean().describe('true when GET /api/index (the monthly safety index) is served: the map colours grids by it'),
        }),
        ...errors,
      },
    },
  }, async (req) => {
    const scope = scopeOf(req.principal)
    const t = now()
    const today = localDayStart(t, offsetHours)
    const dow = (new Date(today + offsetHours * 3_600_000).getUTCDay() + 6) % 7 // Monday = 0
    const week = today - dow * DAY
    const from = Math.min(week, today - 6 * DAY)
    const places = (await db.query<{ code: string, parent: string | null, level: string, name: string, lat: number | null, lon: number | null }>(
      `SELECT code, parent, level, name, lat, lon FROM addresses WHERE level IN ('district', 'street', 'community', 'grid', 'building')
       AND ($1::text[] IS NULL OR path && $1 OR code = ANY(SELECT unnest(path) FROM addresses WHERE code = ANY($1))) ORDER BY code LIMIT 5000`, [scope])).rows
      .map((p) => ({ ...p, lat: p.lat === null ? null : Number(p.lat), lon: p.lon === null ? null : Number(p.lon) }))
    const alerts = (await db.query<{ grid: string | null, path: string[], status: string, severity: string, created_at: Date }>(
      `SELECT grid, path, status, severity, created_at FROM alerts WHERE ($1::text[] IS NULL OR path && $1) AND (status = 'open' OR created_at >= $2) LIMIT 50000`, [scope, new Date(from)])).rows
    const tasks = (await db.query<{ grid: string | null }>(
      `SELECT grid FROM tasks WHERE ($1::text[] IS NULL OR path && $1) AND state IN ('open', 'acknowledged', 'on_site') LIMIT 50000`, [scope])).rows
    const parent = new Map(places.map((p) => [p.code, p.parent]))
    const tally = (lvl: 'grid' | 'community') => {
      const m = new Map<string, z.infer<typeof Counts>>()
      for (const p of places) if (p.level === lvl) m.set(p.code, { code: p.code, open: 0, openTasks: 0, today: 0, week: 0 })
      const keyOf = (grid: string | null) => grid === null ? null : lvl === 'grid' ? grid : parent.get(grid) ?? null
      for (const a of alerts) {
        const c = m.get(keyOf(a.grid) ?? '')
        if (!c) continue
        if (a.status === 'open') c.open++
        const at = a.created_at.getTime()
        if (at >= today) c.today++
        if (at >= week) c.week++
      }
      for (const x of tasks) { const c = m.get(keyOf(x.grid) ?? ''); if (c) c.openTasks++ }
      return [...m.values()]
    }
    const trend = Array.from({ length: 7 }, (_, i) => {
      const d0 = today - (6 - i) * DAY
      const inDay = alerts.filter((a) => a.created_at.getTime() >= d0 && a.created_at.getTime() < d0 + DAY)
      return { day: new Date(d0 + offsetHours * 3_600_000).toISOString().slice(0, 10), alerts: inDay.length, critical: inDay.filter((a) => a.severity === 'critical' || a.severity === 'high').length }
    })
    const devs = (await db.query<{ id: string, kind: string, reporting: boolean }>(
      // Reporting: something received in the last two hours (a concentrator's late upload counts), of the last three days.
      `SELECT d.id, d.kind, EXISTS (SELECT 1 FROM readings r WHERE r.device_id = d.id AND r.ts >= $3 AND r.received_at >= $2) AS reporting
       FROM devices d LEFT JOIN addresses a ON a.code = d.address
       WHERE d.kind IN ('meter', 'water_meter') AND ($1::text[] IS NULL OR a.path && $1) LIMIT 20000`, [scope, new Date(t - 2 * 3_600_000), new Date(t - 3 * DAY)])).rows
    const faults = (await db.query<{ kind: string, n: string }>(
      `SELECT kind, count(*) AS n FROM alerts WHERE status = 'open' AND kind LIKE 'meter\\_%' AND ($1::text[] IS NULL OR path && $1) GROUP BY kind`, [scope])).rows
    const offline = faults.filter((f) => f.kind === 'meter_offline').reduce((s, f) => s + Number(f.n), 0)
    const faulty = faults.filter((f) => f.kind !== 'meter_offline').reduce((s, f) => s + Number(f.n), 0)
    const reporting = devs.filter((d) => d.reporting).length
    return {
      utcOffsetHours: offsetHours, now: new Date(t).toISOString(), places,
      grids: tally('grid'), communities: tally('community'), trend,
      devices: { total: devs.length, reporting, silent: devs.length - reporting, offline, faulty },
      drones: await droneTracks(scope, t),
      safetyIndex: app.hasRoute({ method: 'GET', url: '/api/index' }),
    }
  })

  /** Drone positions of the last six hours (event time), from stored telemetry. */
  async function droneTracks (scope: string[] | null, t: number) {
    const { rows } = await db.query<{ device_id: string, ts: Date, body: { lat?: unknown, lon?: unknown } }>(
      `SELECT e.device_id, e.ts, e.body FROM device_events e JOIN devices d ON d.id = e.device_id LEFT JOIN addresses a ON a.code = d.address
       WHERE d.kind = 'drone' AND e.channel = 'telemetry' AND e.ts >= $2 AND ($1::text[] IS NULL OR a.path && $1)
       ORDER BY e.device_id, e.ts LIMIT 5000`, [scope, new Date(t - 6 * 3_600_000)])
    const m = new Map<string, Array<[number, number, string]>>()
    for (const r of rows) {
      if (typeof r.body?.lat !== 'number' || typeof r.body?.lon !== 'number') continue
      const tr = m.get(r.device_id) ?? []
      tr.push([r.body.lon, r.body.lat, r.ts.toISOString()])
      m.set(r.device_id, tr)
    }
    return [...m].map(([id, track]) => ({ id, track }))
  }
}
