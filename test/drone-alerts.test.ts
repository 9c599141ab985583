import { afterAll, beforeAll, describe, test } from 'vitest'
import assert from 'node:assert/strict'
import type mqtt from 'mqtt'
import { connectDevice, STORES, seedStreet, startGridcare, type Harness } from './helpers.ts'

const square = (x: number, y: number, d: number) => [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]
const T0 = Date.UTC(2026, 10, 23, 2)
type Task = { id: string, alertId: string, workerId: string | null, kind: string, grid: string | null, address: string, category: string, severity: string }
type Alert = { id: string, kind: string, grid: string | null, address: string, detector: string, severity: string, evidence: Record<string, any> }

for (const store of STORES) describe(`drone alerts (${store})`, () => {
  let h: Harness
  let tokens: Record<string, string>
  let c: mqtt.MqttClient
  let drone: { topics: { telemetry: string, events: string } }
  const wall = { t: Date.UTC(2026, 10, 30, 8) }
  const send = (topic: string, body: unknown) => c.publishAsync(topic, JSON.stringify(body), { qos: 1 })
  const settle = async () => { await h.gc.components.fleet.idle(); await h.gc.components.alerts.idle() }
  const tasksOf = async (token: string) => (await h.api('GET', '/api/tasks', undefined, token)).body as Task[]
  const alertsOfKind = async (kind: string) => ((await h.api('GET', '/api/alerts')).body as Alert[]).filter((a) => a.kind === kind)

  beforeAll(async () => {
    h = await startGridcare({}, { now: () => wall.t }, store)
    tokens = await seedStreet(h)
    const grids = await h.api('POST', '/api/grids/import', {
      type: 'FeatureCollection',
      features: [
        { type: 'Feature', properties: { code: 'G1' }, geometry: { type: 'Polygon', coordinates: square(120.100, 30.240, 0.0015) } },
        { type: 'Feature', properties: { code: 'G2' }, geometry: { type: 'Polygon', coordinates: square(120.1015, 30.2415, 0.0015) } },
      ],
    })
    assert.equal(grids.status, 200)
    for (const w of [{ id: 'centre', name: 'Lingyin centre', role: 'command_centre', grids: ['S1'] }, { id: 'op1', name: 'Chen Jie', role: 'drone_operator', grids: ['S1'] }]) {
      const r = await h.api('POST', '/api/workers', w)
      assert.equal(r.status, 201)
      tokens[w.id] = r.body.token
    }
    drone = (await h.api('POST', '/api/devices', { id: 'dr1', kind: 'drone', address: 'S1' })).body
    c = await connectDevice(h.mqttUrl, drone as never)
  })
  afterAll(async () => { await c?.endAsync(); await h.close() })

  test('five frames of one fire inside grid 1 make one alert and one task, for grid 1\'s worker only', async () => {
    // A figure, not an assertion: how long from the first frame's publish to the worker's task.
    const started = performance.now()
    const tasked = new Promise<number>((resolve) => h.gc.events.once('task.created', () => resolve(performance.now() - started)))
    for (let i = 0; i < 5; i++) await send(drone.topics.events, { ts: T0 + i * 10_000, lat: 30.2410 + i * 0.00002, lon: 120.1010, label: 'fire', confidence: 0.6 + i * 0.02 })
    await settle()
    console.log(`[drone-alerts ${store}] fire frame published -> task created for w1 in ${(await tasked).toFixed(0)} ms`)
    const fires = await alertsOfKind('fire')
    assert.equal(fires.length, 1)
    const a = fires[0]!
    assert.equal(a.grid, 'G1')
    assert.equal(a.detector, 'drone')
    assert.equal(a.severity, 'high')
    assert.equal(a.evidence.deviceId, 'dr1')
    assert.equal(a.evidence.label, 'fire')
    assert.equal(a.evidence.lat, 30.241)
    assert.equal(a.evidence.lon, 120.101)
    assert.equal(a.evidence.sightings, 5)
    const mine = (await tasksOf(tokens.w1!)).filter((t) => t.alertId === a.id)
    assert.equal(mine.length, 1)
    assert.equal(mine[0]!.workerId, 'w1')
    assert.equal(mine[0]!.category, 'safety')
    assert.deepEqual(await tasksOf(tokens.w2!), [], 'nothing for grid 2')
  })

  test('a surer frame of the same fire makes it critical, still one alert', async () => {
    await send(drone.topics.events, { ts: T0 + 60_000, lat: 30.2410, lon: 120.1010, label: 'fire', confidence: 0.95 })
    await settle()
    const fires = await alertsOfKind('fire')
    assert.equal(fires.length, 1)
    assert.equal(fires[0]!.severity, 'critical')
    const task = (await tasksOf(tokens.w1!)).find((t) => t.alertId === fires[0]!.id)!
    assert.equal(task.severity, 'critical')
  })

  test('the same fire as a new episode (the detector restarted) is still the same alert', async () => {
    const before = (await alertsOfKind('fire'))[0]!
    await h.gc.components.alerts.handlePlace({
      detector: 'drone', kind: 'fire', phase: 'raise', severity: 'high', episode: 'fire:dr9:restart', deviceId: 'dr9', street: 'S1', lat: 30.2411, lon: 120.1011,
      startedAt: T0 + 2 * 60_000, observedAt: T0 + 2 * 60_000, evidence: { deviceId: 'dr9', label: 'fire', lat: 30.2411, lon: 120.1011, sightings: 1 },
    })
    const fires = await alertsOfKind('fire')
    assert.equal(fires.length, 1)
    assert.equal(fires[0]!.id, before.id)
    assert.equal(fires[0]!.severity, 'critical', 'never lowered')
  })

  test('outside every grid but near a building: that building\'s grid, with the distance said', async () => {
    await send(drone.topics.events, { ts: T0, lat: 30.2440, lon: 120.1021, label: 'crowd', confidence: 0.8 })
    await settle()
    const [a] = await alertsOfKind('crowd')
    assert.ok(a)
    assert.equal(a.address, 'B2')
    assert.equal(a.grid, 'G2')
    assert.equal(a.severity, 'medium')
    assert.equal(a.evidence.placement.how, 'building')
    assert.ok(a.evidence.placement.distanceM > 200 && a.evidence.placement.distanceM < 220)
    assert.equal((await tasksOf(tokens.w2!)).filter((t) => t.alertId === a.id).length, 1)
  })

  test('far from every grid and building: the street\'s command centre', async () => {
    await send(drone.topics.events, { ts: T0, lat: 30.30, lon: 120.10, label: 'flood', confidence: 0.9 })
    await settle()
    const [a] = await alertsOfKind('flood')
    assert.ok(a, 'not nowhere')
    assert.equal(a.address, 'S1')
    assert.equal(a.grid, null)
    assert.equal(a.evidence.placement.how, 'street')
    const centre = (await tasksOf(tokens.centre!)).filter((t) => t.alertId === a.id)
    assert.equal(centre.length, 1)
    assert.equal(centre[0]!.workerId, 'centre')
    assert.equal((await tasksOf(tokens.w1!)).filter((t) => t.alertId === a.id).length, 0)
  })

  test('low battery reaches the drone operator only, once', async () => {
    for (const [i, battery] of [40, 25, 18, 15].entries()) await send(drone.topics.telemetry, { ts: T0 + i * 30_000, lat: 30.2405, lon: 120.1005, alt: 50, battery })
    await settle()
    const low = await alertsOfKind('drone_low_battery')
    assert.equal(low.length, 1)
    const all = (await h.api('GET', '/api/tasks')).body as Task[]
    const tasks = all.filter((t) => t.alertId === low[0]!.id)
    assert.equal(tasks.length, 1)
    assert.equal(tasks[0]!.workerId, 'op1')
    assert.equal(tasks[0]!.category, 'device_fault')
    assert.deepEqual(all.filter((t) => t.workerId === 'op1').map((t) => t.alertId), [low[0]!.id], 'the operator is given only the fleet\'s task')
    for (const w of ['w1', 'w2']) assert.equal((await tasksOf(tokens[w]!)).filter((t) => t.kind.startsWith('drone_')).length, 0)
  })

  test('a flying drone silent for two minutes: lost link, to the operator', async () => {
    assert.equal(await h.gc.components.fleet.tick(wall.t + 3 * 60_000), 1)
    await settle()
    const lost = await alertsOfKind('drone_lost_link')
    assert.equal(lost.length, 1)
    assert.equal(lost[0]!.severity, 'high')
    const t = ((await h.api('GET', '/api/tasks')).body as Task[]).find((x) => x.alertId === lost[0]!.id)!
    assert.equal(t.workerId, 'op1')
  })
})
