/** Minimal planar geometry for grid areas: small polygons, lon/lat treated as x/y. */
export type Ring = number[][]
export type PolygonCoords = Ring[]

/** Ray casting; holes (rings after the first) exclude. */
export function pointInPolygon (lon: number, lat: number, polygon: PolygonCoords): boolean {
  const inRing = (ring: Ring) => {
    let inside = false
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi = 0, yi = 0] = ring[i]!
      const [xj = 0, yj = 0] = ring[j]!
      if ((yi > lat) !== (yj > lat) && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside
    }
    return inside
  }
  const [outer, ...holes] = polygon
  return !!outer && inRing(outer) && !holes.some(inRing)
}

export function bbox (polygons: PolygonCoords[]): [number, number, number, number] {
  let minX = Infinity; let minY = Infinity; let maxX = -Infinity; let maxY = -Infinity
  for (const poly of polygons) {
    for (const [x = 0, y = 0] of poly[0] ?? []) {
      minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y)
    }
  }
  return [minX, minY, maxX, maxY]
}

export function validRing (ring: unknown): ring is Ring {
  return Array.isArray(ring) && ring.length >= 4 && ring.every((p) => Array.isArray(p) && p.length >= 2 &&
    typeof p[0] === 'number' && typeof p[1] === 'number' && Math.abs(p[0]) <= 180 && Math.abs(p[1]) <= 90)
}
