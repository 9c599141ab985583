import { test } from 'vitest'
import assert from 'node:assert/strict'
import { createIngest } from '../ingest/index.ts'
import type { DeviceInfo } from '../registry/index.ts'
import { createEmbeddedDb } from '../store/embedded.ts'
import { migrate } from '../store/migrations.ts'
import type { Consumption } from '../vocab/index.ts'
import { silent } from './helpers.ts'

/**
 * A device's readings reach the detectors in the order its messages were stored, whichever way
 * each went through ingest: the embedded broker's callback way (handleWith: a known device, its
 * register cached) or the promise way (its first message, waiting for its device and register).
 * Meter health drops a sample older than the last it saw, so a reversed pair loses one.
 */
test('a device\'s first message (looked up) and its next (cached) in one batch reach the detectors in order', async () => {
  const db = await createEmbeddedDb('memory://')
  await migrate(db, silent)
  const dev: DeviceInfo = { id: 'm1', kind: 'meter', address: null, subject: 's1', subjectKind: 'lone_elder', street: 'S1' }
  let open!: () => void
  const gate = new Promise<void>((resolve) => { open = resolve })
  const fed: number[] = []
  const ingest = createIngest({
    db, logger: silent, feedAfterAcks: true,
    // The device lookup waits for the test, so the first message goes the promise way.
    lookupDevices: async (ids) => { await gate; return new Map(ids.filter((id) => id === 'm1').map((id) => [id, dev])) },
    sink: (samples: Consumption[]) => { for (const s of samples) fed.push(s.ts) },
    // One batch for both messages: it waits a second for more.
    batch: { maxDelayMs: 1000 },
  })
  try {
    const T0 = Date.UTC(2026, 0, 5)
    const msg = (min: number) => ({ deviceId: 'm1', channel: 'telemetry' as const, topic: 'gc/v1/S1/m1/telemetry', street: 'S1', payload: Buffer.from(JSON.stringify({ ts: T0 + min * 60_000, kwh: min })), receivedAt: Date.now() })
    const answered: string[] = []
    const answers = [0, 15, 30].map((min) => new Promise<void>((resolve) => ingest.handleWith(msg(min), (err) => { answered.push(`${min} ${err?.message ?? 'ok'}`); if (min > 0) resolve() })))
    open()
    // The first messages are queued once the device and its register are found; the last comes after, cached.
    await new Promise((r) => setTimeout(r, 300))
    answers.push(new Promise<void>((resolve) => ingest.handleWith(msg(45), (err) => { answered.push(`45 ${err?.message ?? 'ok'}`); resolve() })))
    await Promise.all(answers.slice(1))
    await new Promise((r) => setTimeout(r, 50)) // the detectors are fed after the turn's acks
    assert.deepEqual(answered.sort(), ['0 ok', '15 ok', '30 ok', '45 ok'])
    assert.deepEqual(fed, [T0 + 15 * 60_000, T0 + 30 * 60_000, T0 + 45 * 60_000], 'each interval once, in event-time order')
  } finally {
    await ingest.stop()
    await db.close()
  }
})
