import type { Queryable } from '../store/index.ts'
import type { AlertsContext } from './context.ts'
import { ACTIVE_STATES, ESCALATION_LEVELS } from './policy.ts'
import { fleetOperator, streetCentre } from './places.ts'
import type { Rosters } from './rosters.ts'
import type { AlertCategory } from './views.ts'

/** What routing knows of the case to place. */
export interface RouteInput {
  grid: string | null
  /** Address codes from the root down. */
  path: string[]
  kind: string
  category: AlertCategory
  source: 'detector' | 'report'
  subject: string | null
  /** Someone not to give it to (a worker handing it back, one who let a deadline pass). */
  except?: string | null
}

/** One routing rule: a worker id, or null to let the next rule try. */
export type RouteRule = (q: Queryable, x: RouteInput, now: number) => Promise<string | null>

/**
 * Who gets a new task, as a list of rules tried in order: the grid worker on duty now (the least
 * loaded), then the grid's backups in their order, then its leader. Add a rule (a drone fleet's
 * operator, a street's command centre) by putting it in this list.
 */
export function createRouting (ctx: AlertsContext, rosters: Rosters) {
  const load = `(SELECT count(*) FROM tasks t WHERE t.worker_id = w.id AND t.state = ANY($3))`

  /** Grid workers of the grid (by scope or by roster) on duty now, fewest active tasks first. */
  const onDutyWorker: RouteRule = async (q, x, now) => {
    if (!x.grid) return null
    const { rows } = await q.query<{ id: string, on_duty: boolean }>(`SELECT w.id, w.on_duty FROM workers w
      WHERE w.id IS DISTINCT FROM $2 AND ((w.role = 'grid_worker' AND $1 = ANY(w.scopes)) OR w.id IN (SELECT worker_id FROM roster_shifts WHERE grid = $1))
      ORDER BY ${load}, w.id`, [x.grid, x.except ?? null, ACTIVE_STATES])
    const on = await rosters.onDuty(q, x.grid, rows, now)
    return rows.find((w) => on.has(w.id))?.id ?? null
  }

  /** The grid's backups, in order, who have not signed off or been given the day off. */
  const backup: RouteRule = async (q, x, now) => {
    if (!x.grid) return null
    const { rows } = await q.query<{ id: string, on_duty: boolean }>(`SELECT w.id, w.on_duty FROM grid_roles g JOIN workers w ON w.id = g.worker_id
      WHERE g.grid = $1 AND g.role = 'backup' AND w.id IS DISTINCT FROM $2 ORDER BY g.position`, [x.grid, x.except ?? null])
    const on = await rosters.onDuty(q, x.grid, rows, now)
    return rows.find((w) => on.has(w.id))?.id ?? null
  }

  /** The grid's leader: the roster's, else the grid leader nearest above the address. */
  const leader: RouteRule = async (q, x) => holderAt(q, x.grid, x.path, 1, x.except ?? null)

  // A fleet alert goes to the street's drone operator first; one placed at a street (no grid), in the end to its command centre (places.ts).
  const rules: RouteRule[] = [fleetOperator, onDutyWorker, backup, leader, streetCentre]

  async function route (q: Queryable, x: RouteInput, now: number): Promise<string | null> {
    for (const rule of rules) {
      const id = await rule(q, x, now)
      if (id) return id
    }
    return null
  }

  /**
   * Who holds a task at an escalation level: 1 the grid's leader (roster, else a grid_leader
   * covering the address), 2 the community's worker, 3 the street's command centre; the one
   * whose scope is nearest the address.
   */
  async function holderAt (q: Queryable, grid: string | null, path: string[], level: number, except: string | null = null): Promise<string | null> {
    if (level === 1 && grid) {
      const r = (await q.query<{ worker_id: string }>("SELECT worker_id FROM grid_roles WHERE grid = $1 AND role = 'leader' AND worker_id IS DISTINCT FROM $2", [grid, except])).rows[0]
      if (r) return r.worker_id
    }
    const role = ESCALATION_LEVELS[level]
    if (!role || level === 0) return null
    const { rows } = await q.query<{ id: string, scopes: string[] }>('SELECT id, scopes FROM workers WHERE role = $1 AND scopes && $2 AND id IS DISTINCT FROM $3 ORDER BY id',
      [role, path, except])
    const depth = (w: { scopes: string[] }) => Math.max(...w.scopes.map((s) => path.indexOf(s)))
    return rows.sort((a, b) => depth(b) - depth(a))[0]?.id ?? null
  }

  return { route, rules, holderAt }
}

export type Routing = ReturnType<typeof createRouting>
