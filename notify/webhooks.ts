import { randomUUID } from 'node:crypto'
import { GridcareError } from '../errors/index.ts'
import type { Principal } from '../registry/index.ts'
import type { Db } from '../store/index.ts'
import type { WebhookEvent } from './events.ts'

export interface WebhookView {
  id: string
  url: string
  events: string[]
  /** Address codes whose events it receives; null for the whole tree (the admin's). */
  scopes: string[] | null
  owner: string
  createdAt: string
}

export interface AttemptView { at: string, status: number | null, error: string | null, nextRetryAt: string | null }
export interface DeliveryView {
  id: string
  event: string
  createdAt: string
  /** pending (will be tried, or retried), delivered, failed (gave up after the retry window), cancelled (webhook deleted). */
  state: 'pending' | 'delivered' | 'failed' | 'cancelled'
  attempts: AttemptView[]
  nextAttemptAt: string | null
  deliveredAt: string | null
}

type WebhookRow = { id: string, url: string, events: string[], scopes: string[] | null, owner: string, created_at: Date }
const view = (r: WebhookRow): WebhookView => ({ id: r.id, url: r.url, events: r.events, scopes: r.scopes, owner: r.owner, createdAt: r.created_at.toISOString() })
const iso = (d: Date | null) => d ? d.toISOString() : null
const COLUMNS = 'id, url, events, scopes, owner, created_at'

/** Outgoing URLs: absolute http or https; anything else (file:, ftp:, a bare host) is refused. */
export function checkUrl (url: string) {
  let u: URL
  try { u = new URL(url) } catch { throw new GridcareError('WEBHOOK_URL_INVALID', `"${url}" is not an absolute URL`) }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new GridcareError('WEBHOOK_URL_INVALID', `webhook URLs use http or https, not ${u.protocol}`)
  if (u.username || u.password) throw new GridcareError('WEBHOOK_URL_INVALID', 'put credentials in the secret, not in the URL')
}

/** Subscriptions: a secret is kept as given (it signs every delivery) and never shown again. */
export function createWebhookStore ({ db, now }: { db: Db, now: () => number }) {
  async function create (p: Principal, input: { url: string, secret: string, events: WebhookEvent[] }): Promise<WebhookView> {
    checkUrl(input.url)
    const scopes = p.type === 'admin' ? null : p.scopes
    const { rows } = await db.query<WebhookRow>(`INSERT INTO webhooks (id, url, secret, events, scopes, owner, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7)
      RETURNING ${COLUMNS}`, [randomUUID(), input.url, input.secret, [...new Set(input.events)], scopes, p.id, new Date(now()).toISOString()])
    return view(rows[0]!)
  }

  /** The admin sees every webhook; a command centre those it made. */
  async function list (p: Principal): Promise<WebhookView[]> {
    const { rows } = await db.query<WebhookRow>(`SELECT ${COLUMNS} FROM webhooks WHERE deleted_at IS NULL AND ($1::text IS NULL OR owner = $1)
      ORDER BY created_at, id`, [p.type === 'admin' ? null : p.id])
    return rows.map(view)
  }

  async function get (p: Principal, id: string): Promise<WebhookView> {
    const { rows } = await db.query<WebhookRow>(`SELECT ${COLUMNS} FROM webhooks WHERE id = $1 AND deleted_at IS NULL`, [id])
    const w = rows[0]
    if (!w || (p.type !== 'admin' && w.owner !== p.id)) throw new GridcareError('NOT_FOUND', `no webhook "${id}"`)
    return view(w)
  }

  /** Deletes a webhook; deliveries not yet made are cancelled, the log is kept. */
  async function remove (p: Principal, id: string): Promise<void> {
    await get(p, id)
    await db.transaction(async (tx) => {
      await tx.query('UPDATE webhooks SET deleted_at = $2 WHERE id = $1', [id, new Date(now()).toISOString()])
      await tx.query(`UPDATE webhook_deliveries SET state = 'cancelled', next_attempt_at = NULL WHERE webhook_id = $1 AND state = 'pending'`, [id])
    })
  }

  /** Deliveries newest first, each with every attempt: time, status code or error, next retry. */
  async function deliveries (p: Principal, id: string, limit: number): Promise<DeliveryView[]> {
    await get(p, id)
    const { rows } = await db.query<{ id: string, event: string, created_at: Date, state: DeliveryView['state'], next_attempt_at: Date | null, delivered_at: Date | null }>(
      `SELECT id, event, created_at, state, next_attempt_at, delivered_at FROM webhook_deliveries WHERE webhook_id = $1
       ORDER BY created_at DESC, id LIMIT $2`, [id, limit])
    const attempts = await db.query<{ delivery_id: string, at: Date, status: number | null, error: string | null, next_retry_at: Date | null }>(
      'SELECT delivery_id, at, status, error, next_retry_at FROM webhook_attempts WHERE delivery_id = ANY($1) ORDER BY id', [rows.map((r) => r.id)])
    const byDelivery = new Map<string, AttemptView[]>()
    for (const a of attempts.rows) {
      const list = byDelivery.get(a.delivery_id) ?? []
      list.push({ at: a.at.toISOString(), status: a.status === null ? null : Number(a.status), error: a.error, nextRetryAt: iso(a.next_retry_at) })
      byDelivery.set(a.delivery_id, list)
    }
    return rows.map((r) => ({
      id: r.id, event: r.event, createdAt: r.created_at.toISOString(), state: r.state, attempts: byDelivery.get(r.id) ?? [],
      nextAttemptAt: r.state === 'pending' ? iso(r.next_attempt_at) : null, deliveredAt: iso(r.delivered_at),
    }))
  }

  return { create, list, get, remove, deliveries }
}

export type WebhookStore = ReturnType<typeof createWebhookStore>
