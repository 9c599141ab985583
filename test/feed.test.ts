/**
 * The live feed (GET /api/feed, Server-Sent Events): answered once (no "Reply was already
 * sent"), only the caller's part of the tree, a resident's contact audited, and closing the
 * app finishes while feeds are open (issues 11 and 15.11).
 */
import { afterAll, beforeAll, test } from 'vitest'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { request, type IncomingMessage } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import pino from 'pino'
import { createGridcare, type Gridcare } from '../app/index.ts'
import { loadConfig } from '../config/index.ts'
import { ADMIN, freshDatabase, STREET_CSV } from './helpers.ts'

const lines: string[] = []
const logger = pino({ level: 'warn' }, new Writable({ write (chunk, _enc, done) { lines.push(String(chunk)); done() } }))
const dir = mkdtempSync(join(tmpdir(), 'gridcare-feed-'))
let gc: Gridcare
let drop: (() => Promise<void>) | undefined
let stopped = false
const tokens: Record<string, string> = {}

async function api (method: string, url: string, body?: unknown, token = ADMIN) {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
  const res = await gc.http.inject({ method: method as 'GET', url, payload, headers: { authorization: `Bearer ${token}`, ...(payload !== undefined ? { 'content-type': typeof body === 'string' ? 'text/csv' : 'application/json' } : {}) } })
  return { status: res.statusCode, body: res.json() }
}

/** Opens a feed over real HTTP; collects its events until the server ends it. */
function openFeed (token: string) {
  const events: Array<{ event: string, data: any }> = []
  let buffer = ''
  let res: IncomingMessage | undefined
  const ended = new Promise<void>((resolve) => {
    const req = request({ host: '127.0.0.1', port: gc.httpPort, path: '/api/feed', headers: { authorization: `Bearer ${token}` } }, (r) => {
      res = r
      r.setEncoding('utf8')
      r.on('data', (chunk: string) => {
        buffer += chunk
        let i: number
        while ((i = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, i)
          buffer = buffer.slice(i + 2)
          const ev = /^event: (.+)$/m.exec(block)?.[1]
          const data = /^data: (.+)$/m.exec(block)?.[1]
          if (ev && data) events.push({ event: ev, data: JSON.parse(data) })
        }
      })
      r.on('end', () => resolve())
      r.on('close', () => resolve())
    })
    req.on('error', () => resolve())
    req.end()
  })
  const opened = new Promise<void>((resolve) => { const t = setInterval(() => { if (res) { clearInterval(t); resolve() } }, 10) })
  return { events, ended, opened, status: () => res?.statusCode }
}

const until = async (cond: () => boolean) => { for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10)) }

beforeAll(async () => {
  // On the PostgreSQL server: it starts in seconds where the embedded store takes a minute on a loaded machine.
  const server = await freshDatabase()
  drop = server.drop
  gc = createGridcare({ config: loadConfig({ MQTT_PORT: '0', HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', DATA_DIR: dir, ADMIN_TOKEN: ADMIN, DATABASE_URL: server.url }), logger })
  await gc.start()
  assert.equal((await api('POST', '/api/addresses/import', STREET_CSV)).status, 200)
  for (const [id, grids] of [['w1', ['G1']], ['w2', ['G2']]] as const) {
    tokens[id] = (await api('POST', '/api/workers', { id, name: id, role: 'grid_worker', grids })).body.token
  }
})
afterAll(async () => {
  if (!stopped) await gc?.stop()
  await drop?.()
  rmSync(dir, { recursive: true, force: true })
})

const feeds: Array<ReturnType<typeof openFeed>> = []

test('a feed carries its own part of the tree only and audits a contact it shows', async () => {
  const f1 = openFeed(tokens.w1!)
  const f2 = openFeed(tokens.w2!)
  const admin = openFeed(ADMIN)
  await Promise.all([f1.opened, f2.opened, admin.opened])
  assert.equal(f1.status(), 200)

  const r = await api('POST', '/api/reports', { category: 'dispute', address: 'U101', text: 'noise at night', contact: 'Ms Liu 13700000000' })
  assert.equal(r.status, 201)
  await until(() => f1.events.some((e) => e.event === 'task.created') && admin.events.some((e) => e.event === 'task.created'))
  assert.ok(f1.events.some((e) => e.event === 'alert.created' && e.data.evidence.contact === 'Ms Liu 13700000000'), 'w1 sees its grid\'s report')
  assert.ok(f1.events.some((e) => e.event === 'task.created' && e.data.alertId === r.body.alert.id))
  assert.deepEqual(f2.events, [], 'w2 (grid G2) sees nothing of grid G1')

  const { rows } = await gc.components.db.query<{ actor: string, action: string }>('SELECT actor, action FROM audit_log WHERE target = $1 ORDER BY actor', [r.body.alert.id])
  assert.deepEqual(rows.map((x) => x.actor), ['admin', 'w1'], 'each feed that showed the contact wrote its audit row')
  assert.ok(rows.every((x) => x.action === 'read_alert_contact'))
  feeds.push(f1, f2, admin)
}, 60_000)

test('closing the app finishes while feeds are open, and ends them; every feed answered once', async () => {
  const more = openFeed(tokens.w2!)
  await more.opened
  feeds.push(more)
  // The test times out when close waits for the open streams.
  await gc.stop()
  stopped = true
  await Promise.all(feeds.map((f) => f.ended))
  const warnings = lines.filter((l) => /already sent|FST_ERR_REP_ALREADY_SENT|onClose|after.*listen/i.test(l))
  assert.deepEqual(warnings, [], 'the feed answers once')
}, 60_000)
