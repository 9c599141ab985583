import { afterAll, beforeAll, test } from 'vitest'
import assert from 'node:assert/strict'
import { createDetectors, createDetectorSet } from '../detectors/index.ts'
import { createPartitionedDetectors } from '../scale/detectors.ts'
import { partitionOf } from '../scale/partition.ts'
import type { Consumption } from '../vocab/index.ts'
import { HOUR, seedStreet, silent, startGridcare, type Harness } from './helpers.ts'

// A partition that moves to another worker (scale-out mode) resumes from the checkpoint of its
// detector state and replays only the readings stored after it, arriving at exactly the state
// the last owner had. No RabbitMQ needed: the two workers here are two partitioned detector
// sets on one PostgreSQL database.
const PARTITIONS = 4
const P = partitionOf('S1', PARTITIONS)
const T0 = Date.UTC(2026, 4, 1, 16) // local midnight at UTC+8
const STEP = 15 * 60_000
let h: Harness

beforeAll(async () => {
  h = await startGridcare({}, undefined, 'postgres')
  await seedStreet(h)
  await h.api('POST', '/api/subjects', { id: 'e1', kind: 'lone_elder', address: 'U101' })
  const m = await h.api('POST', '/api/devices', { id: 'cm1', kind: 'meter', subject: 'e1' })
  assert.equal(m.status, 201)
}, 120_000)
afterAll(async () => { await h?.close() })

const worker = () => createPartitionedDetectors({
  db: h.gc.components.db, logger: silent, partitions: PARTITIONS,
  make: () => createDetectorSet(createDetectors({ utcOffsetHours: 8 })),
})
const how = { onAnomaly: () => {} }

/** A reading of the meter, stored as ingest stores it, and the sample ingest hands the detectors. */
let register = 100
async function reading (i: number): Promise<Consumption> {
  const ts = T0 + i * STEP
  const hour = new Date(ts + 8 * HOUR).getUTCHours()
  const amount = hour >= 7 && hour < 23 ? 0.08 + (i % 3) * 0.01 : 0.02
  register += amount
  await h.gc.components.db.query('INSERT INTO readings (device_id, ts, register, amount, interval_ms, power_w) VALUES ($1, $2, $3, $4, $5, $6)',
    ['cm1', new Date(ts), register, amount, STEP, amount * 4000])
  return { subjectId: 'e1', subjectKind: 'lone_elder', deviceId: 'cm1', street: 'S1', unit: 'kwh', ts, intervalMs: STEP, amount, powerW: amount * 4000 }
}

const snapshots = (w: ReturnType<typeof worker>) => Object.fromEntries(w.detectorsOf(P)!.detectors.map((d) => [d.name, d.snapshot('e1')]))

test('a partition taken over from a checkpoint replays only the readings after it and has the state its last owner had', async () => {
  const a = worker()
  await a.activate(P, how)
  for (let i = 1; i <= 5 * 96; i++) a.set.update(await reading(i))
  assert.ok(await a.checkpoint(P) >= 1, 'the changed subject was checkpointed')
  for (let i = 5 * 96 + 1; i <= 5 * 96 + 40; i++) a.set.update(await reading(i))
  // The owner dies here (kill -9): nothing saved after the checkpoint.

  const b = worker()
  const r = await b.activate(P, how)
  assert.equal(r.samples, 40, 'only the 40 readings stored after the checkpoint were read')
  assert.ok(r.restored > 0)
  assert.ok(Object.values(snapshots(a)).filter((x) => x !== undefined).length >= 2, 'the detectors hold state for the subject')
  assert.deepEqual(snapshots(b), snapshots(a))
})

test('a checkpoint never replaces a newer one: a worker that lost the partition cannot overwrite the new owner\'s', async () => {
  const a = worker()
  await a.activate(P, how)
  const b = worker()
  await b.activate(P, how)
  b.set.update(await reading(6 * 96))
  assert.equal(await b.checkpoint(P), 1)
  // a still holds the older state and writes it late.
  assert.equal(await a.checkpoint(P, true), 0)
  const { rows } = await h.gc.components.db.query<{ fed: Record<string, number> }>('SELECT fed FROM partition_checkpoints WHERE subject = $1', ['e1'])
  assert.equal(rows[0]!.fed.cm1, T0 + 6 * 96 * STEP)
})
