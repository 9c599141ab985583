import { GridcareError } from '../errors/index.ts'
import type { Queryable } from '../store/index.ts'
import type { AlertsContext } from './context.ts'

/** A weekly shift: weekday 0 (Sunday) to 6, local times "HH:MM"; `to` before `from` runs past midnight. */
export interface Shift { worker: string, weekdays: number[], from: string, to: string }
/** A dated change: a worker off that day, or on (for the given hours, or all day). */
export interface RosterException { worker: string, date: string, onDuty: boolean, from?: string, to?: string, note?: string }
export interface Roster { grid: string, shifts: Shift[], exceptions: RosterException[], backups: string[], leader: string | null }

const toMin = (hhmm: string) => { const [h, m] = hhmm.split(':').map(Number); return h! * 60 + m! }
const toHhmm = (min: number) => `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`

/** Local weekday, minute of the day and date at `now`. */
export function localTime (now: number, utcOffsetHours: number) {
  const d = new Date(now + utcOffsetHours * 3_600_000)
  return { weekday: d.getUTCDay(), minute: d.getUTCHours() * 60 + d.getUTCMinutes(), date: d.toISOString().slice(0, 10) }
}

const within = (m: number, s: number, e: number) => s <= e ? m >= s && m < e : m >= s || m < e

/**
 * Duty hours per worker per grid (weekly, with dated exceptions), backups and a grid leader.
 * A worker with no shifts in a grid is on duty there while its on_duty flag is set (as before rosters).
 */
export function createRosters (ctx: AlertsContext) {
  const { db } = ctx
  const offset = ctx.deps.utcOffsetHours ?? 8

  async function getRoster (grid: string): Promise<Roster> {
    const shifts = (await db.query<{ worker_id: string, weekday: number, starts_min: number, ends_min: number }>(
      'SELECT worker_id, weekday, starts_min, ends_min FROM roster_shifts WHERE grid = $1 ORDER BY worker_id, starts_min, ends_min, weekday', [grid])).rows
    const merged = new Map<string, Shift>()
    for (const s of shifts) {
      const key = `${s.worker_id}|${s.starts_min}|${s.ends_min}`
      const x = merged.get(key) ?? { worker: s.worker_id, weekdays: [], from: toHhmm(s.starts_min), to: toHhmm(s.ends_min) }
      x.weekdays.push(Number(s.weekday))
      merged.set(key, x)
    }
    const ex = (await db.query<{ worker_id: string, day: Date | string, on_duty: boolean, starts_min: number | null, ends_min: number | null, note: string | null }>(
      "SELECT worker_id, to_char(day, 'YYYY-MM-DD') AS day, on_duty, starts_min, ends_min, note FROM roster_exceptions WHERE grid = $1 ORDER BY day, worker_id", [grid])).rows
    const roles = (await db.query<{ worker_id: string, role: string }>('SELECT worker_id, role FROM grid_roles WHERE grid = $1 ORDER BY role, position', [grid])).rows
    return {
      grid,
      shifts: [...merged.values()],
      exceptions: ex.map((e) => ({ worker: e.worker_id, date: String(e.day), onDuty: e.on_duty, ...(e.starts_min !== null ? { from: toHhmm(e.starts_min), to: toHhmm(e.ends_min!) } : {}), ...(e.note ? { note: e.note } : {}) })),
      backups: roles.filter((r) => r.role === 'backup').map((r) => r.worker_id),
      leader: roles.find((r) => r.role === 'leader')?.worker_id ?? null,
    }
  }

  /** Replaces a grid's roster as a whole. */
  async function putRoster (r: Roster): Promise<Roster> {
    const named = new Set([...r.shifts.map((s) => s.worker), ...r.exceptions.map((e) => e.worker), ...r.backups, ...(r.leader ? [r.leader] : [])])
    const known = (await db.query<{ id: string }>('SELECT id FROM workers WHERE id = ANY($1)', [[...named]])).rows.map((w) => w.id)
    const unknown = [...named].filter((w) => !known.includes(w))
    if (unknown.length > 0) throw new GridcareError('ROSTER_INVALID', `unknown workers: ${unknown.join(', ')}`)
    await db.transaction(async (tx) => {
      for (const t of ['roster_shifts', 'roster_exceptions', 'grid_roles']) await tx.query(`DELETE FROM ${t} WHERE grid = $1`, [r.grid])
      for (const s of r.shifts) {
        for (const wd of new Set(s.weekdays)) {
          await tx.query('INSERT INTO roster_shifts (grid, worker_id, weekday, starts_min, ends_min) VALUES ($1,$2,$3,$4,$5)', [r.grid, s.worker, wd, toMin(s.from), toMin(s.to)])
        }
      }
      for (const e of r.exceptions) {
        await tx.query('INSERT INTO roster_exceptions (grid, worker_id, day, on_duty, starts_min, ends_min, note) VALUES ($1,$2,$3,$4,$5,$6,$7)',
          [r.grid, e.worker, e.date, e.onDuty, e.from ? toMin(e.from) : null, e.to ? toMin(e.to) : null, e.note ?? null])
      }
      for (const [i, w] of r.backups.entries()) await tx.query("INSERT INTO grid_roles (grid, worker_id, role, position) VALUES ($1,$2,'backup',$3)", [r.grid, w, i])
      if (r.leader) await tx.query("INSERT INTO grid_roles (grid, worker_id, role) VALUES ($1,$2,'leader')", [r.grid, r.leader])
    })
    return getRoster(r.grid)
  }

  /**
   * Whether each worker is on duty in a grid at `now`: a dated exception decides that day; else a
   * worker with shifts there is on duty inside one; a worker without any follows its on_duty flag.
   * The on_duty flag off always wins (a worker who signed off).
   */
  async function onDuty (q: Queryable, grid: string, workers: Array<{ id: string, on_duty: boolean }>, now: number): Promise<Set<string>> {
    const t = localTime(now, offset)
    const yesterday = (t.weekday + 6) % 7
    const ids = workers.map((w) => w.id)
    const shifts = (await q.query<{ worker_id: string, weekday: number, starts_min: number, ends_min: number }>(
      'SELECT worker_id, weekday, starts_min, ends_min FROM roster_shifts WHERE grid = $1 AND worker_id = ANY($2)', [grid, ids])).rows
    const ex = (await q.query<{ worker_id: string, on_duty: boolean, starts_min: number | null, ends_min: number | null }>(
      'SELECT worker_id, on_duty, starts_min, ends_min FROM roster_exceptions WHERE grid = $1 AND worker_id = ANY($2) AND day = $3', [grid, ids, t.date])).rows
    const out = new Set<string>()
    for (const w of workers) {
      if (!w.on_duty) continue
      const e = ex.find((x) => x.worker_id === w.id)
      if (e) {
        if (e.on_duty && (e.starts_min === null || within(t.minute, e.starts_min, e.ends_min!))) out.add(w.id)
        continue
      }
      const mine = shifts.filter((s) => s.worker_id === w.id)
      if (mine.length === 0) { out.add(w.id); continue }
      const on = mine.some((s) => {
        const [wd, a, b] = [Number(s.weekday), Number(s.starts_min), Number(s.ends_min)]
        if (a <= b) return wd === t.weekday && t.minute >= a && t.minute < b
        return (wd === t.weekday && t.minute >= a) || (wd === yesterday && t.minute < b) // past midnight
      })
      if (on) out.add(w.id)
    }
    return out
  }

  return { getRoster, putRoster, onDuty, offset }
}

export type Rosters = ReturnType<typeof createRosters>
