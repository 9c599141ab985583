import type { Db } from '../store/index.ts'
import type { AddressBase } from '../addresses/index.ts'
import { GridcareError } from '../errors/index.ts'
import { deviceTopics, NO_STREET, workerTopic, type DeviceKind, type SubjectKind, type WorkerRole } from '../vocab/index.ts'
import { hashSecret, newSecret, sameHash } from './secrets.ts'
import { createRegistryAdmin, type DeviceChange, type WorkerChange } from './manage.ts'

export type { DeviceChange, WorkerChange } from './manage.ts'

export { hashSecret, newSecret } from './secrets.ts'

/** Who is calling: the admin, or a registered worker with the address codes it covers. */
export type Principal =
  | { type: 'admin', id: 'admin' }
  | { type: 'worker', id: string, role: WorkerRole, scopes: string[] }

/** Who is connected to the broker. */
export type MqttIdentity =
  | { type: 'device', id: string, kind: DeviceKind, street: string, topics: ReturnType<typeof deviceTopics> }
  | { type: 'worker', id: string, topic: string }

export interface Worker { id: string, name: string, phone: string | null, role: WorkerRole, grids: string[], onDuty: boolean, topic: string }
/** A person asked first when a welfare alert is not critical: the subject, family, a neighbour; in order. */
export interface Contact { name: string, phone: string, relation?: string }
export interface Subject { id: string, kind: SubjectKind, address: string, name: string | null, phone: string | null, details: Record<string, unknown>, contacts: Contact[], awayUntil: string | null }
export interface DeviceInfo { id: string, kind: DeviceKind, address: string | null, subject: string | null, subjectKind: SubjectKind | null, street: string }

/** A device's or worker's credentials, place or scope changed (told to the other workers in scale-out mode). */
export type RegistryChange = { type: 'device', id: string, change: DeviceChange } | { type: 'worker', id: string, change: WorkerChange }

export const deviceUsername = (id: string) => `device:${id}`
export const workerUsername = (id: string) => `worker:${id}`

/** Workers, care subjects and devices, with the credentials that let them in. */
export function createRegistry ({ db, addresses }: { db: Db, addresses: AddressBase }) {
  const deviceListeners = new Set<(deviceId: string, change: DeviceChange) => void>()
  const workerListeners = new Set<(workerId: string, change: WorkerChange) => void>()
  const admin = createRegistryAdmin({
    db, addresses,
    changed: (id, change) => deviceListeners.forEach((fn) => fn(id, change)),
    workerChanged: (id, change) => workerListeners.forEach((fn) => fn(id, change)),
  })
  /** Called after a device's password, address or subject changes, or it is removed (caches forget it, live sessions end). */
  const onDeviceChange = (fn: (deviceId: string, change: DeviceChange) => void) => { deviceListeners.add(fn); return () => deviceListeners.delete(fn) }
  /** Called after a worker's token is rotated or revoked, its role or grids change, or it is removed (live sessions and feeds end). */
  const onWorkerChange = (fn: (workerId: string, change: WorkerChange) => void) => { workerListeners.add(fn); return () => workerListeners.delete(fn) }
  /** A change made through another gridcare worker (scale-out): acted on here as if made here. */
  const changedElsewhere = (r: RegistryChange) => {
    if (r.type === 'device') deviceListeners.forEach((fn) => fn(r.id, r.change))
    else workerListeners.forEach((fn) => fn(r.id, r.change))
  }

  async function ensureAdminToken (fixed: string | undefined): Promise<string | null> {
    if (fixed) {
      await db.query('INSERT INTO admin_tokens (token_hash) VALUES ($1) ON CONFLICT DO NOTHING', [hashSecret(fixed)])
      return null
    }
    const { rows } = await db.query('SELECT 1 FROM admin_tokens LIMIT 1')
    if (rows.length > 0) return null
    const token = newSecret()
    await db.query('INSERT INTO admin_tokens (token_hash) VALUES ($1)', [hashSecret(token)])
    return token
  }

  async function principalFor (token: string): Promise<Principal | null> {
    const h = hashSecret(token)
    const admin = await db.query('SELECT 1 FROM admin_tokens WHERE token_hash = $1', [h])
    if (admin.rows.length > 0) return { type: 'admin', id: 'admin' }
    const { rows } = await db.query<{ id: string, role: WorkerRole, scopes: string[] }>('SELECT id, role, scopes FROM workers WHERE token_hash = $1 AND removed_at IS NULL', [h])
    const w = rows[0]
    return w ? { type: 'worker', id: w.id, role: w.role, scopes: w.scopes } : null
  }

  async function createWorker (input: { id: string, name: string, phone?: string, role: WorkerRole, grids: string[] }): Promise<Worker & { token: string }> {
    for (const code of input.grids) {
      const a = await addresses.get(code)
      if (!a) throw new GridcareError('ADDRESS_UNKNOWN', `grid "${code}" is not in the address base`)
      if (input.role === 'grid_worker' && a.level !== 'grid') throw new GridcareError('ADDRESS_WRONG_LEVEL', `a grid_worker covers grids; "${code}" is a ${a.level}`)
      if (input.role === 'drone_operator' && a.level !== 'street') throw new GridcareError('ADDRESS_WRONG_LEVEL', `a drone_operator covers the streets its drones fly over; "${code}" is a ${a.level}`)
    }
    const token = newSecret()
    const r = await db.query(`INSERT INTO workers (id, name, phone, role, scopes, token_hash) VALUES ($1,$2,$3,$4,$5,$6)
      ON CONFLICT (id) DO NOTHING`, [input.id, input.name, input.phone ?? null, input.role, input.grids, hashSecret(token)])
    if (r.rowCount === 0) throw new GridcareError('CONFLICT_EXISTS', `worker "${input.id}" already exists`)
    return { id: input.id, name: input.name, phone: input.phone ?? null, role: input.role, grids: input.grids, onDuty: true, topic: workerTopic(input.id), token }
  }

  async function setOnDuty (id: string, onDuty: boolean): Promise<void> {
    const r = await db.query('UPDATE workers SET on_duty = $2 WHERE id = $1 AND removed_at IS NULL', [id, onDuty])
    if (r.rowCount === 0) throw new GridcareError('NOT_FOUND', `no worker "${id}"`)
  }

  async function createSubject (input: { id: string, kind: SubjectKind, address: string, name?: string, phone?: string, details?: Record<string, unknown>, contacts?: Contact[] }): Promise<Subject> {
    const a = await addresses.get(input.address)
    if (!a) throw new GridcareError('ADDRESS_UNKNOWN', `address "${input.address}" is not in the address base`)
    if (a.level !== 'unit') throw new GridcareError('ADDRESS_WRONG_LEVEL', `a subject lives in a unit; "${input.address}" is a ${a.level}`)
    const r = await db.query(`INSERT INTO subjects (id, kind, address, name, phone, details, contacts) VALUES ($1,$2,$3,$4,$5,$6,$7)
      ON CONFLICT (id) DO NOTHING`, [input.id, input.kind, input.address, input.name ?? null, input.phone ?? null, JSON.stringify(input.details ?? {}), JSON.stringify(input.contacts ?? [])])
    if (r.rowCount === 0) throw new GridcareError('CONFLICT_EXISTS', `subject "${input.id}" already exists`)
    return { id: input.id, kind: input.kind, address: input.address, name: input.name ?? null, phone: input.phone ?? null, details: input.details ?? {}, contacts: input.contacts ?? [], awayUntil: null }
  }

  /** Changes a subject's name, phone, details or contacts; fields left out stay as they are. */
  async function updateSubject (id: string, input: { name?: string | null, phone?: string | null, details?: Record<string, unknown>, contacts?: Contact[] }): Promise<Subject> {
    const r = await db.query(`UPDATE subjects SET name = CASE WHEN $2 THEN $3 ELSE name END, phone = CASE WHEN $4 THEN $5 ELSE phone END,
      details = coalesce($6, details), contacts = coalesce($7, contacts) WHERE id = $1`,
    [id, input.name !== undefined, input.name ?? null, input.phone !== undefined, input.phone ?? null,
      input.details ? JSON.stringify(input.details) : null, input.contacts ? JSON.stringify(input.contacts) : null])
    if (r.rowCount === 0) throw new GridcareError('NOT_FOUND', `no subject "${id}"`)
    const { path: _path, ...s } = (await getSubject(id))!
    return s
  }

  async function getSubject (id: string): Promise<(Subject & { path: string[] }) | null> {
    const { rows } = await db.query<{ id: string, kind: SubjectKind, address: string, name: string | null, phone: string | null, details: Record<string, unknown>, contacts: Contact[], away_until: Date | null, path: string[] }>(
      `SELECT s.id, s.kind, s.address, s.name, s.phone, s.details, s.contacts, s.away_until, a.path
       FROM subjects s JOIN addresses a ON a.code = s.address WHERE s.id = $1 AND s.removed_at IS NULL`, [id])
    const s = rows[0]
    return s ? { id: s.id, kind: s.kind, address: s.address, name: s.name, phone: s.phone, details: s.details, contacts: s.contacts ?? [], awayUntil: s.away_until?.toISOString() ?? null, path: s.path } : null
  }

  async function createDevice (input: { id: string, kind: DeviceKind, address?: string, subject?: string }) {
    let address = input.address ?? null
    if (input.subject) {
      const s = await getSubject(input.subject)
      if (!s) throw new GridcareError('SUBJECT_UNKNOWN', `subject "${input.subject}" is not registered`)
      address ??= s.address
    }
    const a = address ? await addresses.get(address) : null
    if (address && !a) throw new GridcareError('ADDRESS_UNKNOWN', `address "${address}" is not in the address base`)
    const street = a?.street ?? NO_STREET
    const password = newSecret()
    const username = deviceUsername(input.id)
    const r = await db.query(`INSERT INTO devices (id, kind, address, subject, street, username, password_hash) VALUES ($1,$2,$3,$4,$5,$6,$7)
      ON CONFLICT DO NOTHING`, [input.id, input.kind, address, input.subject ?? null, street, username, hashSecret(password)])
    if (r.rowCount === 0) throw new GridcareError('CONFLICT_EXISTS', `device "${input.id}" already exists`)
    const { commands: _commands, ...topics } = deviceTopics(street, input.id)
    return { id: input.id, username, password, topics, commandTopic: `${_commands}/#` }
  }

  /** Registered devices by id, in one query; ids not registered (or removed) are absent. */
  async function getDevices (ids: readonly string[]): Promise<Map<string, DeviceInfo>> {
    const { rows } = await db.query<{ id: string, kind: DeviceKind, address: string | null, subject: string | null, subject_kind: SubjectKind | null, street: string }>(
      `SELECT d.id, d.kind, d.address, d.subject, s.kind AS subject_kind, d.street
       FROM devices d LEFT JOIN subjects s ON s.id = d.subject WHERE d.id = ANY($1::text[]) AND d.removed_at IS NULL`, [ids])
    return new Map(rows.map((d) => [d.id, { id: d.id, kind: d.kind, address: d.address, subject: d.subject, subjectKind: d.subject_kind, street: d.street }]))
  }

  async function getDevice (id: string): Promise<DeviceInfo | null> {
    return (await getDevices([id])).get(id) ?? null
  }

  /** Checks MQTT credentials: a device with its generated password, or a worker with its token. */
  async function verifyMqtt (username: string, password: string): Promise<MqttIdentity | null> {
    if (username.startsWith('device:')) {
      const { rows } = await db.query<{ id: string, kind: DeviceKind, street: string, password_hash: string }>(
        'SELECT id, kind, street, password_hash FROM devices WHERE username = $1 AND removed_at IS NULL', [username])
      const d = rows[0]
      if (!d || !sameHash(d.password_hash, hashSecret(password))) return null
      return { type: 'device', id: d.id, kind: d.kind, street: d.street, topics: deviceTopics(d.street, d.id) }
    }
    if (username.startsWith('worker:')) {
      const p = await principalFor(password)
      if (p?.type !== 'worker' || workerUsername(p.id) !== username) return null
      return { type: 'worker', id: p.id, topic: workerTopic(p.id) }
    }
    return null
  }

  async function audit (actor: string, action: string, target: string) {
    await db.query('INSERT INTO audit_log (actor, action, target) VALUES ($1, $2, $3)', [actor, action, target])
  }

  /** One audit row per target, in one statement. */
  async function auditMany (actor: string, action: string, targets: readonly string[]) {
    if (targets.length === 0) return
    await db.query('INSERT INTO audit_log (actor, action, target) SELECT $1, $2, t FROM unnest($3::text[]) AS t', [actor, action, targets])
  }

  return { ensureAdminToken, principalFor, createWorker, setOnDuty, createSubject, updateSubject, getSubject, createDevice, getDevice, getDevices, verifyMqtt, audit, auditMany, onDeviceChange, onWorkerChange, changedElsewhere, ...admin }
}

export type Registry = ReturnType<typeof createRegistry>

/** True when a principal's part of the address tree contains the address path. */
export function covers (p: Principal, path: readonly string[]): boolean {
  return p.type === 'admin' || p.scopes.some((s) => path.includes(s))
}
