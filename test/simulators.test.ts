import { test } from 'vitest'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import { Aedes } from 'aedes'
import pino from 'pino'
import { MeterBatchPayload, MeterReadingPayload, deviceTopics } from '../vocab/index.ts'
import type { MeterProfile, Reading, SimDevice } from '../simulators/index.ts'
import { createMeterModel, createMeterPublisher, createSimClock, generateReadings, labelAt, meanStandbyW, traitsFor } from '../simulators/index.ts'

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
/** Local (UTC+8) midnight starting Monday 2024-03-04. */
const T0 = Date.UTC(2024, 2, 4) - 8 * HOUR
const elder = (seed: number, extra: Partial<MeterProfile> = {}): MeterProfile => ({ subjectKind: 'lone_elder', seed, ...extra })
const rental = (seed: number, extra: Partial<MeterProfile> = {}): MeterProfile => ({ subjectKind: 'rental_unit', seed, ...extra })

/** kWh used over [from, to) according to readings on the 15-minute grid. */
function energy (rs: Reading[], from: number, to: number): number {
  const at = (ts: number) => rs.find((r) => r.ts === ts)?.kwh ?? assert.fail(`no reading at ${ts}`)
  return at(to) - at(from)
}

/** kWh used in local hours [h0, h1) summed over `days` days from T0 + firstDay. */
function energyInHours (rs: Reading[], firstDay: number, days: number, h0: number, h1: number): number {
  let sum = 0
  for (let d = firstDay; d < firstDay + days; d++) sum += energy(rs, T0 + d * DAY + h0 * HOUR, T0 + d * DAY + h1 * HOUR)
  return sum
}

test('same seed gives the same readings, another seed does not', () => {
  const p = rental(7, { scenarios: [{ kind: 'ebike_charging', from: T0 + DAY }] })
  assert.deepEqual(generateReadings(p, T0, T0 + 3 * DAY), generateReadings(p, T0, T0 + 3 * DAY))
  assert.notDeepEqual(generateReadings(elder(1), T0, T0 + DAY), generateReadings(elder(2), T0, T0 + DAY))
  // The register does not depend on how often the meter is read.
  const fine = generateReadings(elder(3), T0, T0 + DAY + 1, 5 * MIN)
  const coarse = generateReadings(elder(3), T0, T0 + DAY + 1, HOUR)
  assert.ok(Math.abs(fine.at(-1)!.kwh - coarse.at(-1)!.kwh) < 0.002)
})

test('the register never goes down, except once at a reset fault', () => {
  for (const p of [elder(11), rental(12), rental(13, { scenarios: [{ kind: 'crowded', from: T0 + DAY, occupants: 6 }] })]) {
    const rs = generateReadings(p, T0, T0 + 4 * DAY)
    for (let i = 1; i < rs.length; i++) assert.ok(rs[i]!.kwh >= rs[i - 1]!.kwh, `seed ${p.seed} at ${i}`)
  }
  const resetAt = T0 + 2 * DAY + 10 * HOUR + 7 * MIN // between readings
  const rs = generateReadings(elder(14, { scenarios: [{ kind: 'meter_fault', from: resetAt, fault: 'reset' }] }), T0, T0 + 4 * DAY)
  const drops = rs.flatMap((r, i) => (i > 0 && r.kwh < rs[i - 1]!.kwh ? [r] : []))
  assert.equal(drops.length, 1)
  assert.equal(drops[0]!.ts, T0 + 2 * DAY + 10 * HOUR + 15 * MIN)
  assert.ok(drops[0]!.kwh < 0.5, 'counts again from 0')
})

test("an elder's day uses far more 07:00-21:00 than 01:00-05:00 local", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const rs = generateReadings(elder(seed), T0, T0 + 8 * DAY)
    for (let d = 0; d < 7; d++) {
      const dayRate = energyInHours(rs, d, 1, 7, 21) / 14
      const nightRate = energyInHours(rs, d, 1, 1, 5) / 4
      assert.ok(dayRate > 2 * nightRate, `seed ${seed} day ${d}: ${dayRate} vs ${nightRate} kWh/h`)
    }
    assert.equal(labelAt(elder(seed), T0 + 3 * HOUR).presence, 'asleep')
  }
})

test('after incapacitation only standby and the residual load remain', () => {
  const at = T0 + 3 * DAY + 9.5 * HOUR
  const p = elder(21, { scenarios: [{ kind: 'incapacitated', at, residualW: 60 }] })
  const rs = generateReadings(p, T0, T0 + 6 * DAY)
  const before = energy(rs, T0 + DAY + 9.5 * HOUR, T0 + 3 * DAY + 9.5 * HOUR) / 48
  const after = energy(rs, at, at + 2 * DAY) / 48
  const expected = (meanStandbyW(traitsFor(p)) + 60) / 1000
  assert.ok(Math.abs(after - expected) < 0.1 * expected, `${after} kWh/h vs standby+residual ${expected}`)
  assert.ok(before > 1.5 * after, `${before} vs ${after}`)
  assert.equal(labelAt(p, at - MIN).presence === 'incapacitated', false)
  assert.equal(labelAt(p, at + DAY).presence, 'incapacitated')
})

test('away and vacant leave standby only, and are labelled', () => {
  const from = T0 + DAY
  const p = elder(31, { scenarios: [{ kind: 'away', from, until: from + 2 * DAY }, { kind: 'vacant', from: T0 + 5 * DAY }] })
  const rs = generateReadings(p, T0, T0 + 7 * DAY + 1)
  const standby = meanStandbyW(traitsFor(p)) / 1000
  assert.ok(Math.abs(energy(rs, from, from + 2 * DAY) / 48 - standby) < 0.1 * standby)
  assert.ok(Math.abs(energy(rs, T0 + 5 * DAY, T0 + 7 * DAY) / 48 - standby) < 0.1 * standby)
  assert.equal(labelAt(p, from + HOUR).presence, 'away')
  assert.notEqual(labelAt(p, from + 2 * DAY + 12 * HOUR).presence, 'away')
  assert.equal(labelAt(p, T0 + 6 * DAY).occupants, 0)
})

test('a crowded rental uses clearly more, and much more at night', () => {
  const from = T0 + 7 * DAY
  const p = rental(41, { scenarios: [{ kind: 'crowded', from, occupants: 8 }] })
  const rs = generateReadings(p, T0, T0 + 14 * DAY + HOUR)
  const total = (d: number) => energyInHours(rs, d, 7, 0, 24)
  const night = (d: number) => energyInHours(rs, d, 7, 0, 5) + energyInHours(rs, d, 7, 23, 24)
  assert.ok(total(7) > 2.5 * total(0), `week ${total(7)} vs ${total(0)} kWh`)
  assert.ok(night(7) > 4 * night(0), `nights ${night(7)} vs ${night(0)} kWh`)
  assert.equal(labelAt(p, from + HOUR).occupants, 8)
})

test('e-bike charging adds a night load', () => {
  const p = rental(51, { scenarios: [{ kind: 'ebike_charging', from: T0 + 7 * DAY }] })
  const rs = generateReadings(p, T0, T0 + 14 * DAY + HOUR)
  const night = (d: number) => energyInHours(rs, d, 7, 0, 5)
  assert.ok(night(7) - night(0) > 7 * 0.8, `${night(7)} vs ${night(0)}`)
})

test('meter faults: offline gives null, stuck freezes the register', () => {
  const from = T0 + DAY
  const offline = createMeterModel(elder(61, { scenarios: [{ kind: 'meter_fault', from, fault: 'offline' }] }))
  assert.notEqual(offline.readingAt(from - 15 * MIN), null)
  assert.equal(offline.readingAt(from), null)
  assert.equal(offline.readingAt(from + DAY), null)
  assert.equal(offline.labelAt(from).fault, 'offline')
  assert.equal(generateReadings(offline.profile, T0, T0 + 2 * DAY).length, 96)

  const stuck = generateReadings(elder(62, { scenarios: [{ kind: 'meter_fault', from, fault: 'stuck' }] }), T0, T0 + 2 * DAY)
  assert.equal(new Set(stuck.filter((r) => r.ts >= from).map((r) => r.kwh)).size, 1)
  assert.throws(() => { const m = createMeterModel(elder(1)); m.readingAt(T0 + HOUR); m.readingAt(T0) }, RangeError)
})

test('the simulated clock runs `speed` times faster and changes speed without a jump', () => {
  let real = 1000
  const clock = createSimClock({ startMs: T0, speed: 1800, realNow: () => real })
  real += 2000
  assert.equal(clock.now(), T0 + HOUR)
  clock.setSpeed(0)
  real += 5000
  assert.equal(clock.now(), T0 + HOUR)
  clock.setSpeed(900)
  real += 4000
  assert.equal(clock.now(), T0 + 2 * HOUR)
})

// ---------------------------------------------------------------- publisher, against a real broker

async function withBroker (fn: (url: string, received: Array<{ username: string, topic: string, body: any }>) => Promise<void>) {
  const users = new Map([['meter-a', 'secret-a'], ['meter-b', 'secret-b']])
  const usernames = new Map<string, string>()
  const broker = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      const ok = username !== undefined && users.get(username) === password?.toString()
      if (ok) usernames.set(client.id, username!)
      done(null, ok)
    },
  })
  const received: Array<{ username: string, topic: string, body: any }> = []
  broker.on('publish', (packet, client) => {
    if (client) received.push({ username: usernames.get(client.id) ?? '?', topic: packet.topic, body: JSON.parse(packet.payload.toString()) })
  })
  const server = net.createServer(broker.handle)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  try {
    await fn(`mqtt://127.0.0.1:${port}`, received)
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await new Promise<void>((resolve) => broker.close(() => resolve()))
  }
}

const logger = pino({ level: 'silent' })
const devices = (): SimDevice[] => [
  { id: 'meter-a', username: 'meter-a', password: 'secret-a', topics: deviceTopics('s1', 'meter-a'), model: createMeterModel(elder(71)) },
  { id: 'meter-b', username: 'meter-b', password: 'secret-b', topics: deviceTopics('s1', 'meter-b'), model: createMeterModel(rental(72)) },
]

test('backfill sends one acknowledged batch of 96 readings per day per device', async () => {
  await withBroker(async (url, received) => {
    const pub = createMeterPublisher({ url, devices: devices(), logger })
    try {
      assert.equal(await pub.backfill(T0, T0 + 2 * DAY), 2 * 2 * 96)
      for (const id of ['meter-a', 'meter-b']) {
        const mine = received.filter((m) => m.topic === deviceTopics('s1', id).telemetry)
        assert.equal(mine.length, 2)
        for (const m of mine) {
          assert.equal(m.username, id)
          assert.equal(MeterBatchPayload.parse(m.body).readings.length, 96)
        }
        assert.equal(mine[1]!.body.readings[0].ts, T0 + DAY)
      }
    } finally {
      await pub.stop()
      await pub.stop()
    }
  })
})

test('wrong credentials make start() fail', async () => {
  await withBroker(async (url) => {
    const [dev] = devices()
    const pub = createMeterPublisher({ url, devices: [{ ...dev!, password: 'nope' }], logger })
    await assert.rejects(pub.start())
    await pub.stop()
  })
})

test('live mode publishes readings on the simulated clock, with increasing ts', async () => {
  await withBroker(async (url, received) => {
    // One 15-minute reading per 5 real ms.
    const clock = createSimClock({ startMs: T0, speed: 15 * MIN / 5 })
    const pub = createMeterPublisher({ url, devices: devices(), logger, clock, tickMs: 10 })
    await pub.start()
    const deadline = Date.now() + 3000
    while (received.filter((m) => m.username === 'meter-b').length < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    await pub.stop()
    for (const id of ['meter-a', 'meter-b']) {
      const ts = received.filter((m) => m.username === id).map((m) => MeterReadingPayload.parse(m.body).ts)
      assert.ok(ts.length >= 10, `${id}: ${ts.length} readings`)
      for (let i = 1; i < ts.length; i++) assert.equal(ts[i]! - ts[i - 1]!, 15 * MIN)
    }
  })
})

test('tick() publishes exactly the readings due on an injected clock, after the backfill', async () => {
  await withBroker(async (url, received) => {
    let real = 0
    const clock = createSimClock({ startMs: T0 + DAY, speed: 15 * MIN, realNow: () => real })
    const noTimers = { setInterval: () => 0, clearInterval: () => {} }
    const pub = createMeterPublisher({ url, devices: devices(), logger, clock, timers: noTimers })
    await pub.backfill(T0, T0 + DAY)
    await pub.start()
    assert.equal(pub.tick(), 2, 'the reading at the start of the live period')
    real = 4
    assert.equal(pub.tick(), 2 * 4)
    assert.equal(pub.tick(), 0)
    await pub.stop()
    const live = received.filter((m) => m.username === 'meter-a' && !('readings' in m.body)).map((m) => m.body.ts)
    assert.deepEqual(live, [0, 1, 2, 3, 4].map((i) => T0 + DAY + i * 15 * MIN))
  })
})
