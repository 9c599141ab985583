import { afterAll, beforeAll, describe, test } from 'vitest'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ReadingRow } from '../ingest/meter.ts'
import { packReadings, READING_BATCH_TRANSFER, writeReadings } from '../ingest/store.ts'
import { createEmbeddedDb } from '../store/embedded.ts'
import { migrate } from '../store/migrations.ts'
import { storeTask } from '../store/task.ts'
import type { Db } from '../store/types.ts'
import { silent } from './helpers.ts'
import { endThread, whereRun, writeTwice } from './store-tasks.ts'

const TASKS = new URL('./store-tasks.ts', import.meta.url)
const WHERE = storeTask(TASKS, whereRun)
const TWICE = storeTask(TASKS, writeTwice)
const END = storeTask(TASKS, endThread)
const WRITE = storeTask(new URL('../ingest/store.ts', import.meta.url), writeReadings, { transfer: READING_BATCH_TRANSFER })

for (const worker of [true, false]) describe(`embedded store ${worker ? 'on its own thread' : 'on the calling thread'}`, () => {
  let db: Db
  beforeAll(async () => {
    db = await createEmbeddedDb('memory://', { worker })
    await db.exec('CREATE TABLE task_probe (k int PRIMARY KEY, note text)')
  })
  afterAll(() => db?.close())

  test(`a store task runs in one transaction ${worker ? 'off' : 'on'} the main thread`, async () => {
    assert.deepEqual(await db.run(WHERE, { n: 41 }), { mainThread: !worker, n: 42 })
  })

  test('a failing task rolls back and its error keeps the Postgres fields', async () => {
    await assert.rejects(db.run(TWICE, 7), (err: Error & { code?: string, constraint?: string }) => {
      assert.equal(err.code, '23505')
      assert.equal(err.constraint, 'task_probe_pkey')
      return true
    })
    assert.equal((await db.query('SELECT k FROM task_probe WHERE k = 7')).rows.length, 0, 'nothing of the failed task is kept')
  })

  test('a transaction from the calling thread commits, and rolls back when its callback throws', async () => {
    await db.transaction(async (tx) => {
      await tx.query('INSERT INTO task_probe (k, note) VALUES (1, $1)', ['kept'])
      await tx.copyRows!('task_probe', [{ name: 'k', type: 'int4' }, { name: 'note', type: 'text' }], [[2, 'copied']])
    })
    await assert.rejects(db.transaction(async (tx) => {
      await tx.query('INSERT INTO task_probe (k, note) VALUES (3, $1)', ['dropped'])
      throw new Error('changed my mind')
    }), /changed my mind/)
    await assert.rejects(db.query('INSERT INTO task_probe (k) VALUES (1)'), (err: Error & { code?: string }) => err.code === '23505')
    const { rows } = await db.query<{ k: number, note: string }>('SELECT k, note FROM task_probe WHERE k < 7 ORDER BY k')
    assert.deepEqual(rows, [{ k: 1, note: 'kept' }, { k: 2, note: 'copied' }])
  })

  test('copyNewRows writes all its rows or none, the transaction going on after a duplicate; other errors are thrown', async () => {
    const columns = [{ name: 'k', type: 'int4' }, { name: 'note', type: 'text' }] as const
    await db.transaction(async (tx) => {
      assert.equal(await tx.copyNewRows!('task_probe', columns, [[20, 'a'], [21, 'b']]), true)
      assert.equal(await tx.copyNewRows!('task_probe', columns, [[22, 'c'], [20, 'again']]), false, 'k 20 is there: nothing of this COPY stays')
      await tx.query('INSERT INTO task_probe (k, note) VALUES (23, $1)', ['after'])
    })
    await assert.rejects(db.transaction((tx) => tx.copyNewRows!('task_probe', columns, [[24, 'x'], [null, 'no key']])), (err: Error & { code?: string }) => err.code === '23502')
    const { rows } = await db.query<{ k: number, note: string }>('SELECT k, note FROM task_probe WHERE k BETWEEN 20 AND 29 ORDER BY k')
    assert.deepEqual(rows, [{ k: 20, note: 'a' }, { k: 21, note: 'b' }, { k: 23, note: 'after' }])
  })

  test('values cross intact: dates, bytes, json, big and null', async () => {
    const at = new Date(Date.UTC(2026, 11, 1, 8, 30, 0, 123))
    const { rows } = await db.query<Record<string, unknown>>('SELECT $1::timestamptz AS at, $2::bytea AS b, $3::jsonb AS j, 9007199254740993::int8 AS big, NULL::text AS nothing',
      [at, Buffer.from([0, 1, 255]), JSON.stringify({ a: [1, 'x'] })])
    assert.equal((rows[0]!.at as Date).getTime(), at.getTime())
    assert.deepEqual([...(rows[0]!.b as Uint8Array)], [0, 1, 255])
    assert.deepEqual(rows[0]!.j, { a: [1, 'x'] })
    assert.equal(rows[0]!.nothing, null)
    assert.equal(String(rows[0]!.big), '9007199254740993')
  })

  test('arrays of the types gridcare stores come back as arrays', async () => {
    const { rows: [r] } = await db.query<Record<string, unknown>>(`SELECT ARRAY['a', 'b,c'] AS t, '{1.5,2}'::float8[] AS f, ARRAY[1, 2] AS i,
      ARRAY['2026-12-01T08:30:00Z'::timestamptz] AS at, ARRAY['{"a":1}'::jsonb] AS j, '{}'::text[] AS none`)
    assert.deepEqual(r, { t: ['a', 'b,c'], f: [1.5, 2], i: [1, 2], at: [new Date('2026-12-01T08:30:00Z')], j: [{ a: 1 }], none: [] })
  })
})

test('an answer from the store\'s thread is heard at poll(), while the main thread is busy, without a turn of its event loop', async () => {
  const db = await createEmbeddedDb('memory://', { worker: true })
  try {
    let heard = false
    const answer = db.query<{ n: number }>('SELECT 6 * 7 AS n').then((r) => { heard = true; return r.rows[0]!.n })
    // Busy for a second as ingest is under load (one long turn reading sockets), asking poll() between "messages".
    const nap = new Int32Array(new SharedArrayBuffer(4))
    for (let i = 0; i < 200; i++) { Atomics.wait(nap, 0, 0, 5); db.poll!() }
    // Only microtasks from here: a MessagePort event would need a turn of the loop.
    for (let i = 0; i < 5; i++) await Promise.resolve()
    assert.equal(heard, true, 'the answer was settled by poll()')
    assert.equal(await answer, 42)
  } finally {
    await db.close()
  }
})

test('an answer the store\'s thread sent before it ended is kept, not failed with the thread\'s end', async () => {
  const db = await createEmbeddedDb('memory://', { worker: true })
  try {
    const answer = db.query<{ n: number }>('SELECT 7 AS n')
    const ended = db.run(END, undefined)
    // Busy, as under load, while the thread answers and then ends: both wait for the main thread.
    const nap = new Int32Array(new SharedArrayBuffer(4))
    Atomics.wait(nap, 0, 0, 1_500)
    await assert.rejects(ended, /embedded store thread exited \(code 3\)/)
    assert.equal((await answer).rows[0]!.n, 7)
  } finally {
    await db.close()
  }
})

test('a script that only queries the embedded store on its thread gets its answer, then exits without closing it', () => {
  // The store's thread holds the process open while a request waits, and not after.
  const script = `import { createEmbeddedDb } from './store/embedded.ts'
    const db = await createEmbeddedDb('memory://', { worker: true })
    console.log('answer', (await db.query('SELECT 6 * 7 AS n')).rows[0].n)`
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: new URL('..', import.meta.url).pathname, encoding: 'utf8', timeout: 120_000 })
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /answer 42/)
})

for (const worker of [true, false]) {
  test(`readings' chunk indexes get a free space map on a store on disk (${worker ? 'its own thread' : 'the calling thread'}), and stay whole as they grow`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridcare-fsm-'))
    const db = await createEmbeddedDb(dir, { worker })
    try {
      await migrate(db, silent)
      const at = Date.UTC(2026, 0, 5)
      const batch = (from: number) => Array.from({ length: 3000 }, (_, i): ReadingRow => ({
        deviceId: `fsm-${String(i % 300).padStart(3, '0')}`, ts: at + (from + Math.floor(i / 300)) * 900_000, register: from + i, amount: 0.25, intervalMs: 900_000, powerW: 1000, reset: false,
      }))
      await db.run(WRITE, packReadings(batch(0)))
      const { rows } = await db.query<{ path: string }>(`SELECT pg_relation_filepath(i.indexrelid) AS path FROM pg_inherits h
        JOIN pg_index i ON i.indrelid = h.inhrelid JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
        WHERE h.inhparent = 'readings'::regclass AND a.amname = 'btree'`)
      assert.ok(rows.length > 0, 'readings has a chunk with its primary key')
      for (const { path } of rows) assert.ok(existsSync(join(dir, `${path}_fsm`)), `${path} has its free space map`)
      for (let b = 1; b < 8; b++) await db.run(WRITE, packReadings(batch(b * 10))) // thousands of page splits, each asking the map
      await db.exec('SET enable_seqscan = off; SET enable_bitmapscan = off')
      const { rows: [n] } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM readings WHERE device_id = 'fsm-007'")
      assert.equal(n!.n, 8 * 10, 'the primary key finds every row of a device')
    } finally {
      await db.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
}

for (const worker of [true, false]) {
  test(`the ingest writer's task on ${worker ? 'the store\'s thread: its COPY data moved there, not copied' : 'the calling thread'}; duplicates skipped, a late reading's neighbours recomputed`, async () => {
    const db = await createEmbeddedDb('memory://', { worker })
    try {
      await migrate(db, silent)
      const at = Date.UTC(2026, 0, 5)
      const row = (d: number, k: number, extra: Partial<ReadingRow> = {}): ReadingRow => ({
        deviceId: `w-${d}`, ts: at + k * 900_000, register: 100 + k, amount: k === 0 ? null : 1, intervalMs: k === 0 ? null : 900_000, powerW: 4000, reset: false, ...extra,
      })
      const first = Array.from({ length: 400 }, (_, i) => row(i % 20, 2 * Math.floor(i / 20)))
      const batch = packReadings(first)
      await db.run(WRITE, batch)
      assert.equal(!Array.isArray(batch.rows) && batch.rows.encoded.byteLength === 0, worker, worker ? 'the buffer went to the thread' : 'the buffer stays')
      // Half of these are stored already (the COPY fails, staging skips them); one is late, between two stored readings.
      const again = [...first.slice(0, 200).map((r) => ({ ...r, register: -1 })), ...Array.from({ length: 100 }, (_, i) => row(i % 20, 40 + 2 * Math.floor(i / 20))), row(3, 5, { register: 104, late: true })]
      await db.run(WRITE, packReadings(again))
      const { rows } = await db.query<{ n: number, neg: number }>('SELECT count(*)::int AS n, count(*) FILTER (WHERE register < 0)::int AS neg FROM readings')
      assert.deepEqual(rows[0], { n: 501, neg: 0 })
      const { rows: around } = await db.query<{ ts: Date, amount: number }>("SELECT ts, amount FROM readings WHERE device_id = 'w-3' AND ts BETWEEN $1 AND $2 ORDER BY ts", [new Date(at + 4 * 900_000), new Date(at + 6 * 900_000)])
      assert.deepEqual(around.map((r) => r.amount), [1, 0, 2], 'the late reading and the one after it recomputed: 104 - 104, 106 - 104')
    } finally {
      await db.close()
    }
  })
}
