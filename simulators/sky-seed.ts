/** Registers the demo's drones, door cameras and drone operator over the API and builds their publisher. */
import type { Logger } from 'pino'
import { cameraFeed } from './camera.ts'
import type { SimClock } from './clock.ts'
import { createPatrol } from './drone.ts'
import { demoSky } from './sky.ts'
import type { StreetPlan } from './street.ts'
import { createTimedPublisher, type TimedDevice } from './timed-publisher.ts'
import type { Scenario } from './types.ts'

const MIN = 60_000
const DAY = 1440 * MIN

export interface SkySeedOptions {
  /** An admin API call: method, url, body, content type. */
  call: (method: string, url: string, body?: unknown) => Promise<any>
  street: StreetPlan
  /** Start of the live day, epoch ms. */
  liveFrom: number
  utcOffsetHours: number
  /** The meter scenarios of a subject, so its camera agrees with its meter. */
  scenarios: (subject: string) => Scenario[]
}

export async function seedSky ({ call, street, liveFrom, utcOffsetHours, scenarios }: SkySeedOptions) {
  const firstQuiet = scenarios(street.homes[0]!.subject).find((s) => s.kind === 'incapacitated')
  const sky = demoSky(liveFrom, firstQuiet?.kind === 'incapacitated' ? firstQuiet.at : liveFrom + 90 * MIN)
  const operatorToken = (await call('POST', '/api/workers', sky.operator)).token as string
  const devices: TimedDevice[] = []
  for (const d of sky.drones) {
    const reg = await call('POST', '/api/devices', { id: d.id, kind: 'drone', address: street.workers[0]!.grids[0] })
    devices.push({ ...reg, messagesBetween: createPatrol(d.plan).messagesBetween })
  }
  for (const cam of sky.cameras) {
    const home = street.homes[cam.home]!
    const reg = await call('POST', '/api/devices', { id: `cam-${home.subject}`, kind: 'camera', subject: home.subject })
    const feed = cameraFeed({ subjectKind: home.kind, seed: home.seed, utcOffsetHours, scenarios: scenarios(home.subject) }, liveFrom, liveFrom + 2 * DAY, cam.fallAt !== undefined ? { fallAt: cam.fallAt } : {})
    devices.push({ ...reg, messagesBetween: feed.messagesBetween })
  }
  return {
    operator: sky.operator.id,
    operatorToken,
    devices,
    publisher: (o: { url: string, logger: Logger, clock: SimClock }) => createTimedPublisher({ ...o, devices }),
  }
}
