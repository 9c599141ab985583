import type { Db } from '../store/index.ts'
import type { AddressBase } from '../addresses/index.ts'
import { GridcareError } from '../errors/index.ts'
import { deviceTopics, NO_STREET, workerTopic, type DeviceKind, type SubjectKind, type WorkerRole } from '../vocab/index.ts'
import { hashSecret, newSecret } from './secrets.ts'
import type { Contact } from './index.ts'

/**
 * What changed about a device: `password`, `removed` and `moved` (to another street: other
 * topics) end its live MQTT sessions; `rebound` (another subject or flat on the same street)
 * and `detached` (its subject removed) only make caches look it up afresh.
 */
export type DeviceChange = 'password' | 'removed' | 'moved' | 'rebound' | 'detached'
/** What changed about a worker: `token` and `removed` end its live sessions; `scope` its live feed. */
export type WorkerChange = 'token' | 'removed' | 'scope'

/** A scope filter: the address codes a caller covers, or null for everything (the admin). */
export type Scope = readonly string[] | null
export interface Page { limit: number, offset: number }

export interface WorkerRecord { id: string, name: string, phone: string | null, role: WorkerRole, grids: string[], onDuty: boolean, topic: string }
export interface SubjectRecord { id: string, kind: SubjectKind, address: string, name: string | null, phone: string | null, details: Record<string, unknown>, contacts: Contact[], awayUntil: string | null }
export interface DeviceRecord { id: string, kind: DeviceKind, address: string | null, subject: string | null, username: string, topics: { telemetry: string, events: string, status: string }, commandTopic: string, createdAt: string }

/**
 * A stored token or password hash that no secret hashes to (sha256 hex never has a colon):
 * what a revoked worker token or a removed device's password becomes.
 */
const unusable = (what: string) => `revoked:${what}:${newSecret()}`

type WorkerRow = { id: string, name: string, phone: string | null, role: WorkerRole, scopes: string[], on_duty: boolean }
const workerOf = (w: WorkerRow): WorkerRecord => ({ id: w.id, name: w.name, phone: w.phone, role: w.role, grids: w.scopes, onDuty: w.on_duty, topic: workerTopic(w.id) })
type DeviceRow = { id: string, kind: DeviceKind, address: string | null, subject: string | null, street: string, username: string, created_at: Date }
const deviceOf = (d: DeviceRow): DeviceRecord => {
  const { commands, ...topics } = deviceTopics(d.street, d.id)
  return { id: d.id, kind: d.kind, address: d.address, subject: d.subject, username: d.username, topics, commandTopic: `${commands}/#`, createdAt: d.created_at.toISOString() }
}

/**
 * Lists, changes and removals of workers, subjects and devices. Removal keeps the row
 * (alerts, tasks, readings and the audit log name it) and takes its credentials away.
 * `changed` is called after a device's credentials, address or subject change, `workerChanged`
 * after a worker's token, role or grids change or it is removed: both after the change is committed.
 */
export function createRegistryAdmin ({ db, addresses, changed, workerChanged }: {
  db: Db, addresses: AddressBase, changed: (deviceId: string, change: DeviceChange) => void, workerChanged: (workerId: string, change: WorkerChange) => void
}) {
  async function checkGrids (role: WorkerRole, grids: readonly string[]) {
    for (const code of grids) {
      const a = await addresses.get(code)
      if (!a) throw new GridcareError('ADDRESS_UNKNOWN', `grid "${code}" is not in the address base`)
      if (role === 'grid_worker' && a.level !== 'grid') throw new GridcareError('ADDRESS_WRONG_LEVEL', `a grid_worker covers grids; "${code}" is a ${a.level}`)
    }
  }

  /** Workers any of whose codes lie in the scope (a leader sees the workers of its grids). */
  async function listWorkers (scope: Scope = null, page: Page = { limit: 1000, offset: 0 }): Promise<WorkerRecord[]> {
    const { rows } = await db.query<WorkerRow>(`SELECT w.id, w.name, w.phone, w.role, w.scopes, w.on_duty FROM workers w
      WHERE w.removed_at IS NULL AND ($1::text[] IS NULL OR EXISTS (SELECT 1 FROM addresses a WHERE a.code = ANY(w.scopes) AND a.path && $1))
      ORDER BY w.id LIMIT $2 OFFSET $3`, [scope, page.limit, page.offset])
    return rows.map(workerOf)
  }

  /** A worker with the address paths of the codes it covers (for scope checks). */
  async function getWorker (id: string): Promise<(WorkerRecord & { paths: string[][] }) | null> {
    const { rows } = await db.query<WorkerRow>('SELECT id, name, phone, role, scopes, on_duty FROM workers WHERE id = $1 AND removed_at IS NULL', [id])
    const w = rows[0]
    if (!w) return null
    const { rows: paths } = await db.query<{ path: string[] }>('SELECT path FROM addresses WHERE code = ANY($1)', [w.scopes])
    return { ...workerOf(w), paths: paths.map((p) => p.path) }
  }

  async function updateWorker (id: string, change: { name?: string, phone?: string | null, role?: WorkerRole, grids?: string[] }): Promise<WorkerRecord> {
    const w = await getWorker(id)
    if (!w) throw new GridcareError('NOT_FOUND', `no worker "${id}"`)
    const role = change.role ?? w.role
    const grids = change.grids ?? w.grids
    if (change.role !== undefined || change.grids !== undefined) await checkGrids(role, grids)
    const { rows } = await db.query<WorkerRow>(`UPDATE workers SET name = $2, phone = $3, role = $4, scopes = $5 WHERE id = $1 AND removed_at IS NULL
      RETURNING id, name, phone, role, scopes, on_duty`, [id, change.name ?? w.name, change.phone === undefined ? w.phone : change.phone, role, grids])
    if (!rows[0]) throw new GridcareError('NOT_FOUND', `no worker "${id}"`)
    if (change.role !== undefined || change.grids !== undefined) workerChanged(id, 'scope')
    return workerOf(rows[0])
  }

  /** A new token for the worker; the old one stops working at once. */
  async function rotateWorkerToken (id: string): Promise<string> {
    const token = newSecret()
    const r = await db.query('UPDATE workers SET token_hash = $2 WHERE id = $1 AND removed_at IS NULL', [id, hashSecret(token)])
    if (r.rowCount === 0) throw new GridcareError('NOT_FOUND', `no worker "${id}"`)
    workerChanged(id, 'token')
    return token
  }

  /** No token works for the worker until a new one is issued. */
  async function revokeWorkerToken (id: string): Promise<void> {
    const r = await db.query('UPDATE workers SET token_hash = $2 WHERE id = $1 AND removed_at IS NULL', [id, unusable(id)])
    if (r.rowCount === 0) throw new GridcareError('NOT_FOUND', `no worker "${id}"`)
    workerChanged(id, 'token')
  }

  /** Off duty, token revoked, gone from lists and routing; tasks and history keep naming it. */
  async function removeWorker (id: string): Promise<void> {
    const r = await db.query('UPDATE workers SET removed_at = now(), on_duty = false, token_hash = $2 WHERE id = $1 AND removed_at IS NULL', [id, unusable(id)])
    if (r.rowCount === 0) throw new GridcareError('NOT_FOUND', `no worker "${id}"`)
    workerChanged(id, 'removed')
  }

  async function listSubjects (scope: Scope = null, page: Page = { limit: 1000, offset: 0 }, filter: { under?: string } = {}): Promise<SubjectRecord[]> {
    const { rows } = await db.query<{ id: string, kind: SubjectKind, address: string, name: string | null, phone: string | null, details: Record<string, unknown>, contacts: Contact[] | null, away_until: Date | null }>(
      `SELECT s.id, s.kind, s.address, s.name, s.phone, s.details, s.contacts, s.away_until FROM subjects s JOIN addresses a ON a.code = s.address
       WHERE s.removed_at IS NULL AND ($1::text[] IS NULL OR a.path && $1) AND ($4::text IS NULL OR $4 = ANY(a.path))
       ORDER BY s.id LIMIT $2 OFFSET $3`, [scope, page.limit, page.offset, filter.under ?? null])
    return rows.map((s) => ({ id: s.id, kind: s.kind, address: s.address, name: s.name, phone: s.phone, details: s.details, contacts: s.contacts ?? [], awayUntil: s.away_until?.toISOString() ?? null }))
  }

  /**
   * Gone from lists, reads and detection: its devices are detached (they stay registered at
   * the address). Alerts, tasks and absences keep naming it; open ones stay for a worker to close.
   */
  async function removeSubject (id: string): Promise<{ detachedDevices: string[] }> {
    return db.transaction(async (tx) => {
      const r = await tx.query('UPDATE subjects SET removed_at = now() WHERE id = $1 AND removed_at IS NULL', [id])
      if (r.rowCount === 0) throw new GridcareError('NOT_FOUND', `no subject "${id}"`)
      const { rows } = await tx.query<{ id: string, removed: boolean }>('UPDATE devices SET subject = NULL WHERE subject = $1 RETURNING id, removed_at IS NOT NULL AS removed', [id])
      return { detachedDevices: rows.filter((d) => !d.removed).map((d) => d.id).sort() }
    }).then((out) => { for (const d of out.detachedDevices) changed(d, 'detached'); return out })
  }

  const DEVICE_COLUMNS = 'd.id, d.kind, d.address, d.subject, d.street, d.username, d.created_at'
  async function listDevices (scope: Scope = null, page: Page = { limit: 1000, offset: 0 }, filter: { subject?: string } = {}): Promise<DeviceRecord[]> {
    const { rows } = await db.query<DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices d LEFT JOIN addresses a ON a.code = d.address
      WHERE d.removed_at IS NULL AND ($1::text[] IS NULL OR a.path && $1) AND ($4::text IS NULL OR d.subject = $4)
      ORDER BY d.id LIMIT $2 OFFSET $3`, [scope, page.limit, page.offset, filter.subject ?? null])
    return rows.map(deviceOf)
  }

  /** A device with its address path (empty when it has no address: then only the admin covers it). */
  async function getDeviceRecord (id: string): Promise<(DeviceRecord & { path: string[] }) | null> {
    const { rows } = await db.query<DeviceRow & { path: string[] | null }>(`SELECT ${DEVICE_COLUMNS}, a.path FROM devices d LEFT JOIN addresses a ON a.code = d.address
      WHERE d.id = $1 AND d.removed_at IS NULL`, [id])
    const d = rows[0]
    return d ? { ...deviceOf(d), path: d.path ?? [] } : null
  }

  /** Moves a device or binds it to another subject; a new street means new topics (in the answer). */
  async function updateDevice (id: string, change: { address?: string | null, subject?: string | null }): Promise<DeviceRecord> {
    const d = await getDeviceRecord(id)
    if (!d) throw new GridcareError('NOT_FOUND', `no device "${id}"`)
    let address = change.address === undefined ? d.address : change.address
    const subject = change.subject === undefined ? d.subject : change.subject
    if (change.subject) {
      const { rows } = await db.query<{ address: string }>('SELECT address FROM subjects WHERE id = $1 AND removed_at IS NULL', [change.subject])
      if (!rows[0]) throw new GridcareError('SUBJECT_UNKNOWN', `subject "${change.subject}" is not registered`)
      if (change.address === undefined) address = rows[0].address
    }
    const a = address ? await addresses.get(address) : null
    if (address && !a) throw new GridcareError('ADDRESS_UNKNOWN', `address "${address}" is not in the address base`)
    const { rows } = await db.query<DeviceRow>(`UPDATE devices d SET address = $2, subject = $3, street = $4 WHERE d.id = $1 AND d.removed_at IS NULL
      RETURNING ${DEVICE_COLUMNS}`, [id, address, subject, a?.street ?? NO_STREET])
    if (!rows[0]) throw new GridcareError('NOT_FOUND', `no device "${id}"`)
    const out = deviceOf(rows[0])
    changed(id, out.topics.telemetry === d.topics.telemetry ? 'rebound' : 'moved')
    return out
  }

  /** A new MQTT password; the old one is refused from now on and its live sessions are closed. */
  async function rotateDevicePassword (id: string): Promise<string> {
    const password = newSecret()
    const r = await db.query('UPDATE devices SET password_hash = $2 WHERE id = $1 AND removed_at IS NULL', [id, hashSecret(password)])
    if (r.rowCount === 0) throw new GridcareError('NOT_FOUND', `no device "${id}"`)
    changed(id, 'password')
    return password
  }

  /** The broker refuses it and closes its live sessions; its readings and dead letters stay. */
  async function removeDevice (id: string): Promise<void> {
    const r = await db.query('UPDATE devices SET removed_at = now(), password_hash = $2 WHERE id = $1 AND removed_at IS NULL', [id, unusable(id)])
    if (r.rowCount === 0) throw new GridcareError('NOT_FOUND', `no device "${id}"`)
    changed(id, 'removed')
  }

  return {
    listWorkers, getWorker, updateWorker, rotateWorkerToken, revokeWorkerToken, removeWorker,
    listSubjects, removeSubject,
    listDevices, getDeviceRecord, updateDevice, rotateDevicePassword, removeDevice,
  }
}
