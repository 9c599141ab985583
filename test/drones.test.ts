import { afterAll, beforeAll, describe, test } from 'vitest'
import assert from 'node:assert/strict'
import type mqtt from 'mqtt'
import { connectDevice, seedStreet, startGridcare, STREET_CSV, type Harness } from './helpers.ts'

const square = (x: number, y: number, d: number) => [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]
const T0 = Date.UTC(2026, 10, 23, 2)
const MIN = 60_000

describe('drone fleet over MQTT', () => {
  let h: Harness
  let tokens: Awaited<ReturnType<typeof seedStreet>>
  let drone: { id: string, username: string, password: string, topics: { telemetry: string, events: string } }
  let c: mqtt.MqttClient
  const wall = { t: Date.UTC(2026, 10, 30, 8) }
  const clock = { now: () => wall.t }
  const send = (topic: string, body: unknown) => c.publishAsync(topic, typeof body === 'string' ? body : JSON.stringify(body), { qos: 1 })

  beforeAll(async () => {
    h = await startGridcare({}, clock)
    tokens = await seedStreet(h)
    void STREET_CSV
    await h.api('POST', '/api/grids/import', {
      type: 'FeatureCollection',
      features: [
        { type: 'Feature', properties: { code: 'G1' }, geometry: { type: 'Polygon', coordinates: square(120.100, 30.240, 0.0015) } },
        { type: 'Feature', properties: { code: 'G2' }, geometry: { type: 'Polygon', coordinates: square(120.1015, 30.2415, 0.0015) } },
      ],
    })
    const op = await h.api('POST', '/api/workers', { id: 'op1', name: 'Chen Jie', role: 'drone_operator', grids: ['S1'] })
    assert.equal(op.status, 201)
    tokens = { ...tokens, op: op.body.token } as typeof tokens
    drone = (await h.api('POST', '/api/devices', { id: 'dr1', kind: 'drone', address: 'S1' })).body
    c = await connectDevice(h.mqttUrl, drone)
  })
  afterAll(async () => { await c?.endAsync(); await h.close() })

  test('a drone operator covers streets, not grids', async () => {
    const bad = await h.api('POST', '/api/workers', { id: 'op2', name: 'X', role: 'drone_operator', grids: ['G1'] })
    assert.equal(bad.status, 400)
    assert.equal(bad.body.error.code, 'ADDRESS_WRONG_LEVEL')
  })

  test('telemetry is stored and served as a track, and the drone list shows the last position', async () => {
    for (let i = 0; i < 10; i++) await send(drone.topics.telemetry, { ts: T0 + i * 10_000, lat: 30.2400 + i * 0.0001, lon: 120.1005, alt: 60, battery: 90 - i })
    await h.gc.components.fleet.idle()
    const list = await h.api('GET', '/api/drones')
    assert.equal(list.status, 200)
    assert.equal(list.body.length, 1)
    const d = list.body[0]
    assert.equal(d.id, 'dr1')
    assert.equal(d.street, 'S1')
    assert.equal(d.flying, true)
    assert.equal(d.last.ts, new Date(T0 + 90_000).toISOString())
    assert.equal(d.last.battery, 81)
    const all = await h.api('GET', '/api/drones/dr1/track')
    assert.equal(all.status, 200)
    assert.equal(all.body.points.length, 10)
    assert.equal(all.body.points[0].lat, 30.24)
    const part = await h.api('GET', `/api/drones/dr1/track?from=${new Date(T0 + 20_000).toISOString()}&to=${T0 + 50_000}`)
    assert.deepEqual(part.body.points.map((p: { ts: string }) => p.ts), [2, 3, 4, 5].map((i) => new Date(T0 + i * 10_000).toISOString()))
    assert.equal((await h.api('GET', '/api/drones/nope/track')).status, 404)
    assert.equal((await h.api('GET', `/api/drones/dr1/track?from=${T0 + 1}&to=${T0}`)).status, 400)
    // A grid worker's part of the tree does not include the street's drones.
    assert.deepEqual((await h.api('GET', '/api/drones', undefined, tokens.w1)).body, [])
    assert.equal((await h.api('GET', '/api/drones/dr1/track', undefined, tokens.w1)).status, 403)
    assert.equal((await h.api('GET', '/api/drones', undefined, (tokens as unknown as { op: string }).op)).body.length, 1)
    assert.equal((await h.api('GET', '/api/workers', undefined, (tokens as unknown as { op: string }).op)).status, 403, 'an operator is no supervisor')
  })

  test('bad coordinates and unknown labels are dead letters with a reason', async () => {
    const bad = [
      [drone.topics.telemetry, { ts: T0, lat: 91, lon: 120.1 }, /lat/],
      [drone.topics.telemetry, { ts: T0, lat: 'NaN', lon: 120.1 }, /lat/],
      [drone.topics.telemetry, '{"ts": 1795399200000, "lat": NaN, "lon": 120.1}', /not JSON/],
      [drone.topics.events, { ts: T0, lat: 30.24, lon: '120.1', label: 'fire' }, /lon/],
      [drone.topics.events, { ts: T0, lat: 30.24, lon: 181, label: 'fire' }, /lon/],
      [drone.topics.events, { ts: T0, lat: 30.24, lon: 120.1, label: 'ufo' }, /label/],
    ] as const
    for (const [topic, body] of bad) await send(topic, body)
    await h.gc.components.fleet.idle()
    const dl = (await h.api('GET', '/api/dead-letters?device=dr1')).body as Array<{ code: string, reason: string }>
    assert.equal(dl.length, bad.length)
    dl.reverse().forEach((d, i) => {
      assert.match(d.code, /^INGEST_(INVALID_PAYLOAD|BAD_JSON)$/)
      assert.match(d.reason, bad[i]![2], d.reason)
    })
    const track = await h.api('GET', '/api/drones/dr1/track')
    assert.equal(track.body.points.length, 10, 'nothing bad reached the track')
  })

  test('a flying drone silent past the interval has lost its link, once; a report brings it back', async () => {
    const fleet = h.gc.components.fleet
    assert.equal(await fleet.tick(wall.t + 60_000), 0, 'a minute of silence is fine')
    assert.equal(await fleet.tick(wall.t + 3 * MIN), 1)
    assert.equal(await fleet.tick(wall.t + 4 * MIN), 0, 'the same loss is told once')
    const d = (await h.api('GET', '/api/drones')).body[0]
    assert.equal(d.flying, false)
    assert.ok(d.linkLostAt)
    wall.t += 5 * MIN
    await send(drone.topics.telemetry, { ts: T0 + 5 * MIN, lat: 30.2410, lon: 120.1005, alt: 0.2, battery: 70 })
    await fleet.idle()
    const landed = (await h.api('GET', '/api/drones')).body[0]
    assert.equal(landed.linkLostAt, null)
    assert.equal(landed.flying, false, 'on the ground: no report expected')
    assert.equal(await fleet.tick(wall.t + 60 * MIN), 0)
  })
})
