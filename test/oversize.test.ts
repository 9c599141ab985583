/**
 * The oversized-PUBLISH filter (broker/oversize.ts) on the bytes themselves: whatever the
 * chunks a socket delivers, small packets pass unchanged, a PUBLISH over the limit becomes
 * its stand-in with the record of what it was, and the CONNECT is never touched.
 */
import { test } from 'vitest'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import type { Socket } from 'node:net'
import { Readable } from 'node:stream'
import { filterOversized } from '../broker/oversize.ts'

const frame = (first: number, body: Buffer) => {
  const len: number[] = []
  for (let x = body.length; ; x >>= 7) { len.push((x & 0x7f) | (x > 0x7f ? 0x80 : 0)); if (x <= 0x7f) break }
  return Buffer.concat([Buffer.from([first, ...len]), body])
}
const str = (s: string) => { const b = Buffer.from(s); return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]) }
const publish = (topic: string, id: number | null, payload: Buffer, props?: Buffer) =>
  frame(id === null ? 0x30 : 0x33 /* QoS 1, retain */, Buffer.concat([str(topic), id === null ? Buffer.alloc(0) : Buffer.from([id >> 8, id & 0xff]), props ?? Buffer.alloc(0), payload]))

function run (input: Buffer, version: number, chunk: (i: number) => number) {
  const src = new Readable({ read () {} })
  const marker = Buffer.from('MARK')
  const f = filterOversized(src as unknown as Socket, { maxPacketBytes: 200, marker, version: () => version })
  // Each chunk read on its own, as aedes reads a socket: the filter sees the chunks one by one.
  const out: Buffer[] = []
  for (let i = 0, k = 0; i < input.length; k++) {
    const n = Math.max(1, chunk(k))
    src.push(input.subarray(i, i + n))
    i += n
    for (let b; (b = src.read() as Buffer | null) !== null;) out.push(b)
  }
  return { out: Buffer.concat(out), f, marker }
}

for (const [name, chunk] of [['one read', () => 1e9], ['byte by byte', () => 1], ['odd chunks', (k: number) => 1 + (k * 37) % 101]] as const) {
  test(`MQTT 3.1.1, ${name}: small packets unchanged, the big one replaced by its stand-in`, () => {
    const connect = frame(0x10, Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 60]), str('c1'), str('device:m1'), str('x'.repeat(400))])) // over the limit, but the first packet: aedes' to judge
    const small = publish('gc/v1/S1/m1/telemetry', 7, Buffer.from('{"ts":1,"kwh":1}'))
    const payload = Buffer.alloc(5000, 0x41)
    const big = publish('gc/v1/S1/m1/telemetry', 8, payload)
    const big0 = publish('gc/v1/S1/m1/status', null, payload)
    const ping = Buffer.from([0xc0, 0x00])
    const { out, f, marker } = run(Buffer.concat([connect, small, ping, big, big0, small, ping]), 4, chunk)
    const stand = (topic: string, id: number | null, first: number) => frame(first, Buffer.concat([str(topic), id === null ? Buffer.alloc(0) : Buffer.from([0, id]), marker]))
    assert.deepEqual(out, Buffer.concat([connect, small, ping, stand('gc/v1/S1/m1/telemetry', 8, 0x32), stand('gc/v1/S1/m1/status', null, 0x30), small, ping]))
    const sha = createHash('sha256').update(payload).digest('hex')
    assert.deepEqual(f.take(), { topic: 'gc/v1/S1/m1/telemetry', bytes: 5000, sha256: sha, excerpt: payload.subarray(0, 4096) })
    assert.deepEqual(f.take(), { topic: 'gc/v1/S1/m1/status', bytes: 5000, sha256: sha, excerpt: payload.subarray(0, 4096) })
    assert.equal(f.take(), undefined)
  })
}

test('MQTT 5: the properties are kept in the stand-in and not counted in the payload', () => {
  const connect = frame(0x10, Buffer.concat([str('MQTT'), Buffer.from([5, 0x02, 0, 60, 0]), str('c5')]))
  const p = Buffer.from([2, 0x01, 0x01]) // properties: 2 bytes, Payload Format Indicator = 1
  const payload = Buffer.alloc(1000, 0x42)
  const { out, f, marker } = run(Buffer.concat([connect, publish('gc/v1/S1/m1/events', 9, payload, p)]), 5, (k) => 3 + k)
  assert.deepEqual(out, Buffer.concat([connect, frame(0x32, Buffer.concat([str('gc/v1/S1/m1/events'), Buffer.from([0, 9]), p, marker]))]))
  assert.equal(f.take()!.bytes, 1000)
})

test('a read of packets that all pass is handed on as it is, not copied', () => {
  const src = new Readable({ read () {} })
  filterOversized(src as unknown as Socket, { maxPacketBytes: 200, marker: Buffer.from('MARK'), version: () => 4 })
  const connect = frame(0x10, Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 60]), str('c1'), str('device:m1'), str('x')]))
  const input = Buffer.concat([connect, ...Array.from({ length: 50 }, (_, i) => publish('gc/v1/S1/m1/telemetry', i + 1, Buffer.from(`{"ts":${i},"kwh":1}`)))])
  src.push(input)
  assert.equal(src.read(), input)
})

for (const [name, chunk] of [['one read', () => 1e9], ['byte by byte', () => 1], ['odd chunks', (k: number) => 1 + (k * 7) % 5]] as const) {
  test(`${name}: a length longer than four bytes goes to aedes as it came (aedes refuses it)`, () => {
    const connect = frame(0x10, Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 60]), str('c1'), str('device:m1'), str('x')]))
    const small = publish('gc/v1/S1/m1/telemetry', 7, Buffer.from('{"ts":1,"kwh":1}'))
    const input = Buffer.concat([connect, small, Buffer.from([0x32, 0xff, 0xff, 0xff, 0xff, 0x01, 1, 2, 3]), small])
    assert.deepEqual(run(input, 4, chunk).out, input)
  })
}
