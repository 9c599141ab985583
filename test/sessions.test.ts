/**
 * Credentials taken away take effect at once (issue 11): a device whose password is rotated,
 * or which is moved or removed, loses its live MQTT connection; a worker whose token is
 * rotated or revoked, or who is removed, loses its MQTT connection and its live feed; and the
 * credential cache that lets known devices in while the store is down never takes an old
 * password. On PostgreSQL behind a proxy the test can cut.
 */
import { afterAll, beforeAll, describe, test } from 'vitest'
import assert from 'node:assert/strict'
import { request } from 'node:http'
import type mqtt from 'mqtt'
import { createGuard, DEFAULT_LIMITS } from '../broker/guard.ts'
import { deviceTopics, workerTopic } from '../vocab/index.ts'
import { connectDevice, seedStreet, startGridcare, type Harness } from './helpers.ts'
import { proxiedDatabase } from './tcp-proxy.ts'

type Dev = { id: string, username: string, password: string, topics: { telemetry: string } }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** Resolves 'closed' when the client's connection ends, or 'open' if it is still up after `ms` (a bound, not a timing). */
const closedWithin = (c: mqtt.MqttClient, ms = 5000) => Promise.race([
  new Promise<'closed'>((resolve) => { if (!c.connected) resolve('closed'); else c.once('close', () => resolve('closed')) }),
  sleep(ms).then(() => 'open' as const),
])

/** An SSE feed over real HTTP; `ended` resolves when the server ends it. */
function openFeed (port: number, token: string) {
  let opened!: () => void
  const open = new Promise<void>((resolve) => { opened = resolve })
  const ended = new Promise<'ended'>((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/api/feed', headers: { authorization: `Bearer ${token}` } }, (r) => {
      assert.equal(r.statusCode, 200)
      r.once('data', () => opened())
      r.on('end', () => resolve('ended'))
      r.on('close', () => resolve('ended'))
    })
    req.on('error', () => resolve('ended'))
    req.end()
  })
  return { open, ended: (ms = 5000) => Promise.race([ended, sleep(ms).then(() => 'open' as const)]) }
}

describe('live sessions end when credentials are taken away', () => {
  let h: Harness
  let db: Awaited<ReturnType<typeof proxiedDatabase>>
  let tokens: Awaited<ReturnType<typeof seedStreet>>
  const clients: mqtt.MqttClient[] = []
  const device = async (id: string, address = 'U101'): Promise<Dev> => (await h.api('POST', '/api/devices', { id, kind: 'meter', address })).body
  const connect = async (creds: { username: string, password: string }, opts: mqtt.IClientOptions = {}) => {
    const c = await connectDevice(h.mqttUrl, creds, opts)
    clients.push(c)
    return c
  }

  beforeAll(async () => {
    db = await proxiedDatabase()
    h = await startGridcare({ DATABASE_URL: db.url })
    tokens = await seedStreet(h)
    const other = 'code,parent,level,name,lat,lon\nS2,D1,street,Beishan Street,30.26,120.14\nC2,S2,community,Pine Community,30.261,120.141\nG3,C2,grid,Grid 3,,\nB3,G3,building,Building 3,30.2611,120.1411\nU301,B3,unit,Flat 301,,\n'
    assert.equal((await h.api('POST', '/api/addresses/import', other)).status, 200)
  })
  afterAll(async () => {
    clients.forEach((c) => c.end(true))
    await h?.close()
    await db?.drop()
  })

  test('a device whose password is rotated, or which is moved or removed, is disconnected at once', async () => {
    for (const [id, change] of [['rot1', 'rotate'], ['mov1', 'move'], ['rem1', 'remove']] as const) {
      const d = await device(id)
      const c = await connect(d)
      await c.publishAsync(d.topics.telemetry, JSON.stringify({ ts: '2026-03-01T00:00:00Z', kwh: 1 }), { qos: 1 })
      const other = await connect(d, { clientId: `${id}-second-connection` })
      if (change === 'rotate') assert.equal((await h.api('POST', `/api/devices/${id}/password`)).status, 200)
      if (change === 'move') assert.equal((await h.api('PATCH', `/api/devices/${id}`, { address: 'U301' })).status, 200)
      if (change === 'remove') assert.equal((await h.api('DELETE', `/api/devices/${id}`)).status, 204)
      assert.equal(await closedWithin(c), 'closed', `${change}: the live connection ends`)
      assert.equal(await closedWithin(other), 'closed', `${change}: every live connection of the device ends`)
    }
  })

  test('a moved device reconnects with its password and its new topics work', async () => {
    const d = await device('mov2')
    const c = await connect(d)
    const out = await h.api('PATCH', '/api/devices/mov2', { address: 'U301' })
    assert.equal(await closedWithin(c), 'closed')
    assert.notEqual(out.body.topics.telemetry, d.topics.telemetry, 'another street, other topics')
    const again = await connect(d)
    await again.publishAsync(out.body.topics.telemetry, JSON.stringify({ ts: '2026-03-01T00:15:00Z', kwh: 2 }), { qos: 1 })
    const { rows } = await h.gc.components.db.query("SELECT 1 FROM readings WHERE device_id = 'mov2'")
    assert.equal(rows.length, 1, 'stored from the new topic, not refused as another street\'s')
  })

  test('a device re-bound on its own street keeps its connection (its topics are the same)', async () => {
    const d = await device('reb1')
    const c = await connect(d)
    assert.equal((await h.api('PATCH', '/api/devices/reb1', { address: 'U102' })).status, 200)
    await c.publishAsync(d.topics.telemetry, JSON.stringify({ ts: '2026-03-01T00:30:00Z', kwh: 3 }), { qos: 1 })
    assert.ok(c.connected)
  })

  test('other devices keep their connections', async () => {
    const a = await device('keep1')
    const b = await device('gone1')
    const ca = await connect(a)
    const cb = await connect(b)
    assert.equal((await h.api('POST', '/api/devices/gone1/password')).status, 200)
    assert.equal(await closedWithin(cb), 'closed')
    await ca.publishAsync(a.topics.telemetry, JSON.stringify({ ts: '2026-03-01T00:00:00Z', kwh: 1 }), { qos: 1 })
    assert.ok(ca.connected)
  })

  test('a worker whose token is rotated or revoked, or who is removed, loses its MQTT connection and its feed', async () => {
    const fresh = async (id: string) => (await h.api('POST', '/api/workers', { id, name: id, role: 'grid_worker', grids: ['G1'] })).body.token as string
    const cases: Array<[string, string, () => Promise<{ status: number }>]> = [
      ['wr', await fresh('wr'), () => h.api('POST', '/api/workers/wr/token')],
      ['wv', await fresh('wv'), () => h.api('DELETE', '/api/workers/wv/token')],
      ['wx', await fresh('wx'), () => h.api('DELETE', '/api/workers/wx')],
    ]
    const bystander = openFeed(h.gc.httpPort!, tokens.w2)
    await bystander.open
    for (const [id, token, change] of cases) {
      const c = await connect({ username: `worker:${id}`, password: token })
      await c.subscribeAsync(workerTopic(id), { qos: 1 })
      const feed = openFeed(h.gc.httpPort!, token)
      await feed.open
      assert.ok([200, 204].includes((await change()).status))
      assert.equal(await closedWithin(c), 'closed', `${id}: MQTT connection ends`)
      assert.equal(await feed.ended(), 'ended', `${id}: feed ends`)
      assert.equal((await h.api('GET', '/api/me', undefined, token)).status, 401)
    }
    assert.equal(await bystander.ended(200), 'open', 'another worker\'s feed goes on')
  })

  test('a worker whose grids change has its feed ended, to come back with the new scope', async () => {
    const feed = openFeed(h.gc.httpPort!, tokens.w1)
    await feed.open
    assert.equal((await h.api('PATCH', '/api/workers/w1', { grids: ['G1', 'G2'] })).status, 200)
    assert.equal(await feed.ended(), 'ended')
  })

  test('while the store is down, the cache lets a known device in but never with a rotated or removed device\'s old password; the API answers 503', async () => {
    const known = await device('cache-ok')
    const rotated = await device('cache-rot')
    const removed = await device('cache-rem')
    // Each connects once while the store is up: its credentials are verified and cached.
    for (const d of [known, rotated, removed]) await (await connect(d)).endAsync()
    assert.equal((await h.api('POST', '/api/devices/cache-rot/password')).status, 200)
    assert.equal((await h.api('DELETE', '/api/devices/cache-rem')).status, 204)
    db.proxy.cut()
    try {
      const ok = await connect(known, { connectTimeout: 15_000 })
      assert.ok(ok.connected, 'a known device is let in from the cache')
      // Not from the cache: held while the store cannot answer, and no CONNACK comes.
      for (const d of [rotated, removed]) await assert.rejects(connect(d, { connectTimeout: 3000 }), `${d.id}: the old password is not taken from the cache`)
      // The API says the store is away, in a way a client may retry: 503, not a bug's 500.
      for (const token of [tokens.w1, 'no-such-token']) {
        const res = await h.gc.http.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token}` } })
        assert.equal(res.statusCode, 503, res.body)
        assert.equal(res.json().error.code, 'STORE_UNAVAILABLE')
        assert.equal(res.headers['retry-after'], '5')
      }
    } finally {
      db.proxy.restore()
    }
  })
})

test('the credential cache forgets a username by name, whatever password it last used, and counts revocations', () => {
  const guard = createGuard(DEFAULT_LIMITS)
  const id = { type: 'device' as const, id: 'm1', kind: 'meter' as const, street: 'S1', topics: deviceTopics('S1', 'm1') }
  guard.remember('device:m1', 'old', id)
  assert.deepEqual(guard.cached('device:m1', 'old'), id)
  assert.equal(guard.cached('device:m1', 'other'), undefined)
  const before = guard.revocations
  guard.revoke('device:m1')
  assert.equal(guard.cached('device:m1', 'old'), undefined)
  assert.equal(guard.revocations, before + 1, 'a check begun before the revocation is asked again')
  guard.remember('device:m1', 'new', id)
  guard.forget('device:m1', 'old')
  assert.deepEqual(guard.cached('device:m1', 'new'), id, 'a refused old password does not evict the current one')
})
