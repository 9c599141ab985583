import { afterAll, beforeAll, describe, test } from 'vitest'
import assert from 'node:assert/strict'
import pg from 'pg'
import { createBroker, type Broker } from '../broker/index.ts'
import { createIngest, type Ingest } from '../ingest/index.ts'
import { connectDevice, PG_ADMIN_URL, seedStreet, silent, startGridcare, type Harness } from './helpers.ts'

/**
 * Backpressure (issue 12): when the store falls behind, the broker stops taking more
 * (QoS 1 acks wait, no unbounded queue) and nothing acknowledged is lost. The store is
 * slowed for real: another connection holds a lock on the readings table, so every
 * write waits for it. Ingest and the broker are wired as app/index.ts does, with a
 * small batcher bound so the bound is reached with a few thousand readings.
 */
describe('backpressure with the store held (postgres)', () => {
  const MAX_PENDING = 200
  const SENT = 5000
  let h: Harness
  let ingest: Ingest
  let broker: Broker
  let device: { username: string, password: string, topics: { telemetry: string } }

  beforeAll(async () => {
    h = await startGridcare({}, undefined, 'postgres')
    await seedStreet(h)
    device = (await h.api('POST', '/api/devices', { id: 'bp1', kind: 'meter', address: 'U101' })).body
    const { db, registry } = h.gc.components
    ingest = createIngest({ db, logger: silent, lookupDevices: registry.getDevices, sink: () => {}, batch: { maxPending: MAX_PENDING } })
    broker = createBroker({ config: { mqttPort: 0, mqttUrl: undefined, mqttClientId: undefined, mqttShareGroup: 'gridcare' }, logger: silent, verify: registry.verifyMqtt, sink: ingest.handle, host: '127.0.0.1' })
    await broker.start()
  })
  afterAll(async () => {
    await broker?.stop()
    await ingest?.stop()
    await h?.close()
  })

  /** Waits, without a deadline of its own, until cond holds (the test's timeout bounds it). */
  const until = async (cond: () => boolean) => { while (!cond()) await new Promise((r) => setTimeout(r, 20)) }

  test('acks wait while the store is held, the broker stops taking messages at the bound, and every acked reading is stored', async () => {
    const locker = new pg.Client({ connectionString: await dbUrl(h) })
    await locker.connect()
    await locker.query('BEGIN')
    // Blocks inserts and COPY into readings, not reads: the store is there but does not keep up.
    await locker.query('LOCK TABLE readings IN EXCLUSIVE MODE')

    const client = await connectDevice(`mqtt://127.0.0.1:${broker.port}`, device)
    const T0 = Date.UTC(2026, 3, 1)
    const acked: number[] = []
    const done = Promise.all(Array.from({ length: SENT }, (_, i) => {
      const ts = T0 + i * 15 * 60_000
      return client.publishAsync(device.topics.telemetry, JSON.stringify({ ts, kwh: 10 + i * 0.1 }), { qos: 1 }).then(() => { acked.push(ts) })
    }))

    // The first readings reach the batcher, whose write waits on the lock; aedes reads a
    // client's next packets only once those it has are answered. Then the broker is given
    // every chance to read the rest of what the device sent (about 400 KB).
    await until(() => ingest.stats.messages > 0)
    for (let i = 0; i < 25; i++) await new Promise((r) => setTimeout(r, 20))
    const taken = ingest.stats.messages
    assert.equal(acked.length, 0, 'no reading acknowledged while the store cannot write')
    assert.ok(ingest.pending <= MAX_PENDING, `readings held in memory stay within the bound: ${ingest.pending}`)
    assert.ok(taken < SENT / 2, `the broker stopped taking messages from the device: ${taken} of ${SENT} taken`)

    await locker.query('COMMIT')
    await locker.end()
    await done
    await client.endAsync()
    assert.equal(acked.length, SENT)
    const { rows } = await h.gc.components.db.query<{ ts: Date }>("SELECT ts FROM readings WHERE device_id = 'bp1'")
    const stored = new Set(rows.map((r) => r.ts.getTime()))
    assert.deepEqual(acked.filter((t) => !stored.has(t)), [], 'every acknowledged reading is stored')
    assert.equal(stored.size, SENT)
  }, 60_000)
})

/** The harness's database URL, from the server it is connected to. */
async function dbUrl (h: Harness): Promise<string> {
  const { rows } = await h.gc.components.db.query<{ db: string }>('SELECT current_database() AS db')
  const url = new URL(PG_ADMIN_URL)
  url.pathname = `/${rows[0]!.db}`
  return url.toString()
}
