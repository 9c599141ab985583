import type { Db, Queryable } from '../store/index.ts'
import { GridcareError } from '../errors/index.ts'
import { ADDRESS_LEVELS, type AddressLevel } from '../vocab/index.ts'
import { parseAddressCsv, type AddressRow, type RowProblem } from './csv.ts'
import { bbox, validRing, type PolygonCoords } from './geo.ts'
import { createSpatialIndex, type NearestBuilding, type SpatialIndex } from './spatial.ts'

export { distanceM, validPosition } from './spatial.ts'

/**
 * Where a point falls: `grid` when a grid's area contains it; `building` when it lies in no grid
 * but within `maxBuildingM` of a building (its grid then, the distance said); `street` otherwise,
 * the street of the nearest building at any distance (null when the base has no located building).
 * `address` is the code to route to: the grid, the building, the street, or null.
 */
export interface Placement {
  how: 'grid' | 'building' | 'street' | 'none'
  address: string | null
  grid: string | null
  street: string | null
  /** The nearest building when the point is in no grid. */
  building: { code: string, distanceM: number } | null
}

export interface Address extends Omit<AddressRow, 'line'> {
  /** Codes from the root of the tree down to this address. */
  path: string[]
  /** The grid this address lies in (itself for a grid); null above grid level. */
  grid: string | null
  street: string | null
}

const rank = (level: AddressLevel) => ADDRESS_LEVELS.indexOf(level)

/**
 * The unified address base: every district, street, community, grid, building
 * and unit has a code; meters, subjects, workers and tasks meet on it.
 */
export function createAddressBase ({ db }: { db: Db }) {
  let spatial: Promise<SpatialIndex> | null = null

  async function get (code: string, q: Queryable = db): Promise<Address | null> {
    const { rows } = await q.query<Address>('SELECT code, parent, level, name, lat, lon, path, grid, street FROM addresses WHERE code = $1', [code])
    return rows[0] ?? null
  }

  /** Imports a CSV all or nothing; a bad row fails the whole import with every problem listed. */
  async function importCsv (text: string): Promise<{ imported: number }> {
    const { rows, problems } = parseAddressCsv(text)
    await resolveTree(rows, problems)
    problems.sort((a, b) => a.line - b.line)
    if (problems.length > 0) {
      throw new GridcareError('ADDRESS_IMPORT_INVALID', `${problems.length} bad row(s); nothing was imported`, { rows: problems })
    }
    return db.transaction(async (tx) => {
      const known = new Map<string, Address>()
      for (const row of order(rows)) {
        const parent = row.parent ? known.get(row.parent) ?? await get(row.parent, tx) : null
        const path = [...(parent?.path ?? []), row.code]
        const grid = row.level === 'grid' ? row.code : rank(row.level) > rank('grid') ? parent?.grid ?? null : null
        const street = row.level === 'street' ? row.code : rank(row.level) > rank('street') ? parent?.street ?? null : null
        const addr: Address = { code: row.code, parent: row.parent, level: row.level, name: row.name, lat: row.lat, lon: row.lon, path, grid, street }
        known.set(row.code, addr)
        await tx.query(
          'INSERT INTO addresses (code, parent, level, name, lat, lon, path, grid, street) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)',
          [addr.code, addr.parent, addr.level, addr.name, addr.lat, addr.lon, addr.path, addr.grid, addr.street])
      }
      return { imported: rows.length }
    }).finally(() => { spatial = null })
  }

  /** Checks codes, parents and levels against the file and the stored base. */
  async function resolveTree (rows: AddressRow[], problems: RowProblem[]) {
    const inFile = new Map<string, AddressRow>()
    for (const row of rows) {
      if (inFile.has(row.code)) problems.push({ line: row.line, code: row.code, reason: `duplicate code "${row.code}" (also on line ${inFile.get(row.code)!.line})` })
      else inFile.set(row.code, row)
    }
    const codes = [...new Set(rows.flatMap((r) => r.parent ? [r.code, r.parent] : [r.code]))]
    const { rows: stored } = await db.query<{ code: string, level: AddressLevel }>('SELECT code, level FROM addresses WHERE code = ANY($1)', [codes])
    const storedLevel = new Map(stored.map((s) => [s.code, s.level]))
    for (const row of rows) {
      if (storedLevel.has(row.code)) problems.push({ line: row.line, code: row.code, reason: `duplicate code "${row.code}": already in the address base` })
      if (row.parent === null) {
        if (row.level !== 'district') problems.push({ line: row.line, code: row.code, reason: `a ${row.level} needs a parent` })
        continue
      }
      const parentLevel = inFile.get(row.parent)?.level ?? storedLevel.get(row.parent)
      if (!parentLevel) problems.push({ line: row.line, code: row.code, reason: `unknown parent "${row.parent}"` })
      else if (rank(parentLevel) >= rank(row.level)) problems.push({ line: row.line, code: row.code, reason: `a ${row.level} cannot sit under a ${parentLevel}` })
    }
  }

  /** Imports grid areas from a GeoJSON FeatureCollection of (Multi)Polygons, all or nothing. */
  async function importGrids (fc: unknown): Promise<{ imported: number }> {
    const problems: Array<{ index: number, code?: string, reason: string }> = []
    const f = fc as { type?: string, features?: unknown[] }
    if (f?.type !== 'FeatureCollection' || !Array.isArray(f.features)) {
      throw new GridcareError('GRID_IMPORT_INVALID', 'expected a GeoJSON FeatureCollection', { features: [] })
    }
    const items: Array<{ code: string, geometry: object, polygons: PolygonCoords[] }> = []
    for (const [index, feat] of f.features.entries()) {
      const ft = feat as { geometry?: { type?: string, coordinates?: unknown }, properties?: { code?: unknown } }
      const code = typeof ft?.properties?.code === 'string' ? ft.properties.code : undefined
      const g = ft?.geometry
      const polygons = g?.type === 'Polygon' ? [g.coordinates] : g?.type === 'MultiPolygon' ? g.coordinates as unknown[] : null
      if (!code) { problems.push({ index, reason: 'properties.code is missing' }); continue }
      if (!polygons || !polygons.every((p) => Array.isArray(p) && p.length > 0 && p.every(validRing))) {
        problems.push({ index, code, reason: 'geometry must be a Polygon or MultiPolygon of closed lon/lat rings' }); continue
      }
      const addr = await get(code)
      if (!addr) problems.push({ index, code, reason: `grid "${code}" is not in the address base` })
      else if (addr.level !== 'grid') problems.push({ index, code, reason: `"${code}" is a ${addr.level}, not a grid` })
      else items.push({ code, geometry: g!, polygons: polygons as PolygonCoords[] })
    }
    if (problems.length > 0) throw new GridcareError('GRID_IMPORT_INVALID', `${problems.length} bad feature(s); nothing was imported`, { features: problems })
    await db.transaction(async (tx) => {
      for (const it of items) {
        await tx.query(`INSERT INTO grid_areas (code, geometry, bbox) VALUES ($1, $2, $3)
          ON CONFLICT (code) DO UPDATE SET geometry = EXCLUDED.geometry, bbox = EXCLUDED.bbox`,
        [it.code, JSON.stringify(it.geometry), bbox(it.polygons)])
      }
    })
    spatial = null
    return { imported: items.length }
  }

  /** Grid areas and located buildings in R-trees; rebuilt after an import. */
  function index (): Promise<SpatialIndex> {
    spatial ??= (async () => {
      const grids = await db.query<{ code: string, geometry: { type: string, coordinates: unknown } }>('SELECT code, geometry FROM grid_areas ORDER BY code')
      const buildings = await db.query<{ code: string, lat: number, lon: number, grid: string | null, street: string | null }>(
        "SELECT code, lat, lon, grid, street FROM addresses WHERE level = 'building' AND lat IS NOT NULL AND lon IS NOT NULL ORDER BY code")
      return createSpatialIndex(
        grids.rows.map((r) => ({ code: r.code, polygons: (r.geometry.type === 'Polygon' ? [r.geometry.coordinates] : r.geometry.coordinates) as PolygonCoords[] })),
        buildings.rows)
    })().catch((err) => { spatial = null; throw err })
    return spatial
  }

  /** The grid whose area contains the point, or null. */
  async function locate (lat: number, lon: number): Promise<string | null> {
    return (await index()).gridAt(lat, lon)
  }

  /** The building nearest the point within maxM metres (default any), with its distance. */
  async function nearestBuilding (lat: number, lon: number, maxM?: number): Promise<NearestBuilding | null> {
    return (await index()).nearestBuilding(lat, lon, maxM)
  }

  /** Places a point: its grid, else a building within maxBuildingM (default 300 m), else its street. */
  async function place (lat: number, lon: number, { maxBuildingM = 300 }: { maxBuildingM?: number } = {}): Promise<Placement> {
    const idx = await index()
    const grid = idx.gridAt(lat, lon)
    if (grid) return { how: 'grid', address: grid, grid, street: (await get(grid))?.street ?? null, building: null }
    const near = idx.nearestBuilding(lat, lon)
    const building = near && { code: near.code, distanceM: near.distanceM }
    if (near && near.distanceM <= maxBuildingM) return { how: 'building', address: near.code, grid: near.grid, street: near.street, building }
    if (near?.street) return { how: 'street', address: near.street, grid: null, street: near.street, building }
    return { how: 'none', address: null, grid: null, street: null, building }
  }

  /** The street a point belongs to: its grid's, else the nearest building's; null when unknown. */
  async function streetOf (lat: number, lon: number): Promise<string | null> {
    return (await place(lat, lon)).street
  }

  async function list (opts: { under?: string, level?: AddressLevel, limit: number, offset: number }): Promise<Address[]> {
    const { rows } = await db.query<Address>(`SELECT code, parent, level, name, lat, lon, path, grid, street FROM addresses
      WHERE ($1::text IS NULL OR $1 = ANY(path)) AND ($2::text IS NULL OR level = $2)
      ORDER BY code LIMIT $3 OFFSET $4`, [opts.under ?? null, opts.level ?? null, opts.limit, opts.offset])
    return rows
  }

  return { get, importCsv, importGrids, locate, nearestBuilding, place, streetOf, list }
}

export type AddressBase = ReturnType<typeof createAddressBase>

/** Parents before children, whatever order the file had. */
function order (rows: AddressRow[]): AddressRow[] {
  return [...rows].sort((a, b) => rank(a.level) - rank(b.level))
}
