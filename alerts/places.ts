/**
 * Alerts about a place or the drone fleet, with no care subject. A drone's sighting is placed by
 * its position (the grid containing it, else the nearest building near enough, else the street);
 * a fleet alert belongs to the drone's street. One alert per episode: the episode id rides in the
 * evidence, so a replay or a later frame finds the alert it belongs to.
 */
import type { Logger } from 'pino'
import { distanceM, validPosition, type AddressBase } from '../addresses/index.ts'
import type { Db, Queryable } from '../store/index.ts'
import { NO_STREET, type PlaceAnomaly, type Severity } from '../vocab/index.ts'
import { ACTIVE_STATES, severityRank } from './policy.ts'
import { ALERT_COLUMNS, type AlertRow, type AlertView } from './views.ts'

/** Fleet alert kinds: for the street's drone operator, not a grid worker. */
export const isFleetKind = (kind: string) => kind.startsWith('drone_')

/** What routing needs to know to pick a worker for an alert. */
export interface PlaceRouteInput { kind: string, grid: string | null, path: string[] }

const load = `(SELECT count(*) FROM tasks t WHERE t.worker_id = w.id AND t.state = ANY($3))`

/** Routing rule: a fleet alert goes to an on-duty drone operator whose streets include the address, the least loaded. */
export async function fleetOperator (q: Queryable, x: PlaceRouteInput): Promise<string | null> {
  if (!isFleetKind(x.kind)) return null
  const { rows } = await q.query<{ id: string }>(`SELECT w.id FROM workers w WHERE w.role = $1 AND w.on_duty AND w.scopes && $2
    ORDER BY ${load}, w.id LIMIT 1`, ['drone_operator', x.path, ACTIVE_STATES])
  return rows[0]?.id ?? null
}

/** Routing rule: an alert with no grid (placed at a street) goes to that street's command centre. */
export async function streetCentre (q: Queryable, x: PlaceRouteInput): Promise<string | null> {
  if (x.grid) return null
  const { rows } = await q.query<{ id: string }>(`SELECT w.id FROM workers w WHERE w.role = $1 AND w.on_duty AND w.scopes && $2
    ORDER BY ${load}, w.id LIMIT 1`, ['command_centre', x.path, ACTIVE_STATES])
  return rows[0]?.id ?? null
}

export interface PlacesDeps {
  db: Db
  log: Logger
  addresses: AddressBase
  /** Inside no grid, the nearest building within this many metres takes the alert; default 300. */
  maxBuildingM?: number
  /** A new episode this close (m) to an open alert of its label, seen within sameWithinMs, is that alert; default 150 and 10 min. */
  sameWithinM?: number
  sameWithinMs?: number
  /** Opens a subject-less alert and its task, routed as any other. */
  createAlert: (x: { address: string, kind: string, detector: string, severity: Severity, startedAt: number, raisedAt: number, evidence: Record<string, unknown> }) => Promise<AlertView>
  /** More of an open episode: new evidence and last sighting; a severity above the alert's raises its tasks. */
  updateAlert: (open: AlertRow, x: { severity: Severity, observedAt: number, evidence: Record<string, unknown> }) => Promise<AlertView>
}

export function createPlaces (deps: PlacesDeps) {
  const { db, log, addresses } = deps
  const sameWithinM = deps.sameWithinM ?? 150
  const sameWithinMs = deps.sameWithinMs ?? 10 * 60_000
  let chain: Promise<unknown> = Promise.resolve()

  /** Place anomalies are applied one at a time, so an episode never gets two alerts. */
  function handle (a: PlaceAnomaly): Promise<AlertView | null> {
    const next = chain.then(() => apply(a))
    chain = next.catch((err) => log.error({ err: (err as Error).message, kind: a.kind, deviceId: a.deviceId }, 'place anomaly not applied'))
    return next
  }

  async function apply (a: PlaceAnomaly): Promise<AlertView | null> {
    const known = (await db.query<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE detector = $1 AND kind = $2 AND evidence->>'episode' = $3
      ORDER BY created_at DESC LIMIT 1`, [a.detector, a.kind, a.episode])).rows[0] ?? await sameThing(a)
    if (known) {
      if (known.status !== 'open' || (a.phase === 'raise' && known.evidence && (known.evidence as { episode?: string }).episode === a.episode)) return null
      const severity = severityRank(a.severity) > severityRank(known.severity as Severity) ? a.severity : known.severity as Severity
      return deps.updateAlert(known, { severity, observedAt: a.observedAt, evidence: { ...(known.evidence as object), ...a.evidence, episode: a.episode } })
    }
    const placed = await place(a)
    if (!placed) {
      log.error({ kind: a.kind, deviceId: a.deviceId, lat: a.lat, lon: a.lon }, 'drone alert with no street to go to: register the drone under a street')
      return null
    }
    return deps.createAlert({
      address: placed.address, kind: a.kind, detector: a.detector, severity: a.severity, startedAt: a.startedAt, raisedAt: a.observedAt,
      evidence: { ...a.evidence, episode: a.episode, placement: placed.placement },
    })
  }

  /**
   * An open sighting alert of the same label close in time and space: the same fire seen again
   * after a restart (the detector's episodes live in memory), so no second alert.
   */
  async function sameThing (a: PlaceAnomaly): Promise<AlertRow | undefined> {
    if (a.detector !== 'drone') return undefined
    const { rows } = await db.query<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE detector = 'drone' AND kind = $1 AND status = 'open'
      AND last_seen_at >= $2 ORDER BY last_seen_at DESC LIMIT 50`, [a.kind, new Date(a.observedAt - sameWithinMs).toISOString()])
    return rows.find((r) => {
      const e = r.evidence as { lat?: unknown, lon?: unknown }
      return validPosition(e.lat, e.lon) && distanceM(a.lat, a.lon, e.lat as number, e.lon as number) <= sameWithinM
    })
  }

  /** Where the alert goes: the fleet's to the drone's street; a sighting by its position (the street of the nearest building when far from all), else the drone's street. */
  async function place (a: PlaceAnomaly): Promise<{ address: string, placement: Record<string, unknown> } | null> {
    const own = a.street !== NO_STREET && (await addresses.get(a.street)) ? a.street : null
    if (a.detector === 'fleet') {
      const street = own ?? await addresses.streetOf(a.lat, a.lon)
      return street ? { address: street, placement: { how: 'street', street } } : null
    }
    const p = await addresses.place(a.lat, a.lon, deps.maxBuildingM !== undefined ? { maxBuildingM: deps.maxBuildingM } : {})
    const building = p.building ? { building: p.building.code, distanceM: p.building.distanceM } : {}
    if (p.address && p.how !== 'street') return { address: p.address, placement: { how: p.how, ...building } }
    const street = p.street ?? own
    return street ? { address: street, placement: { how: 'street', street, ...building } } : null
  }

  return { handle, idle: async () => { await chain } }
}

export type Places = ReturnType<typeof createPlaces>
