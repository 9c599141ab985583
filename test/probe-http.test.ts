/**
 * The hostile HTTP probe, short form (issues 11 and 15): every route of the app, taken from
 * fastify's own route list, gets NUL bytes, cross-grid calls from grid g1 at grid g2's
 * people, places and tasks, and fuzzed parameters and bodies (wrong types, huge strings,
 * injection strings, traversal paths). Figures are printed; 0 answers of 5xx, 0 cross-grid
 * reads or writes, 0 unaudited reads of a person's details.
 *
 * A route added to the app without an entry in ROUTES below fails this file: say how a
 * caller from grid g1 could reach grid g2 through it (and what g2's data would look like).
 */
import { afterAll, beforeAll, describe, test } from 'vitest'
import assert from 'node:assert/strict'
import { ADMIN, STORES, STREET_CSV, seedStreet, startGridcare, type Harness } from './helpers.ts'

type Who = 'admin' | 'gl1' | 'w1'
interface Call { as: Who, method?: string, url: string, body?: unknown, ct?: string }
interface RouteCase {
  /** Calls from grid g1 at grid g2 (or at something only the admin may do): none may succeed or show g2's data. */
  cross: Call[] | 'own' | 'public' | 'feed'
  /** A valid read by the admin (GET routes): a person's details in the answer must be audited. */
  read?: string
  /** A valid body, the base of the fuzzed and NUL ones. */
  body?: unknown
  /** Query parameters the route takes, fuzzed one by one. */
  query?: string[]
}

const G2_REPORT = 'G2-REPORT-TEXT'
/** What only grid g2's side holds (JSON-quoted where a bare substring could occur elsewhere). */
const G2_MARKERS = ['"U201"', '"U202"', '"B2"', '"G2"', 'Li Na', '13800000002', '"e201"', '"m201"', G2_REPORT, 'G2-CONTACT', 'Elder e201']
/** A person's details: names, phones, a resident's contact. */
const PERSON_MARKERS = ['Wang Fang', 'Li Na', 'Zhao Lei', 'Gao Jie', 'Elder e', '1380000000', '1390000000', 'G1-CONTACT', 'G2-CONTACT']

const ROUTES: Record<string, RouteCase> = {
  'GET /api/me': { cross: 'own', read: '/api/me' },
  'GET /api/addresses': { cross: [{ as: 'gl1', url: '/api/addresses' }, { as: 'gl1', url: '/api/addresses?under=G2' }, { as: 'w1', url: '/api/addresses?level=unit' }], read: '/api/addresses', query: ['under', 'level', 'limit', 'offset'] },
  'GET /api/addresses/:code': { cross: [{ as: 'gl1', url: '/api/addresses/U201' }, { as: 'w1', url: '/api/addresses/G2' }], read: '/api/addresses/U101' },
  'POST /api/addresses/import': { cross: [{ as: 'gl1', method: 'POST', url: '/api/addresses/import', body: 'code,parent,level,name,lat,lon\nG9,C1,grid,Grid 9,,\n', ct: 'text/csv' }], body: STREET_CSV },
  'POST /api/grids/import': { cross: [{ as: 'gl1', method: 'POST', url: '/api/grids/import', body: { type: 'FeatureCollection', features: [] } }], body: { type: 'FeatureCollection', features: [{ type: 'Feature', properties: { code: 'G1' }, geometry: { type: 'Polygon', coordinates: [[[120, 30], [120.01, 30], [120.01, 30.01], [120, 30]]] } }] } },
  'POST /api/workers': { cross: [{ as: 'gl1', method: 'POST', url: '/api/workers', body: { id: 'x1', name: 'X', role: 'grid_worker', grids: ['G2'] } }], body: { id: 'fz1', name: 'Fuzz', phone: '1', role: 'grid_worker', grids: ['G1'] } },
  'GET /api/workers': { cross: [{ as: 'gl1', url: '/api/workers' }, { as: 'w1', url: '/api/workers' }], read: '/api/workers', query: ['limit', 'offset'] },
  'GET /api/workers/:id': { cross: [{ as: 'gl1', url: '/api/workers/w2' }, { as: 'w1', url: '/api/workers/w2' }], read: '/api/workers/w1' },
  'PATCH /api/workers/:id': { cross: [{ as: 'gl1', method: 'PATCH', url: '/api/workers/w2', body: { phone: '1' } }, { as: 'w1', method: 'PATCH', url: '/api/workers/w1', body: { grids: ['G2'] } }], body: { name: 'Wang Fang', phone: '13800000001', role: 'grid_worker', grids: ['G1'] } },
  'DELETE /api/workers/:id': { cross: [{ as: 'gl1', method: 'DELETE', url: '/api/workers/w2' }] },
  'POST /api/workers/:id/token': { cross: [{ as: 'gl1', method: 'POST', url: '/api/workers/w2/token' }, { as: 'w1', method: 'POST', url: '/api/workers/w2/token' }] },
  'DELETE /api/workers/:id/token': { cross: [{ as: 'gl1', method: 'DELETE', url: '/api/workers/w2/token' }] },
  'PUT /api/workers/:id/duty': { cross: [{ as: 'gl1', method: 'PUT', url: '/api/workers/w2/duty', body: { onDuty: false } }, { as: 'w1', method: 'PUT', url: '/api/workers/w2/duty', body: { onDuty: false } }], body: { onDuty: true } },
  'POST /api/subjects': { cross: [{ as: 'gl1', method: 'POST', url: '/api/subjects', body: { id: 'x2', kind: 'lone_elder', address: 'U202' } }], body: { id: 'fz2', kind: 'lone_elder', address: 'U102', name: 'Fuzz', phone: '1', details: { a: 1 } } },
  'GET /api/subjects': { cross: [{ as: 'gl1', url: '/api/subjects' }, { as: 'w1', url: '/api/subjects?under=G2' }], read: '/api/subjects', query: ['under', 'limit', 'offset'] },
  'GET /api/subjects/:id': { cross: [{ as: 'gl1', url: '/api/subjects/e201' }, { as: 'w1', url: '/api/subjects/e201' }], read: '/api/subjects/e101' },
  'DELETE /api/subjects/:id': { cross: [{ as: 'gl1', method: 'DELETE', url: '/api/subjects/e201' }] },
  'GET /api/subjects/:id/energy': { cross: [{ as: 'gl1', url: '/api/subjects/e201/energy?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z' }], read: '/api/subjects/e101/energy?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z', query: ['from', 'to', 'bucket'] },
  'POST /api/subjects/:id/absences': { cross: [{ as: 'w1', method: 'POST', url: '/api/subjects/e201/absences', body: { until: '2099-01-01T00:00:00Z' } }], body: { until: '2099-01-01T00:00:00Z', note: 'trip' } },
  'GET /api/subjects/:id/absences': { cross: [{ as: 'gl1', url: '/api/subjects/e201/absences' }], read: '/api/subjects/e101/absences' },
  'DELETE /api/subjects/:id/absences/:absenceId': { cross: [{ as: 'gl1', method: 'DELETE', url: '/api/subjects/e201/absences/{absence201}' }] },
  'POST /api/devices': { cross: [{ as: 'gl1', method: 'POST', url: '/api/devices', body: { id: 'x3', kind: 'meter', address: 'U202' } }], body: { id: 'fz3', kind: 'meter', address: 'U102' } },
  'GET /api/devices': { cross: [{ as: 'gl1', url: '/api/devices' }, { as: 'gl1', url: '/api/devices?subject=e201' }, { as: 'w1', url: '/api/devices' }], read: '/api/devices', query: ['subject', 'limit', 'offset'] },
  'GET /api/devices/:id': { cross: [{ as: 'gl1', url: '/api/devices/m201' }], read: '/api/devices/m101' },
  'PATCH /api/devices/:id': { cross: [{ as: 'gl1', method: 'PATCH', url: '/api/devices/m201', body: { subject: null } }], body: { subject: 'e101' } },
  'POST /api/devices/:id/password': { cross: [{ as: 'gl1', method: 'POST', url: '/api/devices/m201/password' }] },
  'DELETE /api/devices/:id': { cross: [{ as: 'gl1', method: 'DELETE', url: '/api/devices/m201' }] },
  'GET /api/dead-letters': { cross: [{ as: 'gl1', url: '/api/dead-letters' }, { as: 'gl1', url: '/api/dead-letters?device=m201' }, { as: 'w1', url: '/api/dead-letters?device=m201' }], read: '/api/dead-letters', query: ['device', 'limit', 'offset'] },
  'GET /api/alerts': { cross: [{ as: 'gl1', url: '/api/alerts' }, { as: 'gl1', url: '/api/alerts?grid=G2' }, { as: 'w1', url: '/api/alerts?subject=e201' }], read: '/api/alerts', query: ['status', 'grid', 'subject', 'limit', 'offset'] },
  'GET /api/tasks': { cross: [{ as: 'gl1', url: '/api/tasks' }, { as: 'w1', url: '/api/tasks?worker=w2' }, { as: 'w1', url: '/api/tasks?grid=G2' }], read: '/api/tasks', query: ['worker', 'status', 'grid', 'limit', 'offset'] },
  'GET /api/tasks/:id': { cross: [{ as: 'gl1', url: '/api/tasks/{task201}' }, { as: 'w1', url: '/api/tasks/{task201}' }], read: '/api/tasks/{task101}' },
  'POST /api/tasks/:id/ack': { cross: [{ as: 'w1', method: 'POST', url: '/api/tasks/{task201}/ack', body: {} }], body: { note: 'n' } },
  'POST /api/tasks/:id/arrive': { cross: [{ as: 'w1', method: 'POST', url: '/api/tasks/{task201}/arrive', body: {} }], body: { note: 'n' } },
  'POST /api/tasks/:id/resolve': { cross: [{ as: 'w1', method: 'POST', url: '/api/tasks/{task201}/resolve', body: { outcome: 'handled' } }], body: { outcome: 'handled', note: 'n' } },
  'POST /api/tasks/:id/review': { cross: [{ as: 'gl1', method: 'POST', url: '/api/tasks/{task201}/review', body: {} }], body: { note: 'n' } },
  'POST /api/reports': { cross: [{ as: 'w1', method: 'POST', url: '/api/reports', body: { category: 'dispute', address: 'U201', text: 'x' } }, { as: 'gl1', method: 'POST', url: '/api/reports', body: { category: 'dispute', address: 'G2', text: 'x' } }], body: { category: 'dispute', address: 'U101', text: 'noise', contact: 'G1-CONTACT 13900000009' } },
  'GET /api/drones': { cross: [{ as: 'gl1', url: '/api/drones' }, { as: 'w1', url: '/api/drones' }], read: '/api/drones' },
  'GET /api/drones/:id/track': { cross: [{ as: 'gl1', url: '/api/drones/dr201/track' }, { as: 'w1', url: '/api/drones/dr101/track' }], read: '/api/drones/dr101/track', query: ['from', 'to', 'limit'] },
  'GET /api/feed': { cross: 'feed' }, // SSE: scope and audit in test/feed.test.ts
  'PUT /api/subjects/:id': { cross: [{ as: 'gl1', method: 'PUT', url: '/api/subjects/e201', body: { name: 'x' } }, { as: 'w1', method: 'PUT', url: '/api/subjects/e201', body: { contacts: [] } }], body: { name: 'Elder e101', phone: '13900000001', contacts: [{ name: 'G1-CONTACT', phone: '13900000003', relation: 'son' }] } },
  'GET /api/checkins': { cross: [{ as: 'gl1', url: '/api/checkins' }, { as: 'w1', url: '/api/checkins?alert={alert201}' }], read: '/api/checkins', query: ['state', 'alert', 'limit', 'offset'] },
  'GET /api/checkins/summary': { cross: [{ as: 'gl1', url: '/api/checkins/summary' }], read: '/api/checkins/summary', query: ['from', 'to'] },
  'GET /api/alerts/:id/checkins': { cross: [{ as: 'gl1', url: '/api/alerts/{alert201}/checkins' }, { as: 'w1', url: '/api/alerts/{alert201}/checkins' }], read: '/api/alerts/{alert101}/checkins' },
  'POST /api/checkins/:id/answer': { cross: 'public', body: { answer: 'well', secret: 'not-the-secret' } }, // no token: the check-in's own secret
  'GET /api/rosters/:grid': { cross: [{ as: 'gl1', url: '/api/rosters/G2' }, { as: 'w1', url: '/api/rosters/G2' }], read: '/api/rosters/G1' },
  'PUT /api/rosters/:grid': { cross: [{ as: 'gl1', method: 'PUT', url: '/api/rosters/G2', body: { backups: ['w1'] } }, { as: 'w1', method: 'PUT', url: '/api/rosters/G1', body: { leader: 'w1' } }], body: { shifts: [{ worker: 'w1', weekdays: [1, 2, 3, 4, 5], from: '08:00', to: '18:00' }], backups: [], leader: 'gl1' } },
  'GET /api/policies/deadlines': { cross: 'own', read: '/api/policies/deadlines' }, // one city-wide table, nobody's person
  'PUT /api/policies/deadlines': { cross: [{ as: 'gl1', method: 'PUT', url: '/api/policies/deadlines', body: { set: [] } }, { as: 'w1', method: 'PUT', url: '/api/policies/deadlines', body: { set: [] } }], body: { set: [{ severity: 'low', category: 'report', ackMin: 600, arriveMin: 1440, resolveMin: 4320, reviewMin: 10080, remindMin: 60 }] } },
  'GET /api/tasks/overdue': { cross: [{ as: 'gl1', url: '/api/tasks/overdue' }, { as: 'gl1', url: '/api/tasks/overdue?scope=G2' }, { as: 'w1', url: '/api/tasks/overdue?scope=U201' }], read: '/api/tasks/overdue', query: ['scope', 'level'] },
  'POST /api/tasks/:id/reassign': { cross: [{ as: 'gl1', method: 'POST', url: '/api/tasks/{task201}/reassign', body: { worker: 'w1', reason: 'x' } }, { as: 'w1', method: 'POST', url: '/api/tasks/{task201}/reassign', body: { worker: 'w1', reason: 'x' } }], body: { worker: 'w1', reason: 'nearer' } },
  'POST /api/tasks/:id/handback': { cross: [{ as: 'w1', method: 'POST', url: '/api/tasks/{task201}/handback', body: { reason: 'x' } }], body: { reason: 'ill today' } },
  'POST /api/tasks/:id/comments': { cross: [{ as: 'w1', method: 'POST', url: '/api/tasks/{task201}/comments', body: { text: 'x' } }, { as: 'gl1', method: 'POST', url: '/api/tasks/{task201}/comments', body: { text: 'x' } }], body: { text: 'called her daughter' } },
  'POST /api/tasks/:id/photos': { cross: [{ as: 'w1', method: 'POST', url: '/api/tasks/{task201}/photos', body: 'not a picture', ct: 'image/png' }] }, // raw image bytes: NUL is allowed there
  'GET /api/tasks/:id/photos/:photoId': { cross: [{ as: 'w1', url: '/api/tasks/{task201}/photos/p1' }, { as: 'gl1', url: '/api/tasks/{task201}/photos/p1' }] },
  'POST /api/tasks/bulk': { cross: [{ as: 'gl1', method: 'POST', url: '/api/tasks/bulk', body: { ids: ['x'], action: 'ack' } }, { as: 'w1', method: 'POST', url: '/api/tasks/bulk', body: { ids: ['x'], action: 'ack' } }], body: { ids: ['none'], action: 'ack' } },
  // Webhooks are the admin's and command centres': a leader or worker gets 403; none carries a person or a delivery's body.
  'POST /api/webhooks': { cross: [{ as: 'gl1', method: 'POST', url: '/api/webhooks', body: { url: 'http://127.0.0.1:9/h', secret: 'webhook-secret-0123456789', events: ['task.created'] } }], body: { url: 'http://127.0.0.1:9/h', secret: 'webhook-secret-0123456789', events: ['task.created'] } },
  'GET /api/webhooks': { cross: [{ as: 'gl1', url: '/api/webhooks' }, { as: 'w1', url: '/api/webhooks' }], read: '/api/webhooks' },
  'DELETE /api/webhooks/:id': { cross: [{ as: 'gl1', method: 'DELETE', url: '/api/webhooks/zz-none' }] },
  'GET /api/webhooks/:id/deliveries': { cross: [{ as: 'w1', url: '/api/webhooks/zz-none/deliveries' }], query: ['limit'] },
  // Statistics, stored reports and the index: a scope outside one's part of the tree is 403; without one, one's own grids.
  'GET /api/statistics': { cross: [{ as: 'gl1', url: '/api/statistics?period=month&scope=G2' }, { as: 'w1', url: '/api/statistics?period=week' }, { as: 'gl1', url: '/api/statistics?period=month&scope=C1' }], read: '/api/statistics?period=month', query: ['period', 'start', 'scope', 'format'] },
  'GET /api/statistics/reports': { cross: [{ as: 'gl1', url: '/api/statistics/reports' }, { as: 'w1', url: '/api/statistics/reports?scope=G2' }], read: '/api/statistics/reports', query: ['period', 'scope', 'limit'] },
  'GET /api/statistics/reports/:id': { cross: [{ as: 'gl1', url: '/api/statistics/reports/zz-none' }], query: ['format'] },
  'GET /api/index': { cross: [{ as: 'gl1', url: '/api/index?month=2026-11' }, { as: 'w1', url: '/api/index?month=2026-11&scope=G2' }], read: '/api/index?month=2026-11', query: ['month', 'scope'] },
  'GET /api/index/history': { cross: [{ as: 'gl1', url: '/api/index/history?grid=G2' }], read: '/api/index/history?grid=G1', query: ['grid'] },
  'GET /api/index/weights': { cross: [{ as: 'gl1', url: '/api/index/weights' }], read: '/api/index/weights' },
  'PUT /api/index/weights': { cross: [{ as: 'gl1', method: 'PUT', url: '/api/index/weights', body: { weights: { safety: 1 } } }], body: { weights: { safety: 6 }, thresholds: { green: 90, yellow: 75, orange: 60 } } },
  // The pages' read-only routes (issue 10)
  'GET /api/ui/config': { cross: 'own', read: '/api/ui/config' },
  'GET /api/grids': { cross: [{ as: 'gl1', url: '/api/grids' }, { as: 'w1', url: '/api/grids' }], read: '/api/grids' },
  'GET /api/overview': { cross: [{ as: 'gl1', url: '/api/overview' }, { as: 'w1', url: '/api/overview' }], read: '/api/overview' },
  'GET /api/households': { cross: [{ as: 'gl1', url: '/api/households?under=G2' }, { as: 'w1', url: '/api/households?under=B2' }, { as: 'w1', url: '/api/households?under=S1' }], read: '/api/households?under=G1', query: ['under'] },
  'POST /api/subjects/:id/unmask': { cross: [{ as: 'gl1', method: 'POST', url: '/api/subjects/e201/unmask' }, { as: 'w1', method: 'POST', url: '/api/subjects/e201/unmask' }] },
  'GET /api/subjects/:id/usage': { cross: [{ as: 'gl1', url: '/api/subjects/e201/usage' }, { as: 'w1', url: '/api/subjects/e201/usage?hours=24' }], read: '/api/subjects/e101/usage?hours=24', query: ['hours', 'to'] },
}
/** Outside /api: no token, nothing of a person. */
const PUBLIC = /^\/(healthz|metrics|docs|worker|vendor\/echarts\/|checkin\/|favicon\.ico|\*|$)/

const INJECTIONS = ["' OR '1'='1", "1; DROP TABLE workers; --", '${jndi:ldap://x/a}', '<script>alert(1)</script>', '%s%n\\"', '😀'.repeat(10)]
const TRAVERSALS = ['..%2F..%2F..%2Fetc%2Fpasswd', '%2e%2e%2f%2e%2e%2fetc%2fpasswd', '..%5C..%5Cwindows%5Cwin.ini']
const WRONG_TYPES: unknown[] = [-1e308, true, null, {}, [[]], { $gt: '' }, 'x'.repeat(30_000)]

for (const store of STORES) describe(store, () => {
  let h: Harness
  const tokens: Record<Who, string> = { admin: '', gl1: '', w1: '' }
  const vars: Record<string, string> = {}
  const figures = { tried: 0, serverErrors: 0, crossReads: 0, crossWrites: 0, unauditedPersonReads: 0 }
  const problems: string[] = []

  const auditRows = async () => Number((await h.gc.components.db.query<{ n: string }>('SELECT count(*) AS n FROM audit_log')).rows[0]!.n)
  const fill = (url: string) => url.replace(/\{(\w+)\}/g, (_m, k: string) => vars[k] ?? k)

  async function call (c: Call) {
    const res = await h.api(c.method ?? 'GET', fill(c.url), c.body, tokens[c.as], c.ct)
    figures.tried++
    if (res.status >= 500) { figures.serverErrors++; problems.push(`${res.status} ${c.method ?? 'GET'} ${c.url.slice(0, 120)} ${JSON.stringify(c.body)?.slice(0, 120)}`) }
    return res
  }

  beforeAll(async () => {
    h = await startGridcare({}, undefined, store)
    const t = await seedStreet(h)
    tokens.admin = ADMIN
    tokens.w1 = t.w1
    tokens.gl1 = (await h.api('POST', '/api/workers', { id: 'gl1', name: 'Gao Jie', phone: '13800000009', role: 'grid_leader', grids: ['G1'] })).body.token
    for (const [id, unit] of [['e101', 'U101'], ['e201', 'U201']] as const) {
      assert.equal((await h.api('POST', '/api/subjects', { id, kind: 'lone_elder', address: unit, name: `Elder ${id}`, phone: '13900000001' })).status, 201)
      assert.equal((await h.api('POST', '/api/devices', { id: `m${id.slice(1)}`, kind: 'meter', subject: id })).status, 201)
    }
    assert.equal((await h.api('POST', '/api/devices', { id: 'dr101', kind: 'drone', address: 'S1' })).status, 201)
    vars.absence201 = (await h.api('POST', '/api/subjects/e201/absences', { until: '2099-01-01T00:00:00Z', note: 'G2 trip' })).body.id
    await h.gc.components.db.query(`INSERT INTO dead_letters (source, topic, device_id, code, reason, payload) VALUES
      ('mqtt', 'gc/v1/S1/m201/telemetry', 'm201', 'INGEST_INVALID_PAYLOAD', 'kwh: expected number', '{"kwh":"G2-REPORT-TEXT"}'),
      ('mqtt', 'gc/v1/S1/m101/telemetry', 'm101', 'INGEST_INVALID_PAYLOAD', 'kwh: expected number', '{"kwh":"x"}')`)
    const r2 = await h.api('POST', '/api/reports', { category: 'dispute', address: 'U201', text: G2_REPORT, contact: 'G2-CONTACT 13900000002' })
    const r1 = await h.api('POST', '/api/reports', { category: 'dispute', address: 'U101', text: 'G1 report', contact: 'G1-CONTACT 13900000003' })
    assert.equal(r2.status, 201)
    vars.task201 = r2.body.taskId
    vars.alert201 = r2.body.alert.id
    vars.alert101 = r1.body.alert.id
    vars.task101 = r1.body.taskId
  })
  afterAll(async () => {
    console.log(`[probe-http ${store}] tried ${figures.tried}, 5xx ${figures.serverErrors}, cross-grid reads ${figures.crossReads}, cross-grid writes ${figures.crossWrites}, unaudited person reads ${figures.unauditedPersonReads}`)
    for (const p of problems.slice(0, 20)) console.log(`[probe-http ${store}]   ${p}`)
    await h?.close()
  })

  test('every route of the app has a probe entry (a new route needs its cross-grid case here)', () => {
    const api = h.gc.http.routeList.filter((r) => r.url.startsWith('/api/')).map((r) => `${r.method} ${r.url}`)
    const missing = api.filter((k) => !ROUTES[k])
    assert.deepEqual(missing, [], 'routes without an entry in ROUTES (test/probe-http.test.ts): add how grid g1 could reach grid g2 through each')
    const stale = Object.keys(ROUTES).filter((k) => !api.includes(k))
    assert.deepEqual(stale, [], 'entries in ROUTES for routes the app no longer has')
    const other = h.gc.http.routeList.filter((r) => !r.url.startsWith('/api/') && !PUBLIC.test(r.url))
    assert.deepEqual(other, [], 'routes outside /api that are not public pages')
  })

  test('cross-grid: a leader or worker of grid g1 reads nothing of g2 and changes nothing there', async () => {
    const w2Before = (await h.api('GET', '/api/workers/w2')).body
    for (const [key, c] of Object.entries(ROUTES)) {
      if (!Array.isArray(c.cross)) continue
      for (const x of c.cross) {
        const res = await call(x)
        const method = x.method ?? 'GET'
        const ok = res.status >= 200 && res.status < 300
        const text = JSON.stringify(res.body)
        if (ok && method !== 'GET') { figures.crossWrites++; problems.push(`cross-grid write ${res.status} ${key} as ${x.as}: ${x.url}`) }
        const leaked = G2_MARKERS.filter((m) => text.includes(m))
        if (ok && leaked.length > 0) { figures.crossReads++; problems.push(`cross-grid read ${key} as ${x.as}: ${x.url} showed ${leaked.join(', ')}`) }
        if (!ok) assert.ok([400, 403, 404].includes(res.status), `${key} as ${x.as} ${x.url}: ${res.status} ${text}`)
      }
    }
    const w2After = (await h.api('GET', '/api/workers/w2')).body
    assert.deepEqual(w2After, w2Before, 'w2 unchanged')
    assert.equal((await h.api('GET', '/api/tasks/' + vars.task201)).body.state, 'open', 'g2 task unmoved')
    assert.deepEqual(problems.filter((p) => p.startsWith('cross')), [])
    assert.equal(figures.crossReads + figures.crossWrites, 0)
  })

  test('every read of a person\'s details is audited', async () => {
    for (const [key, c] of Object.entries(ROUTES)) {
      const reads: Call[] = [...(c.read ? [{ as: 'admin' as const, url: c.read }] : []), ...(Array.isArray(c.cross) ? c.cross.filter((x) => (x.method ?? 'GET') === 'GET') : [])]
      for (const r of reads) {
        const before = await auditRows()
        const res = await call(r)
        if (res.status !== 200) { assert.ok(r.as !== 'admin', `${key}: the admin's read ${r.url} answered ${res.status} ${JSON.stringify(res.body)}`); continue }
        const text = JSON.stringify(res.body)
        if (PERSON_MARKERS.some((m) => text.includes(m)) && (await auditRows()) === before) {
          figures.unauditedPersonReads++
          problems.push(`unaudited person read ${key} as ${r.as}: ${r.url}`)
        }
      }
    }
    assert.deepEqual(problems.filter((p) => p.startsWith('unaudited')), [])
  })

  test('NUL bytes anywhere in a URL or a body: 400 with a reason, on every route', async () => {
    for (const key of Object.keys(ROUTES)) {
      const [method, pattern] = key.split(' ') as [string, string]
      const withNul = pattern.includes(':') ? pattern.replace(/:\w+/g, 'a%00b') : `${pattern}?q=a%00b`
      const urls = [withNul, ...(ROUTES[key]!.query ?? []).map((q) => `${pattern.replace(/:\w+/g, 'x')}?${q}=a%00b`)]
      for (const url of urls) {
        const res = await call({ as: 'admin', method, url, ...(ROUTES[key]!.body !== undefined ? { body: ROUTES[key]!.body } : {}) })
        assert.equal(res.status, 400, `${method} ${url}: ${res.status}`)
        assert.match(res.body.error.message, /NUL/)
      }
      const body = ROUTES[key]!.body
      if (body === undefined) continue
      const url = pattern.replace(/:id/, pattern.includes('/tasks/') ? vars.task101! : pattern.includes('/workers/') ? 'w1' : pattern.includes('/devices/') ? 'm101' : 'e101')
      const variants: unknown[] = typeof body === 'string'
        ? [body.replace('Grid 1', 'Grid\u00001')]
        : [...Object.keys(body as object).map((k): unknown => ({ ...(body as object), [k]: typeof (body as Record<string, unknown>)[k] === 'string' ? 'a\u0000b' : ['a\u0000b'] })),
            { ...(body as object), ['k\u0000']: 1 }]
      for (const b of variants) {
        const res = await call({ as: 'admin', method, url, body: b })
        assert.equal(res.status, 400, `${method} ${url} ${JSON.stringify(b).slice(0, 200)}: ${res.status} ${JSON.stringify(res.body)}`)
      }
    }
    // the examples from the issue, by name
    assert.equal((await call({ as: 'admin', url: '/api/subjects/a%00b' })).status, 400)
    assert.equal((await call({ as: 'admin', method: 'POST', url: '/api/reports', body: { category: 'dispute', address: 'U101', text: 'a\u0000b' } })).status, 400)
    assert.equal((await call({ as: 'admin', url: '/api/tasks?worker=a%00b' })).status, 400)
    assert.equal((await call({ as: 'admin', url: '/api/dead-letters?device=a%00b' })).status, 400)
  })

  test('fuzzed parameters and bodies: wrong types, huge strings, injection strings, traversal paths: never 5xx', async () => {
    for (const [key, c] of Object.entries(ROUTES)) {
      if (c.cross === 'feed') continue // a stream: inject() would wait for its end
      const [method, pattern] = key.split(' ') as [string, string]
      const params = pattern.match(/:\w+/g) ?? []
      for (const p of params) {
        for (const bad of [...INJECTIONS.map(encodeURIComponent), ...TRAVERSALS, 'x'.repeat(3000), '%ZZ', '%', '-1', '0']) {
          const url = pattern.replace(/:\w+/g, (m) => m === p ? bad : 'x')
          await call({ as: 'admin', method, url, ...(c.body !== undefined ? { body: c.body } : {}) })
        }
      }
      for (const q of c.query ?? []) {
        for (const bad of [...INJECTIONS.map(encodeURIComponent), ...TRAVERSALS, '-1', '1e309', '', 'x'.repeat(3000)]) {
          await call({ as: 'admin', url: `${pattern.replace(/:\w+/g, 'x')}?${q}=${bad}` })
        }
        await call({ as: 'admin', url: `${pattern.replace(/:\w+/g, 'x')}?${q}=1&${q}=2` })
      }
      if (method === 'GET' || method === 'DELETE') continue
      const url = pattern.replace(/:\w+/g, 'zz-none')
      const base = c.body
      const bodies: unknown[] = ['[]', '"text"', 'null', '{"a":', '{"a":1}}', '['.repeat(5000) + ']'.repeat(5000), JSON.stringify({ a: 'x'.repeat(300_000) })]
      if (base !== undefined && typeof base === 'object') {
        for (const k of Object.keys(base as object)) {
          for (const v of [...WRONG_TYPES, ...INJECTIONS.slice(0, 3), TRAVERSALS.map(decodeURIComponent)[0]]) bodies.push({ ...(base as object), [k]: v })
        }
      } else if (typeof base === 'string') bodies.push(base.replace(/Grid 1/g, "'; DROP TABLE addresses; --"), 'code\n' + 'x,'.repeat(10_000), '\uFEFF' + base, 'x'.repeat(100_000))
      for (const b of bodies) await call({ as: 'admin', method, url, body: b, ...(typeof b === 'string' && typeof base !== 'string' ? { ct: 'application/json' } : {}) })
    }
    assert.equal(figures.serverErrors, 0, problems.join('\n'))
    assert.equal((await h.api('GET', '/healthz')).status, 200)
  })
})
