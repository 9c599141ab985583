import { afterAll, beforeAll, test } from 'vitest'
import assert from 'node:assert/strict'
import { request } from 'node:http'
import mqtt from 'mqtt'
import { startCluster, type Cluster } from '../scale/rabbit-node.ts'
import { partitionOf } from '../scale/partition.ts'
import { startBalancer, type Balancer } from '../scale/proof/lb.ts'
import { runProof } from '../scale/proof/run.ts'
import { freshDatabase, seedStreet, startGridcare, type Harness } from './helpers.ts'

// Scale-out mode against a real RabbitMQ node from the Debian package (own name, ports, cookie
// and data dir), its MQTT plugin asking gridcare's /mqtt-auth routes (through a stand-in load
// balancer) who may do what. One node for the whole file: it takes most of a minute to boot.
const PARTITIONS = 4
let cluster: Cluster
let lb: Balancer
let h: Harness | undefined
let db: Awaited<ReturnType<typeof freshDatabase>>

beforeAll(async () => {
  lb = await startBalancer([])
  cluster = await startCluster({ size: 1, authUrl: `http://127.0.0.1:${lb.port}/mqtt-auth`, exchange: 'gc.mqtt' })
  db = await freshDatabase()
  h = await startGridcare({ HTTP_PORT: '0', DATABASE_URL: db.url, RABBITMQ_URL: cluster.nodes[0]!.amqpUrl, RABBITMQ_PARTITIONS: String(PARTITIONS) })
  lb.targets.push(h!.gc.httpPort!)
  await seedStreet(h)
}, 300_000) // a RabbitMQ node boots in 40 s alone, minutes on a loaded machine
afterAll(async () => {
  await h?.close()
  await db?.drop()
  await cluster?.stop()
  await lb?.close()
})

const T0 = Date.UTC(2026, 4, 1)
const readings = (from: number, n: number) => JSON.stringify({ readings: Array.from({ length: n }, (_, i) => ({ ts: T0 + (from + i) * 900_000, kwh: 10 + (from + i) * 0.2 })) })

async function waitFor (what: string, fn: () => Promise<boolean>, ms = 20_000) {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await fn()) return
    await new Promise((r) => setTimeout(r, 100))
  }
  assert.fail(`timed out waiting for ${what}`)
}

const count = async (deviceId: string) => Number((await h!.gc.components.db.query<{ n: string }>('SELECT count(*) AS n FROM readings WHERE device_id = $1', [deviceId])).rows[0]!.n)

test('a device logs in to RabbitMQ as device:<id> with its password; its readings reach its street\'s partition and are stored', async () => {
  const dev = (await h!.api('POST', '/api/devices', { id: 'rmq-m1', kind: 'meter', address: 'U101' })).body
  assert.equal(dev.username, 'device:rmq-m1')
  const c = await mqtt.connectAsync(cluster.nodes[0]!.mqttUrl, { username: dev.username, password: dev.password, reconnectPeriod: 0, protocolVersion: 4 })
  await c.publishAsync(dev.topics.telemetry, readings(0, 4), { qos: 1 })
  await c.publishAsync(dev.topics.telemetry, readings(4, 4), { qos: 1 })
  await c.endAsync()
  await waitFor('8 readings', async () => (await count('rmq-m1')) === 8)
  // The street's partition is the one this (only) worker activated.
  const health = await h!.gc.http.inject({ method: 'GET', url: '/healthz' })
  assert.equal(health.statusCode, 200)
  assert.equal(JSON.parse(health.body).partitions, String(partitionOf('S1', PARTITIONS)))
})

test('a wrong password is refused; a device may not publish to another device\'s topic', async () => {
  const a = (await h!.api('POST', '/api/devices', { id: 'rmq-a', kind: 'meter', address: 'U102' })).body
  const b = (await h!.api('POST', '/api/devices', { id: 'rmq-b', kind: 'meter', address: 'U201' })).body
  await assert.rejects(mqtt.connectAsync(cluster.nodes[0]!.mqttUrl, { username: a.username, password: 'wrong', reconnectPeriod: 0 }))
  const c = await mqtt.connectAsync(cluster.nodes[0]!.mqttUrl, { username: a.username, password: a.password, reconnectPeriod: 0 })
  const closed = new Promise<void>((resolve) => c.once('close', () => resolve()))
  c.publish(b.topics.telemetry, readings(0, 2), { qos: 1 })
  await closed // RabbitMQ drops a client that publishes where it may not
  c.end(true)
  // Its own topic still works on a new connection.
  const c2 = await mqtt.connectAsync(cluster.nodes[0]!.mqttUrl, { username: a.username, password: a.password, reconnectPeriod: 0 })
  await c2.publishAsync(a.topics.telemetry, readings(0, 2), { qos: 1 })
  await c2.endAsync()
  await waitFor('a\'s readings', async () => (await count('rmq-a')) === 2)
  assert.equal(await count('rmq-b'), 0)
})

test('a worker app subscribes only to its own tasks topic and receives what gridcare publishes there', async () => {
  const workers = (await h!.api('GET', '/api/workers')).body as Array<{ id: string }>
  assert.ok(workers.some((w) => w.id === 'w1'))
  const token = (await h!.api('POST', '/api/workers', { id: 'w9', name: 'Sun Li', role: 'grid_worker', grids: ['G1'] })).body.token as string
  const c = await mqtt.connectAsync(cluster.nodes[0]!.mqttUrl, { username: 'worker:w9', password: token, reconnectPeriod: 0 })
  const granted = await c.subscribeAsync('gc/v1/workers/w9/tasks', { qos: 1 })
  assert.equal(granted[0]!.qos, 1)
  const got = new Promise<string>((resolve) => c.once('message', (_t, p) => resolve(p.toString())))
  await h!.gc.components.broker.publish('gc/v1/workers/w9/tasks', JSON.stringify({ event: 'ping' }))
  assert.deepEqual(JSON.parse(await got), { event: 'ping' })
  // Another worker's topic: RabbitMQ 3.10 refuses with a SUBACK failure or drops the client.
  const refused = await Promise.race([
    c.subscribeAsync('gc/v1/workers/w1/tasks', { qos: 1 }).then((g) => g[0]!.qos === 128 ? 'refused' : 'granted', () => 'refused'),
    new Promise<string>((resolve) => c.once('close', () => resolve('refused'))),
  ])
  assert.equal(refused, 'refused')
  c.end(true)
})

test('a change made through another worker reaches the one holding the street: a moved meter\'s readings are taken on its new street, a revoked worker\'s feed ends', async () => {
  // A second worker on the same cluster and database: the first holds every partition, this one stands by.
  const h2 = await startGridcare({ HTTP_PORT: '0', DATABASE_URL: db.url, RABBITMQ_URL: cluster.nodes[0]!.amqpUrl, RABBITMQ_PARTITIONS: String(PARTITIONS) })
  try {
    assert.equal(JSON.parse((await h2.gc.http.inject({ method: 'GET', url: '/healthz' })).body).partitions, 'none')
    const other = 'code,parent,level,name,lat,lon\nS2,D1,street,Beishan Street,30.26,120.14\nC2,S2,community,Pine Community,30.261,120.141\nG3,C2,grid,Grid 3,,\nB3,G3,building,Building 3,30.2611,120.1411\nU301,B3,unit,Flat 301,,\n'
    assert.equal((await h2.api('POST', '/api/addresses/import', other)).status, 200)
    const d = (await h!.api('POST', '/api/devices', { id: 'rmq-mv', kind: 'meter', address: 'U101' })).body
    const c = await mqtt.connectAsync(cluster.nodes[0]!.mqttUrl, { username: d.username, password: d.password, reconnectPeriod: 0, protocolVersion: 4 })
    await c.publishAsync(d.topics.telemetry, readings(100, 2), { qos: 1 })
    await waitFor('the first readings', async () => (await count('rmq-mv')) === 2) // the holding worker now knows the meter on S1
    await c.endAsync()

    // Through the standby worker (a load balancer sends API calls anywhere): the meter goes to a flat on another street.
    const moved = (await h2.api('PATCH', '/api/devices/rmq-mv', { address: 'U301' })).body
    assert.match(moved.topics.telemetry, /\/S2\//)
    const token = (await h2.api('POST', '/api/workers', { id: 'w8', name: 'Zhou Min', role: 'grid_worker', grids: ['G1'] })).body.token as string
    const feed = await new Promise<{ ended: Promise<void> }>((resolve, reject) => {
      request({ host: '127.0.0.1', port: h!.gc.httpPort, path: '/api/feed', headers: { authorization: `Bearer ${token}` } }, (r) => {
        assert.equal(r.statusCode, 200)
        resolve({ ended: new Promise((done) => { r.on('close', () => done()); r.resume() }) })
      }).on('error', reject).end()
    })
    assert.equal((await h2.api('DELETE', '/api/workers/w8/token')).status, 204)
    const ended = await Promise.race([feed.ended.then(() => 'ended'), new Promise((r) => setTimeout(() => r('open'), 10_000))])
    assert.equal(ended, 'ended', 'the feed on the worker that did not revoke the token ended')

    // The holding worker forgot what it knew of the meter: its readings on the new street are stored, not refused.
    const c2 = await mqtt.connectAsync(cluster.nodes[0]!.mqttUrl, { username: d.username, password: d.password, reconnectPeriod: 0, protocolVersion: 4 })
    await c2.publishAsync(moved.topics.telemetry, readings(102, 2), { qos: 1 })
    await c2.endAsync()
    await waitFor('the readings on the new street', async () => (await count('rmq-mv')) === 4)
    const refused = await h!.gc.components.db.query('SELECT reason FROM dead_letters WHERE device_id = $1', ['rmq-mv'])
    assert.deepEqual(refused.rows, [])
  } finally {
    await h2.close()
  }
}, 120_000)

test('short failover: of two workers, the one holding partitions is killed with kill -9 and the other takes them; nothing acknowledged is lost, no alert twice, no fall missed', async () => {
  // The in-process worker above would consume the proof's streets into another database: it goes first.
  lb.targets.splice(0)
  await h!.close()
  h = undefined
  const r = await runProof({ nodes: 1, workers: 2, partitions: PARTITIONS, streets: 4, unitsPerStreet: 2, phaseMs: 3000, killNode: false, cluster, balancer: lb })
  assert.ok(r.acked > 0)
  assert.equal(r.lost, 0)
  assert.equal(r.duplicateAlerts, 0)
  assert.equal(r.missedAnomalies, 0)
  assert.ok(r.killedPartitions.length > 0, 'the killed worker held partitions')
  const after = Object.values(r.partitionsAfter)[0]!.split(',').map(Number)
  for (const p of r.killedPartitions) assert.ok(after.includes(p), `partition ${p} moved to the surviving worker`)
  assert.ok(Number.isFinite(r.failoverSeconds))
  // Each phase was found in the broker's and the workers' logs, in order.
  const ph = r.workerPhases
  assert.ok(ph.connectionClosed !== null && ph.connectionClosed <= ph.delivered && ph.delivered <= ph.rebuilt && Number.isFinite(ph.stored), JSON.stringify(ph))
}, 300_000)
