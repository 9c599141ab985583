/** Grid-area rings as GeoJSON holds them: [lon, lat] pairs. Containment and distance are in spatial.ts (Turf). */
export type Ring = number[][]
export type PolygonCoords = Ring[]

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
