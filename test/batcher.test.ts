import { describe, test } from 'vitest'
import assert from 'node:assert/strict'
import { createBatcher } from '../ingest/batcher.ts'
import { silent } from './helpers.ts'

describe('batcher with two writes at once', () => {
  test('a later batch that commits first is still acknowledged after the earlier one', async () => {
    const gates: Array<() => void> = []
    const written: number[][] = []
    const b = createBatcher<number>({
      logger: silent, maxSize: 2, maxWrites: 2,
      write: (items) => new Promise<void>((resolve) => { gates.push(() => { written.push(items); resolve() }) }),
    })
    const order: number[] = []
    const adds = [1, 2, 3, 4].map((n) => b.add([n]).then(() => { order.push(n) }))
    while (gates.length < 2) await new Promise((r) => setImmediate(r))
    assert.equal(b.pending, 4, 'both batches are being written at once')
    gates[1]!() // the second batch commits first
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r))
    assert.deepEqual(order, [], 'its callers wait for the first batch')
    gates[0]!()
    await Promise.all(adds)
    assert.deepEqual(order, [1, 2, 3, 4])
    assert.deepEqual(written, [[3, 4], [1, 2]])
    await b.drain()
  })

  test('while every write is busy, what comes in goes out as one batch when a write ends', async () => {
    const gates: Array<() => void> = []
    const sizes: number[] = []
    const b = createBatcher<number>({
      logger: silent, maxSize: 1, maxWrites: 1,
      write: (items) => new Promise<void>((resolve) => { sizes.push(items.length); gates.push(resolve) }),
    })
    const adds = [b.add([0])]
    while (gates.length < 1) await new Promise((r) => setImmediate(r))
    for (let i = 1; i <= 5; i++) adds.push(b.add([i]))
    gates[0]!()
    while (gates.length < 2) await new Promise((r) => setImmediate(r))
    gates[1]!()
    await Promise.all(adds)
    assert.deepEqual(sizes, [1, 5])
  })
})

describe('batcher beside a big message', () => {
  test('between one caller\'s batches the event loop turns: what another caller sends meanwhile goes in the next batch', async () => {
    // A write that ends in microtasks, as one on the embedded store (PGlite on this thread) does.
    const written: number[][] = []
    let other: Promise<void> | undefined
    const b = createBatcher<number>({
      logger: silent,
      write: (items) => {
        written.push([...items])
        // Another device's message arrives (a socket read: a turn of the event loop) during the first write.
        if (written.length === 1) setImmediate(() => { other = b.add([-1]) })
        return Promise.resolve()
      },
    })
    // A big message written in slices, each added once the one before is stored (as ingest's late slices).
    for (let slice = 1; slice <= 10; slice++) await b.add([slice])
    await b.drain()
    await other
    const at = written.findIndex((w) => w.includes(-1))
    assert.ok(at > 0 && at < 9, `the other caller's item was not written between the slices: ${JSON.stringify(written)}`)
  })
})
