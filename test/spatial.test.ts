import { afterAll, beforeAll, describe, test } from 'vitest'
import assert from 'node:assert/strict'
import { createSpatialIndex, distanceM, validPosition } from '../addresses/spatial.ts'
import { startGridcare, STREET_CSV, type Harness } from './helpers.ts'

const square = (x: number, y: number, d = 0.01) => [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]

describe('spatial index', () => {
  test('a point falls in the grid whose polygon contains it, not one whose bounding box does', () => {
    // An L-shaped grid: its bounding box covers the top-right corner, its area does not.
    const ell = [[[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2], [0, 0]]]
    const idx = createSpatialIndex([{ code: 'L', polygons: [ell] }, { code: 'R', polygons: [square(1.5, 1.5, 0.4)] }], [])
    assert.equal(idx.gridAt(0.5, 0.5), 'L')
    assert.equal(idx.gridAt(1.7, 1.7), 'R')
    assert.equal(idx.gridAt(1.2, 1.2), null, 'inside the bounding box of L, outside its area')
    assert.equal(idx.gridAt(91, 0), null)
    assert.equal(idx.gridAt(Number.NaN, 0), null)
  })

  test('holes exclude and multipolygons include every part', () => {
    const withHole = [square(0, 0, 1)[0]!, [[0.4, 0.4], [0.6, 0.4], [0.6, 0.6], [0.4, 0.6], [0.4, 0.4]]]
    const idx = createSpatialIndex([{ code: 'H', polygons: [withHole] }, { code: 'M', polygons: [square(5, 5, 1), square(7, 7, 1)] }], [])
    assert.equal(idx.gridAt(0.2, 0.2), 'H')
    assert.equal(idx.gridAt(0.5, 0.5), null)
    assert.equal(idx.gridAt(7.5, 7.5), 'M')
  })

  test('the nearest building comes with its distance in metres, within a limit when asked', () => {
    const idx = createSpatialIndex([], [
      { code: 'B1', lat: 30.2411, lon: 120.1011, grid: 'G1', street: 'S1' },
      { code: 'B2', lat: 30.2421, lon: 120.1021, grid: 'G2', street: 'S1' },
    ])
    const near = idx.nearestBuilding(30.2412, 120.1011)
    assert.equal(near?.code, 'B1')
    assert.ok(near.distanceM >= 10 && near.distanceM <= 12, `about 11 m, got ${near.distanceM}`)
    assert.equal(idx.nearestBuilding(30.2425, 120.1025)?.code, 'B2')
    assert.equal(idx.nearestBuilding(30.30, 120.1011, 500), null, 'six kilometres away, past the limit')
    assert.equal(idx.nearestBuilding(30.30, 120.1011)?.code, 'B2')
  })

  test('distances and positions', () => {
    // One degree of latitude is about 111.2 km.
    assert.ok(Math.abs(distanceM(30, 120, 31, 120) - 111_195) < 100)
    assert.equal(validPosition(30, 120), true)
    for (const [lat, lon] of [[91, 0], [0, 181], [Number.NaN, 0], ['30', 120], [0, Infinity]]) assert.equal(validPosition(lat, lon), false)
  })

  test('ten thousand grids are indexed and searched', () => {
    const grids = []
    for (let i = 0; i < 100; i++) for (let j = 0; j < 100; j++) grids.push({ code: `G${i}_${j}`, polygons: [square(120 + i * 0.01, 30 + j * 0.01)] })
    const idx = createSpatialIndex(grids, [])
    assert.equal(idx.gridAt(30.555, 120.425), 'G42_55')
    assert.equal(idx.gridAt(29.9, 120.5), null)
  })
})

describe('address base placement', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startGridcare()
    assert.equal((await h.api('POST', '/api/addresses/import', STREET_CSV)).status, 200)
    const r = await h.api('POST', '/api/grids/import', {
      type: 'FeatureCollection',
      features: [
        { type: 'Feature', properties: { code: 'G1' }, geometry: { type: 'Polygon', coordinates: square(120.100, 30.240, 0.0015) } },
        { type: 'Feature', properties: { code: 'G2' }, geometry: { type: 'Polygon', coordinates: square(120.1015, 30.2415, 0.0015) } },
      ],
    })
    assert.equal(r.status, 200)
  })
  afterAll(async () => { await h.close() })

  test('a point in a grid, near a building, and far from everything', async () => {
    const a = h.gc.components.addresses
    assert.deepEqual(await a.place(30.241, 120.101), { how: 'grid', address: 'G1', grid: 'G1', street: 'S1', building: null })
    assert.equal(await a.locate(30.2425, 120.1025), 'G2')
    // North of both grids, about 210 m from Building 2.
    const near = await a.place(30.2440, 120.1021)
    assert.equal(near.how, 'building')
    assert.equal(near.address, 'B2')
    assert.equal(near.grid, 'G2')
    assert.ok(near.building!.distanceM > 200 && near.building!.distanceM < 220, String(near.building!.distanceM))
    const far = await a.place(30.30, 120.10)
    assert.equal(far.how, 'street')
    assert.equal(far.address, 'S1')
    assert.equal(far.grid, null)
    assert.ok(far.building!.distanceM > 6000)
    assert.equal(await a.streetOf(30.30, 120.10), 'S1')
  })

  test('an import rebuilds the index', async () => {
    const a = h.gc.components.addresses
    assert.equal(await a.locate(30.25, 120.11), null)
    const imp = await h.api('POST', '/api/addresses/import', 'code,parent,level,name,lat,lon\nG3,C1,grid,Grid 3,,\nB3,G3,building,Building 3,30.2505,120.1105\n')
    assert.equal(imp.status, 200)
    assert.equal((await a.place(30.2506, 120.1105)).address, 'B3')
    await h.api('POST', '/api/grids/import', { type: 'FeatureCollection', features: [{ type: 'Feature', properties: { code: 'G3' }, geometry: { type: 'Polygon', coordinates: square(120.11, 30.25, 0.002) } }] })
    assert.equal(await a.locate(30.2506, 120.1105), 'G3')
  })
})
