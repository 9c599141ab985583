import { afterAll, beforeAll, test } from 'vitest'
import assert from 'node:assert/strict'
import { seedStreet, startGridcare, STREET_CSV, type Harness } from './helpers.ts'

let h: Harness
beforeAll(async () => { h = await startGridcare() })
afterAll(async () => { await h.close() })

test('/api needs a bearer token', async () => {
  const none = await h.gc.http.inject({ method: 'GET', url: '/api/addresses' })
  assert.equal(none.statusCode, 401)
  assert.equal(JSON.parse(none.body).error.code, 'AUTH_MISSING_TOKEN')
  const bad = await h.api('GET', '/api/addresses', undefined, 'nope')
  assert.equal(bad.status, 401)
  assert.equal(bad.body.error.code, 'AUTH_BAD_TOKEN')
})

test('a CSV with bad rows is refused whole, listing each bad row', async () => {
  const csv = `code,parent,level,name,lat,lon
X1,,district,Good district,,
X2,NOPE,street,Orphan street,,
X3,X1,galaxy,Bad level,,
X4,X1,street,Bad coords,95,120
X1,,district,Duplicate,,
X5,X1,street,Half coords,30,
`
  const r = await h.api('POST', '/api/addresses/import', csv)
  assert.equal(r.status, 400)
  assert.equal(r.body.error.code, 'ADDRESS_IMPORT_INVALID')
  const rows = r.body.error.details.rows as Array<{ line: number, reason: string }>
  const byLine = new Map(rows.map((x) => [x.line, x.reason]))
  assert.match(byLine.get(3)!, /unknown parent "NOPE"/)
  assert.match(byLine.get(4)!, /bad level "galaxy"/)
  assert.match(byLine.get(5)!, /bad lat "95"/)
  assert.match(byLine.get(6)!, /duplicate code "X1" \(also on line 2\)/)
  assert.match(byLine.get(7)!, /both lat and lon/)
  assert.equal(byLine.has(2), false)
  // nothing was imported, not even the good rows
  const list = await h.api('GET', '/api/addresses?under=X1')
  assert.deepEqual(list.body, [])
  const dup = await h.api('POST', '/api/addresses/import', 'code,parent,level,name,lat,lon\nY1,,district,A,,\nY1,,district,B,,\n')
  assert.equal(dup.status, 400)
  assert.match(dup.body.error.details.rows[0].reason, /duplicate code "Y1"/)
  const wrongTree = await h.api('POST', '/api/addresses/import', 'code,parent,level,name,lat,lon\nZ1,,district,A,,\nZ2,Z1,unit,Flat,,\nZ3,Z2,building,B,,\n')
  assert.equal(wrongTree.status, 400)
  assert.match(wrongTree.body.error.details.rows[0].reason, /a building cannot sit under a unit/)
  const header = await h.api('POST', '/api/addresses/import', 'id,name\n1,2\n')
  assert.equal(header.status, 400)
  assert.match(header.body.error.details.rows[0].reason, /header must be code,parent,level,name,lat,lon/)
})

test('a good CSV imports the tree with paths and grids; re-importing a code is a duplicate', async () => {
  const r = await h.api('POST', '/api/addresses/import', STREET_CSV)
  assert.equal(r.status, 200)
  assert.equal(r.body.imported, 11)
  const unit = await h.api('GET', '/api/addresses/U201')
  assert.deepEqual(unit.body.path, ['D1', 'S1', 'C1', 'G2', 'B2', 'U201'])
  assert.equal(unit.body.grid, 'G2')
  assert.equal(unit.body.street, 'S1')
  const again = await h.api('POST', '/api/addresses/import', 'code,parent,level,name,lat,lon\nU999,B1,unit,New flat,,\nU101,B1,unit,Flat 101,,\n')
  assert.equal(again.status, 400)
  assert.match(again.body.error.details.rows[0].reason, /already in the address base/)
  assert.equal((await h.api('GET', '/api/addresses/U999')).status, 404)
})

test('only the admin imports; workers get 403', async () => {
  const tokens = await seedStreetWorkersOnly()
  const r = await h.api('POST', '/api/addresses/import', 'code,parent,level,name,lat,lon\nQ1,,district,Q,,\n', tokens.w1)
  assert.equal(r.status, 403)
  assert.equal(r.body.error.code, 'AUTH_FORBIDDEN')
})

test('grid areas import as GeoJSON and route a report by position', async () => {
  const square = (x: number, y: number) => [[[x, y], [x + 0.01, y], [x + 0.01, y + 0.01], [x, y + 0.01], [x, y]]]
  const bad = await h.api('POST', '/api/grids/import', { type: 'FeatureCollection', features: [{ type: 'Feature', properties: { code: 'B1' }, geometry: { type: 'Polygon', coordinates: square(120, 30) } }] })
  assert.equal(bad.status, 400)
  assert.match(bad.body.error.details.features[0].reason, /is a building, not a grid/)
  const ok = await h.api('POST', '/api/grids/import', {
    type: 'FeatureCollection',
    features: [
      { type: 'Feature', properties: { code: 'G1' }, geometry: { type: 'Polygon', coordinates: square(120.10, 30.24) } },
      { type: 'Feature', properties: { code: 'G2' }, geometry: { type: 'Polygon', coordinates: square(120.11, 30.24) } },
    ],
  })
  assert.equal(ok.status, 200)
  const report = await h.api('POST', '/api/reports', { category: 'environment', lat: 30.245, lon: 120.115, text: 'rubbish dumped by the canal' })
  assert.equal(report.status, 201)
  assert.equal(report.body.alert.grid, 'G2')
  assert.equal(report.body.alert.kind, 'report.environment')
  const task = await h.api('GET', `/api/tasks/${report.body.taskId}`)
  assert.equal(task.body.workerId, 'w2')
  const nowhere = await h.api('POST', '/api/reports', { category: 'dispute', lat: 10, lon: 10, text: 'far away' })
  assert.equal(nowhere.status, 400)
  assert.equal(nowhere.body.error.code, 'REPORT_UNROUTABLE')
})

let seeded: { w1: string, w2: string, lead: string } | undefined
async function seedStreetWorkersOnly () {
  if (seeded) return seeded
  const w1 = await h.api('POST', '/api/workers', { id: 'w1', name: 'Wang Fang', role: 'grid_worker', grids: ['G1'] })
  const w2 = await h.api('POST', '/api/workers', { id: 'w2', name: 'Li Na', role: 'grid_worker', grids: ['G2'] })
  const lead = await h.api('POST', '/api/workers', { id: 'lead', name: 'Zhao Lei', role: 'grid_leader', grids: ['C1'] })
  seeded = { w1: w1.body.token, w2: w2.body.token, lead: lead.body.token }
  return seeded
}
void seedStreet
