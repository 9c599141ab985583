/**
 * Where a point on the map falls in the address base: the grid whose area contains it, else the
 * nearest building. Grid bounding boxes and building points sit in static R-trees (Flatbush), so
 * a city's thousands of grids are narrowed to a handful of candidates before Turf's exact
 * point-in-polygon; nearest-building search is geographic (geoflatbush, great-circle km).
 */
import booleanPointInPolygon from '@turf/boolean-point-in-polygon'
import turfDistance from '@turf/distance'
import Flatbush from 'flatbush'
import { around } from 'geoflatbush'
import { bbox, type PolygonCoords } from './geo.ts'

export interface GridArea { code: string, polygons: PolygonCoords[] }
export interface BuildingPoint { code: string, lat: number, lon: number, grid: string | null, street: string | null }
export interface NearestBuilding extends BuildingPoint { distanceM: number }

/** Great-circle distance between two points, metres (Turf, haversine). */
export function distanceM (lat1: number, lon1: number, lat2: number, lon2: number): number {
  return turfDistance([lon1, lat1], [lon2, lat2], { units: 'meters' })
}

/** True for a real position: finite, latitude within ±90, longitude within ±180. */
export function validPosition (lat: unknown, lon: unknown): boolean {
  return typeof lat === 'number' && typeof lon === 'number' && Number.isFinite(lat) && Number.isFinite(lon) &&
    Math.abs(lat) <= 90 && Math.abs(lon) <= 180
}

export function createSpatialIndex (grids: readonly GridArea[], buildings: readonly BuildingPoint[]) {
  const gridTree = grids.length > 0 ? new Flatbush(grids.length) : null
  for (const g of grids) {
    const [minX, minY, maxX, maxY] = bbox(g.polygons)
    gridTree!.add(minX, minY, maxX, maxY)
  }
  gridTree?.finish()
  const shapes = grids.map((g) => ({ type: 'MultiPolygon' as const, coordinates: g.polygons }))

  const buildingTree = buildings.length > 0 ? new Flatbush(buildings.length) : null
  for (const b of buildings) buildingTree!.add(b.lon, b.lat, b.lon, b.lat)
  buildingTree?.finish()

  /** The grid whose area contains the point (the first by code when areas overlap), or null. */
  function gridAt (lat: number, lon: number): string | null {
    if (!gridTree || !validPosition(lat, lon)) return null
    const hits = gridTree.search(lon, lat, lon, lat).filter((i) => booleanPointInPolygon([lon, lat], shapes[i]!))
    if (hits.length === 0) return null
    return hits.map((i) => grids[i]!.code).sort()[0]!
  }

  /** The building nearest the point, within maxM metres (default: any distance), or null. */
  function nearestBuilding (lat: number, lon: number, maxM = Infinity): NearestBuilding | null {
    if (!buildingTree || !validPosition(lat, lon)) return null
    const [i] = around(buildingTree, lon, lat, 1, maxM / 1000)
    if (i === undefined) return null
    const b = buildings[i]!
    return { ...b, distanceM: Math.round(distanceM(lat, lon, b.lat, b.lon)) }
  }

  return { gridAt, nearestBuilding, size: { grids: grids.length, buildings: buildings.length } }
}

export type SpatialIndex = ReturnType<typeof createSpatialIndex>
