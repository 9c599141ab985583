/**
 * The demo street seen from the sky and at the door: two patrol drones, one over each community,
 * with a day of sightings (a fire in a grid, construction, a crowd just outside a grid, standing
 * water far from any building) and a worn battery on one flight; door cameras on a few elders'
 * flats, one of whom falls when her meter goes quiet.
 */
import type { PatrolPlan } from './drone.ts'

const MIN = 60_000
const HOUR = 60 * MIN

export interface SkyPlan {
  operator: { id: string, name: string, phone: string, role: 'drone_operator', grids: string[] }
  drones: Array<{ id: string, plan: PatrolPlan }>
  /** Indexes into demoStreet().homes of elders with a door camera, and when one falls. */
  cameras: Array<{ home: number, fallAt?: number }>
}

const box = (lat: number, lon: number): Array<[number, number]> => [[lat, lon], [lat, lon + 0.003], [lat + 0.003, lon + 0.003], [lat + 0.003, lon]]

/** `liveFrom`: the start of the live day; `fallAt`: when the first elder goes quiet. */
export function demoSky (liveFrom: number, fallAt: number): SkyPlan {
  return {
    operator: { id: 'pilot', name: 'Lingyin drone squadron', phone: '0571-0001', role: 'drone_operator', grids: ['XH-LY'] },
    drones: [
      {
        id: 'drone-1',
        plan: {
          route: box(30.2400, 120.1000), firstTakeoff: liveFrom + 30 * MIN,
          sightings: [
            { at: liveFrom + 3 * HOUR, label: 'fire', lat: 30.2411, lon: 120.1012, confidence: 0.72 },
            { at: liveFrom + 6 * HOUR, label: 'flood', lat: 30.2370, lon: 120.0960, confidence: 0.8, frames: 4 },
          ],
        },
      },
      {
        id: 'drone-2',
        plan: {
          route: box(30.2440, 120.1040), firstTakeoff: liveFrom + 40 * MIN, weakFlights: [4],
          sightings: [
            { at: liveFrom + 4.5 * HOUR, label: 'construction', lat: 30.2460, lon: 120.1055, confidence: 0.85, frames: 3 },
            { at: liveFrom + 7 * HOUR, label: 'crowd', lat: 30.2440, lon: 120.1050, confidence: 0.75 },
          ],
        },
      },
    ],
    cameras: [{ home: 0, fallAt }, { home: 1 }, { home: 2 }, { home: 6 }, { home: 7 }, { home: 12 }],
  }
}
