/**
 * The drone fleet: each drone's last position, battery and link, kept in the `drones` table, and
 * its tracks read back from the stored telemetry. Low battery is judged on each report; a lost
 * link by the wall clock: while a drone flies, its next report is due within `lostLinkMs`, a
 * deadline kept in the database that a periodic tick acts on, so a restart loses nothing.
 */
import { schedule, type ScheduledTask } from 'node-cron'
import type { Logger } from 'pino'
import type { Db } from '../store/index.ts'
import type { DroneTelemetry, PlaceAnomaly } from '../vocab/index.ts'

export interface FleetOptions {
  /** Battery per cent below which the operator is told; default 20. */
  lowBatteryPct?: number
  /** Battery per cent at or above which a low-battery episode is over (swapped, charged); default 50. */
  rechargedPct?: number
  /** Wall-clock ms without telemetry from a flying drone before its link counts as lost; default 120 000. */
  lostLinkMs?: number
  /** Altitude (m) at or below which a drone that says its altitude is on the ground, no link expected; default 1. */
  groundAltM?: number
  /** node-cron expression (with seconds) for the lost-link tick; default every 15 s. */
  tickSchedule?: string
}

export interface FleetDeps {
  db: Db
  logger: Logger
  clock?: { now (): number }
  /** Receives fleet anomalies (low battery, lost link). */
  sink: (a: PlaceAnomaly) => void
  options?: FleetOptions
}

export interface DroneView {
  id: string
  street: string
  address: string | null
  /** Last position report, null before the first. */
  last: { ts: string, lat: number, lon: number, alt: number | null, battery: number | null, seenAt: string } | null
  flying: boolean
  linkLostAt: string | null
  lowBatteryAt: string | null
}

export interface TrackPoint { ts: string, lat: number, lon: number, alt: number | null, battery: number | null }

const iso = (ms: number) => new Date(ms).toISOString()
type Row = { device_id: string, street: string, ts: Date, lat: number, lon: number, alt: number | null, battery: number | null, seen_at: Date, link_due: Date | null, link_lost_at: Date | null, low_battery_at: Date | null }

export function createFleet ({ db, logger, clock = { now: () => Date.now() }, sink, options = {} }: FleetDeps) {
  const log = logger.child({ module: 'fleet' })
  const lowPct = options.lowBatteryPct ?? 20
  const rechargedPct = options.rechargedPct ?? 50
  const lostLinkMs = options.lostLinkMs ?? 120_000
  const groundAltM = options.groundAltM ?? 1
  let chain: Promise<unknown> = Promise.resolve()
  let job: ScheduledTask | undefined

  /** Reports are applied one at a time, in arrival order. */
  function telemetry (t: DroneTelemetry): Promise<void> {
    const next = chain.then(() => apply(t))
    chain = next.catch((err) => log.error({ err: (err as Error).message, deviceId: t.deviceId }, 'drone telemetry not applied'))
    return next
  }

  async function apply (t: DroneTelemetry) {
    const now = clock.now()
    const flying = t.alt === undefined || t.alt > groundAltM
    const out = await db.transaction(async (tx) => {
      const prev = (await tx.query<Row>('SELECT * FROM drones WHERE device_id = $1 FOR UPDATE', [t.deviceId])).rows[0]
      const newer = !prev || prev.ts.getTime() <= t.ts
      // A late report (older than the one held) shows the link is alive but moves nothing.
      const battery = newer ? t.battery ?? null : prev.battery
      const low = battery !== null && battery < lowPct
      const startsLow = newer && low && !prev?.low_battery_at
      const lowAt = low ? prev?.low_battery_at ?? new Date(now) : battery !== null && battery >= rechargedPct ? null : prev?.low_battery_at ?? null
      const linkDue = (newer ? flying : prev.link_due !== null) ? iso(now + lostLinkMs) : null
      if (newer) {
        await tx.query(`INSERT INTO drones (device_id, street, ts, lat, lon, alt, battery, seen_at, link_due, link_lost_at, low_battery_at)
          VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,NULL,$10) ON CONFLICT (device_id) DO UPDATE SET street = EXCLUDED.street, ts = EXCLUDED.ts, lat = EXCLUDED.lat,
          lon = EXCLUDED.lon, alt = EXCLUDED.alt, battery = EXCLUDED.battery, seen_at = EXCLUDED.seen_at, link_due = EXCLUDED.link_due,
          link_lost_at = NULL, low_battery_at = EXCLUDED.low_battery_at`,
        [t.deviceId, t.street, iso(t.ts), t.lat, t.lon, t.alt ?? null, battery, iso(now), linkDue, lowAt && lowAt.toISOString()])
      } else {
        await tx.query('UPDATE drones SET seen_at = $2, link_due = $3, link_lost_at = NULL WHERE device_id = $1', [t.deviceId, iso(now), linkDue])
      }
      return { startsLow, relinked: prev?.link_lost_at ?? null, battery }
    })
    if (out.relinked) log.info({ deviceId: t.deviceId, lostAt: out.relinked }, 'drone link back')
    if (out.startsLow) {
      sink({
        detector: 'fleet', kind: 'drone_low_battery', phase: 'raise', severity: out.battery! < lowPct / 2 ? 'high' : 'medium',
        episode: `${t.deviceId}:low_battery:${t.ts}`, deviceId: t.deviceId, street: t.street, lat: t.lat, lon: t.lon, startedAt: t.ts, observedAt: t.ts,
        evidence: { deviceId: t.deviceId, battery: out.battery, threshold: lowPct, lat: t.lat, lon: t.lon, ...(t.alt !== undefined ? { alt: t.alt } : {}), reason: `battery at ${out.battery}%, below ${lowPct}%: bring the drone home` },
      })
    }
  }

  /**
   * Acts on what is due at `now` (wall clock): flying drones whose next report is overdue have
   * lost their link, once per loss. Safe to call at any time.
   */
  async function tick (now = clock.now()): Promise<number> {
    await chain
    const { rows } = await db.query<Row>(`UPDATE drones SET link_lost_at = $1 WHERE link_due <= $1 AND link_lost_at IS NULL RETURNING *`, [iso(now)])
    for (const d of rows) {
      const silentS = Math.round((now - d.seen_at.getTime()) / 1000)
      log.warn({ deviceId: d.device_id, silentS }, 'drone link lost')
      sink({
        detector: 'fleet', kind: 'drone_lost_link', phase: 'raise', severity: 'high',
        episode: `${d.device_id}:lost_link:${d.seen_at.toISOString()}`, deviceId: d.device_id, street: d.street, lat: d.lat, lon: d.lon,
        startedAt: d.ts.getTime(), observedAt: d.ts.getTime(),
        evidence: {
          deviceId: d.device_id, lat: d.lat, lon: d.lon, alt: d.alt, battery: d.battery, lastReportAt: d.ts.toISOString(), lastHeardAt: d.seen_at.toISOString(),
          silentSeconds: silentS, reason: `no telemetry for ${silentS} s while flying: last seen at ${d.lat.toFixed(5)}, ${d.lon.toFixed(5)}`,
        },
      })
    }
    return rows.length
  }

  /** Every registered drone with its last position, for the map. */
  async function list (): Promise<DroneView[]> {
    const { rows } = await db.query<Partial<Row> & { id: string, dstreet: string, address: string | null }>(`SELECT d.id, d.street AS dstreet, d.address, r.*
      FROM devices d LEFT JOIN drones r ON r.device_id = d.id WHERE d.kind = 'drone' ORDER BY d.id`)
    return rows.map((r) => ({
      id: r.id, street: r.dstreet, address: r.address,
      last: r.ts ? { ts: r.ts.toISOString(), lat: r.lat!, lon: r.lon!, alt: r.alt ?? null, battery: r.battery ?? null, seenAt: r.seen_at!.toISOString() } : null,
      flying: !!r.link_due && !r.link_lost_at, linkLostAt: r.link_lost_at?.toISOString() ?? null, lowBatteryAt: r.low_battery_at?.toISOString() ?? null,
    }))
  }

  /** A drone's positions in [from, to] (event time), oldest first, at most `limit`. */
  async function track (id: string, from: number, to: number, limit = 5000): Promise<TrackPoint[]> {
    const { rows } = await db.query<{ ts: Date, body: { lat: number, lon: number, alt?: number, battery?: number } }>(
      `SELECT ts, body FROM device_events WHERE device_id = $1 AND channel = 'telemetry' AND ts >= $2 AND ts <= $3 ORDER BY ts LIMIT $4`,
      [id, iso(from), iso(to), limit])
    return rows.map((r) => ({ ts: r.ts.toISOString(), lat: r.body.lat, lon: r.body.lon, alt: r.body.alt ?? null, battery: r.body.battery ?? null }))
  }

  /** Event time of a drone's latest report, or null. */
  async function lastTs (id: string): Promise<number | null> {
    const { rows } = await db.query<{ ts: Date }>('SELECT ts FROM drones WHERE device_id = $1', [id])
    return rows[0]?.ts.getTime() ?? null
  }

  return {
    telemetry,
    tick,
    list,
    track,
    lastTs,
    /** Waits for reports already handed over. */
    async idle () { await chain },
    async start () {
      // gridcare itself was away: no drone could report meanwhile, so give every flying one a fresh interval.
      await db.query('UPDATE drones SET link_due = $1 WHERE link_due IS NOT NULL AND link_lost_at IS NULL AND link_due < $1', [iso(clock.now() + lostLinkMs)])
      job = schedule(options.tickSchedule ?? '*/15 * * * * *', () => {
        tick().catch((err) => log.error({ err: (err as Error).message }, 'fleet tick failed'))
      })
    },
    async stop () {
      await job?.destroy()
      job = undefined
      await chain
    },
  }
}

export type Fleet = ReturnType<typeof createFleet>
