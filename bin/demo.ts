/**
 * The demo: a fresh embedded gridcare, a small street seeded over the API, three
 * weeks of meter history backfilled over MQTT, then a day played at 720x so that
 * within two minutes a few elders go quiet and their tasks reach the grid workers.
 */
import { rmSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { configOrExit, startGridcare } from './start.ts'
import { createMeterModel, createMeterPublisher, createSimClock, type MeterProfile, type SimDevice } from '../simulators/index.ts'
import { demoGridAreas, demoStreet } from '../simulators/street.ts'
import { seedSky } from '../simulators/sky-seed.ts'
import { createLogger } from '../app/logger.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const env = {
  ...process.env,
  MQTT_PORT: process.env.MQTT_PORT ?? '0',
  DATA_DIR: process.env.DATA_DIR ?? './data-demo',
  ADMIN_TOKEN: process.env.ADMIN_TOKEN ?? randomBytes(24).toString('base64url'),
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
}
const config = configOrExit(env)
if (!config.databaseUrl && env.DATA_DIR === './data-demo') rmSync('./data-demo', { recursive: true, force: true })
const gc = await startGridcare(config)
const base = `http://127.0.0.1:${gc.httpPort}`
const call = async (method: string, url: string, body?: unknown, type = 'application/json') => {
  const res = await fetch(base + url, { method, headers: { authorization: `Bearer ${config.adminToken}`, 'content-type': type }, body: typeof body === 'string' ? body : JSON.stringify(body) })
  const json = await res.json() as any
  if (!res.ok) throw new Error(`${method} ${url}: ${JSON.stringify(json)}`)
  return json
}

const street = demoStreet()
await call('POST', '/api/addresses/import', street.csv, 'text/csv')
await call('POST', '/api/grids/import', street.grids)
const tokens: Record<string, string> = {}
for (const w of street.workers) tokens[w.id] = (await call('POST', '/api/workers', w)).token

// Live play starts at 07:00 local, 12-36 hours ago, so the elders go quiet in the
// morning (nights never page anyone) and the simulation catches up with the wall clock.
const offset = config.utcOffsetHours * HOUR
let liveFrom = Math.floor((Date.now() + offset) / DAY) * DAY - offset + 7 * HOUR
if (Date.now() - liveFrom < 12 * HOUR) liveFrom -= DAY
const historyFrom = liveFrom - 21 * DAY
const quiet = new Map<string, MeterProfile['scenarios']>([
  [street.homes[0]!.subject, [{ kind: 'incapacitated', at: liveFrom + 90 * 60_000 }]],
  [street.homes[13]!.subject, [{ kind: 'incapacitated', at: liveFrom + 2 * HOUR, residualW: 60 }]],
  [street.homes[30]!.subject, [{ kind: 'incapacitated', at: liveFrom + 5 * HOUR }]],
])
const devices: SimDevice[] = []
for (const home of street.homes) {
  await call('POST', '/api/subjects', { id: home.subject, kind: home.kind, address: home.unit, name: home.name })
  const d = await call('POST', '/api/devices', { id: `meter-${home.subject}`, kind: 'meter', subject: home.subject })
  const model = createMeterModel({ subjectKind: home.kind, seed: home.seed, utcOffsetHours: config.utcOffsetHours, scenarios: quiet.get(home.subject) ?? [] })
  devices.push({ id: d.id, username: d.username, password: d.password, topics: d.topics, model })
}

const url = `mqtt://127.0.0.1:${gc.mqttPort}`
// Drones over the street and door cameras on six elders' flats, each with its own credentials.
await call('POST', '/api/grids/import', demoGridAreas())
const sky = await seedSky({ call, street, liveFrom, utcOffsetHours: config.utcOffsetHours, scenarios: (s) => quiet.get(s) ?? [] })
tokens[sky.operator] = sky.operatorToken
const logger = createLogger('warn')
const say = (s: string) => process.stdout.write(s + '\n')
say(`demo: ${street.homes.length} homes in ${street.workers.filter((w) => w.role === 'grid_worker').length} grids; backfilling 21 days of 15-minute readings over MQTT...`)
const t0 = Date.now()
const history = createMeterPublisher({ url, devices, logger })
await history.start()
const n = await history.backfill(historyFrom, liveFrom)
await history.stop()
say(`demo: ${n} readings stored in ${((Date.now() - t0) / 1000).toFixed(1)} s; now playing the last day at 720x (one hour every 5 s)`)
const clock = createSimClock({ startMs: liveFrom, speed: 720 })
const publisher = createMeterPublisher({ url, devices, logger, clock })
await publisher.start()
const skyPublisher = sky.publisher({ url, logger, clock })
await skyPublisher.start()
const catchUp = setInterval(() => { if (clock.now() >= Date.now()) { clock.setSpeed(1); clearInterval(catchUp); say('demo: caught up with the wall clock; running in real time') } }, 1000)

const w = street.workers.find((x) => x.role === 'grid_worker')!
say(`
Open the command centre:  ${base}/#token=${config.adminToken}
A grid worker's phone:    ${base}/worker#token=${tokens[w.id]}   (${w.name}, ${w.grids[0]})
API docs:                 ${base}/docs
Admin token:              ${config.adminToken}
Worker tokens:            ${street.workers.map((x) => `${x.id}=${tokens[x.id]}`).join('\n                          ')}
Try: curl -H "Authorization: Bearer ${config.adminToken}" ${base}/api/tasks
Three elders go quiet 1.5, 2 and 5 simulated hours into the live day: expect tasks within a minute or two.
The first of them falls in front of her door camera. Two drones patrol (GET /api/drones, /api/drones/drone-1/track): a fire
at 3 h, construction at 4.5 h, standing water far from any grid at 6 h (to the command centre), a crowd at 7 h; drone-2's
fifth flight runs its battery low (to the drone operator, "pilot").
`)

setInterval(async () => {
  const tasks = await call('GET', '/api/tasks?limit=1000') as Array<{ state: string }>
  const alerts = await call('GET', '/api/alerts?status=open&limit=1000') as unknown[]
  say(`demo: sim time ${new Date(clock.now()).toISOString()} · open alerts ${alerts.length} · tasks ${tasks.length} (${tasks.filter((t) => t.state === 'open').length} not yet acknowledged)`)
}, 10_000).unref()

const stop = async () => { clearInterval(catchUp); await publisher.stop(); await skyPublisher.stop(); await gc.stop(); process.exit(0) }
process.removeAllListeners('SIGINT'); process.removeAllListeners('SIGTERM')
process.once('SIGINT', stop); process.once('SIGTERM', stop)
