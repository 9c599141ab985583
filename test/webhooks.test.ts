import { afterAll, beforeAll, describe, test } from 'vitest'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freshDatabase, seedStreet, startGridcare, STORES, type Harness } from './helpers.ts'

interface Received { path: string, headers: IncomingHttpHeaders, raw: string, body: { id: string, event: string, at: string, data: any } }

/** A webhook receiver on localhost (port 0): answers each path with the statuses queued for it, then 200. */
async function receiver () {
  const got: Received[] = []
  const statuses = new Map<string, number[]>()
  const waiters: Array<() => void> = []
  const server: Server = createServer((req, res) => {
    let raw = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => { raw += c })
    req.on('end', () => {
      got.push({ path: req.url!, headers: req.headers, raw, body: JSON.parse(raw) })
      res.statusCode = statuses.get(req.url!)?.shift() ?? 200
      res.end()
      waiters.splice(0).forEach((w) => w())
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const at = (path: string) => got.filter((g) => g.path === path)
  return {
    url: (path: string) => `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`,
    at,
    answer: (path: string, ...codes: number[]) => statuses.set(path, codes),
    /** Resolves once `path` has had n requests (waits for them, never for a time). */
    async until (path: string, n: number) {
      while (at(path).length < n) await new Promise<void>((resolve) => waiters.push(resolve))
      return at(path)
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

const SECRET = 'webhook-secret-0123456789'
const sign = (raw: string) => `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`

for (const store of STORES) describe(store, () => {
  let now = Date.UTC(2026, 10, 23, 2)
  const clock = { now: () => now }
  let rx: Awaited<ReturnType<typeof receiver>>
  let h: Harness
  let tokens: Awaited<ReturnType<typeof seedStreet>>
  const report = (text: string) => h.api('POST', '/api/reports', { category: 'dispute', address: 'U101', text })

  beforeAll(async () => {
    rx = await receiver()
    h = await startGridcare({}, clock, store)
    tokens = await seedStreet(h)
  })
  afterAll(async () => { await h.close(); await rx.close() })

  test('only the admin and command centres manage webhooks; URLs are http(s); secrets are never shown', async () => {
    const body = { url: rx.url('/a'), secret: SECRET, events: ['task.created'] }
    assert.equal((await h.api('POST', '/api/webhooks', body, tokens.w1)).status, 403)
    assert.equal((await h.api('POST', '/api/webhooks', body, tokens.lead)).status, 403)
    const ftp = await h.api('POST', '/api/webhooks', { ...body, url: 'ftp://127.0.0.1/x' })
    assert.equal(ftp.status, 400)
    assert.equal(ftp.body.error.code, 'WEBHOOK_URL_INVALID')
    assert.equal((await h.api('POST', '/api/webhooks', { ...body, url: 'not a url' })).body.error.code, 'WEBHOOK_URL_INVALID')
    assert.equal((await h.api('POST', '/api/webhooks', { ...body, events: ['task.exploded'] })).body.error.code, 'REQUEST_INVALID')
    assert.equal((await h.api('POST', '/api/webhooks', { ...body, secret: 'short' })).body.error.code, 'REQUEST_INVALID')
    const cc = await h.api('POST', '/api/workers', { id: 'cc', name: 'Street command centre', role: 'command_centre', grids: ['S1'] })
    const made = await h.api('POST', '/api/webhooks', body, cc.body.token)
    assert.equal(made.status, 201)
    assert.deepEqual(made.body.scopes, ['S1'])
    assert.equal(made.body.secret, undefined)
    const listed = await h.api('GET', '/api/webhooks', undefined, cc.body.token)
    assert.deepEqual(listed.body.map((w: { id: string }) => w.id), [made.body.id])
    assert.ok(!JSON.stringify((await h.api('GET', '/api/webhooks')).body).includes(SECRET))
    assert.equal((await h.api('DELETE', `/api/webhooks/${made.body.id}`, undefined, tokens.w1)).status, 403)
    assert.equal((await h.api('DELETE', `/api/webhooks/${made.body.id}`, undefined, cc.body.token)).status, 204)
    assert.equal((await h.api('GET', '/api/webhooks', undefined, cc.body.token)).body.length, 0)
  })

  test('a receiver on localhost gets signed deliveries {id, event, at, data} of the events it subscribed to', async () => {
    const made = await h.api('POST', '/api/webhooks', { url: rx.url('/signed'), secret: SECRET, events: ['alert.created', 'task.created'] })
    assert.equal(made.status, 201)
    const r = await report('noise from upstairs every night')
    assert.equal(r.status, 201)
    const got = await rx.until('/signed', 2)
    assert.deepEqual(got.map((g) => g.body.event).sort(), ['alert.created', 'task.created'])
    for (const g of got) {
      assert.equal(g.headers['x-gridcare-signature'], sign(g.raw), 'HMAC-SHA256 of the raw body with the secret')
      assert.equal(g.headers['content-type'], 'application/json')
      assert.equal(g.body.at, new Date(now).toISOString())
      assert.equal(g.headers['x-gridcare-delivery'], g.body.id)
    }
    const task = got.find((g) => g.body.event === 'task.created')!.body.data
    assert.equal(task.id, r.body.taskId)
    assert.equal(task.address, 'U101')
    await h.gc.components.notify.idle()
    const log = await h.api('GET', `/api/webhooks/${made.body.id}/deliveries`)
    assert.equal(log.body.length, 2)
    for (const d of log.body) {
      assert.equal(d.state, 'delivered')
      assert.deepEqual(d.attempts, [{ at: new Date(now).toISOString(), status: 200, error: null, nextRetryAt: null }])
    }
    await h.api('DELETE', `/api/webhooks/${made.body.id}`)
  })

  test('a command centre\'s webhook hears only its part of the tree', async () => {
    const imp = await h.api('POST', '/api/addresses/import', 'code,parent,level,name,lat,lon\nD2,,district,Other District,,\nS2,D2,street,Other Street,,\nC2,S2,community,C2,,\nG9,C2,grid,G9,,\nB9,G9,building,B9,,\nU901,B9,unit,U901,,\n')
    assert.equal(imp.status, 200, JSON.stringify(imp.body))
    const cc = await h.api('POST', '/api/workers', { id: 'cc2', name: 'Other command centre', role: 'command_centre', grids: ['S2'] })
    const made = await h.api('POST', '/api/webhooks', { url: rx.url('/scoped'), secret: SECRET, events: ['task.created'] }, cc.body.token)
    await report('outside S2')
    const inside = await h.api('POST', '/api/reports', { category: 'dispute', address: 'U901', text: 'inside S2' })
    assert.equal(inside.status, 201, JSON.stringify(inside.body))
    const got = await rx.until('/scoped', 1)
    await h.gc.components.notify.idle()
    assert.equal(rx.at('/scoped').length, 1)
    assert.equal(got[0]!.body.data.address, 'U901')
    await h.api('DELETE', `/api/webhooks/${made.body.id}`)
  })

  test('an SMS gateway gets the check-in to a contact (phone, link, code) and then its answer', async () => {
    const made = await h.api('POST', '/api/webhooks', { url: rx.url('/sms'), secret: SECRET, events: ['checkin.sent', 'checkin.answered', 'task.escalated'] })
    await h.api('POST', '/api/subjects', { id: 'e102', kind: 'lone_elder', address: 'U102', name: 'Elder', contacts: [{ name: 'Chen Jie', phone: '13900000002', relation: 'daughter' }] })
    await h.gc.components.alerts.handleAnomaly({
      subjectId: 'e102', detector: 'inactivity', kind: 'inactivity', phase: 'raise', severity: 'medium',
      startedAt: now - 6 * 3600_000, observedAt: now, evidence: {},
    })
    const [sent] = await rx.until('/sms', 1)
    assert.equal(sent!.body.event, 'checkin.sent')
    assert.equal(sent!.headers['x-gridcare-signature'], sign(sent!.raw))
    const d = sent!.body.data
    assert.deepEqual(d.contact, { name: 'Chen Jie', phone: '13900000002', relation: 'daughter' })
    assert.match(d.link, /^\/checkin\/[^?]+\?s=/)
    const answered = await h.gc.http.inject({ method: 'POST', url: `/api/checkins/${d.checkin.id}/answer?s=${encodeURIComponent(d.code)}`, payload: { answer: 'well' } })
    assert.equal(answered.statusCode, 200, answered.body)
    const [, back] = await rx.until('/sms', 2)
    assert.equal(back!.body.event, 'checkin.answered')
    assert.equal(back!.body.data.answer, 'well')
    await h.gc.components.notify.idle()
    await h.api('DELETE', `/api/webhooks/${made.body.id}`)
  })

  test('a voice gateway hears a missed deadline escalate the task up the tree', async () => {
    const made = await h.api('POST', '/api/webhooks', { url: rx.url('/voice'), secret: SECRET, events: ['task.escalated'] })
    const r = await report('a fight on the stairs')
    await h.gc.components.notify.idle()
    now += 2 * 3600_000 + 60_000 // past the medium acknowledge deadline
    await h.gc.components.alerts.sweep(now)
    await rx.until('/voice', 1)
    await h.gc.components.notify.idle() // every task past its deadline escalated: this one among them
    const esc = rx.at('/voice').find((g) => g.body.data.task.id === r.body.taskId)!
    assert.equal(esc.body.event, 'task.escalated')
    assert.equal(esc.body.data.level, 1)
    assert.equal(esc.body.data.missed, 'ack')
    assert.equal(esc.headers['x-gridcare-signature'], sign(esc.raw))
    await h.api('DELETE', `/api/webhooks/${made.body.id}`)
  })

  test('a receiver answering 500 then 200 is retried; the log shows both attempts and the next retry', async () => {
    rx.answer('/flaky', 500)
    const made = await h.api('POST', '/api/webhooks', { url: rx.url('/flaky'), secret: SECRET, events: ['task.created'] })
    const t0 = now
    await report('a leaking pipe in the stairwell')
    const first = await rx.until('/flaky', 1)
    await h.gc.components.notify.idle()
    let log = (await h.api('GET', `/api/webhooks/${made.body.id}/deliveries`)).body
    assert.equal(log.length, 1)
    assert.equal(log[0].state, 'pending')
    const retryAt = new Date(t0 + 30_000).toISOString()
    assert.deepEqual(log[0].attempts, [{ at: new Date(t0).toISOString(), status: 500, error: null, nextRetryAt: retryAt }])
    assert.equal(log[0].nextAttemptAt, retryAt)
    assert.equal((await h.gc.components.notify.tick(t0 + 29_000)).attempted, 0, 'not before its time')
    now = t0 + 31_000
    await h.gc.components.notify.tick()
    const both = await rx.until('/flaky', 2)
    assert.equal(both[1]!.body.id, first[0]!.body.id, 'the same delivery id again')
    assert.equal(both[1]!.raw, first[0]!.raw, 'the same bytes, the same signature')
    log = (await h.api('GET', `/api/webhooks/${made.body.id}/deliveries`)).body
    assert.equal(log[0].state, 'delivered')
    assert.deepEqual(log[0].attempts.map((a: { status: number }) => a.status), [500, 200])
    assert.equal(log[0].attempts[1].at, new Date(now).toISOString())
    assert.equal(log[0].attempts[1].nextRetryAt, null)
    await h.api('DELETE', `/api/webhooks/${made.body.id}`)
  })

  test('an unreachable receiver is retried with growing waits and given up only after 24 h', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const made = await h.api('POST', '/api/webhooks', { url: `http://127.0.0.1:${port}/closed`, secret: SECRET, events: ['task.created'] })
    const t0 = now
    await report('nobody listens')
    await h.gc.components.notify.idle()
    const notify = h.gc.components.notify
    let t = t0
    for (let i = 0; i < 40; i++) {
      const d = (await h.api('GET', `/api/webhooks/${made.body.id}/deliveries`)).body[0]
      if (d.state !== 'pending') break
      t = Date.parse(d.nextAttemptAt)
      await notify.tick(t)
    }
    const d = (await h.api('GET', `/api/webhooks/${made.body.id}/deliveries`)).body[0]
    assert.equal(d.state, 'failed')
    const waits = d.attempts.slice(1).map((a: { at: string }, i: number) => (Date.parse(a.at) - Date.parse(d.attempts[i].at)) / 1000)
    assert.deepEqual(waits.slice(0, 4), [30, 60, 120, 300])
    assert.ok(Date.parse(d.attempts.at(-1).at) - t0 >= 24 * 3600_000, 'retried for at least 24 h')
    assert.ok(d.attempts.every((a: { status: number | null, error: string }) => a.status === null && a.error === 'ECONNREFUSED'))
    assert.equal(d.attempts.at(-1).nextRetryAt, null)
    now = t
    await h.api('DELETE', `/api/webhooks/${made.body.id}`)
  })
})

for (const store of STORES) describe(`restart (${store})`, () => {
  test('a retry pending when gridcare stops is delivered after it starts again', async () => {
    const rx = await receiver()
    const dir = mkdtempSync(join(tmpdir(), 'gridcare-webhooks-'))
    const server = store === 'postgres' ? await freshDatabase() : undefined
    const env = { DATA_DIR: dir, ...(server ? { DATABASE_URL: server.url } : {}) }
    let now = Date.UTC(2026, 10, 23, 2)
    const clock = { now: () => now }
    try {
      let h = await startGridcare(env, clock)
      await h.api('POST', '/api/addresses/import', 'code,parent,level,name,lat,lon\nD1,,district,D,,\nS1,D1,street,S,,\nC1,S1,community,C,,\nG1,C1,grid,G,,\nB1,G1,building,B,,\nU101,B1,unit,U,,\n')
      rx.answer('/restart', 503)
      const made = await h.api('POST', '/api/webhooks', { url: rx.url('/restart'), secret: SECRET, events: ['task.created'] })
      await h.api('POST', '/api/reports', { category: 'dispute', address: 'U101', text: 'before the restart' })
      const first = await rx.until('/restart', 1)
      await h.close()

      now += 40_000
      h = await startGridcare(env, clock)
      const both = await rx.until('/restart', 2)
      assert.equal(both[1]!.body.id, first[0]!.body.id)
      assert.equal(both[1]!.headers['x-gridcare-signature'], sign(both[1]!.raw))
      await h.gc.components.notify.idle()
      const log = (await h.api('GET', `/api/webhooks/${made.body.id}/deliveries`)).body
      assert.deepEqual(log[0].attempts.map((a: { status: number }) => a.status), [503, 200])
      assert.equal(log[0].state, 'delivered')
      await h.close()
    } finally {
      await rx.close()
      await server?.drop()
      rmSync(dir, { recursive: true, force: true })
    }
  }, 300_000) // two starts of the embedded store: slow on a loaded machine
})
