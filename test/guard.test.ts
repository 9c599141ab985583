/**
 * Behind the schemas and the NUL guard, a value PostgreSQL refuses as data (class 22: a NUL
 * byte 22021, an unsupported \u0000 escape 22P05, a value out of range) is a 400, never a 500.
 */
import { afterAll, beforeAll, test } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { buildApp, type ApiDeps } from '../api/index.ts'
import { badJson } from '../api/guard.ts'
import { loadConfig } from '../config/index.ts'
import { openStore, type Db } from '../store/index.ts'
import { freshDatabase, silent } from './helpers.ts'

let app: FastifyInstance
let db: Db
let drop: () => Promise<void>
const dir = mkdtempSync(join(tmpdir(), 'gridcare-guard-'))

beforeAll(async () => {
  const server = await freshDatabase()
  drop = server.drop
  db = await openStore(loadConfig({ DATABASE_URL: server.url, DATA_DIR: dir }), silent)
  app = await buildApp({ logger: silent, db, ready: () => ({ ready: true, parts: {} }) } as unknown as ApiDeps)
  // Values made inside a handler, where no guard sees them: the store refuses them itself.
  app.get('/probe/nul-text', async () => db.query('SELECT $1::text AS t', ['a\u0000b']))
  app.get('/probe/nul-json', async () => db.query('SELECT $1::jsonb AS j', ['{"a":"\\u0000"}']))
  app.get('/probe/range', async () => db.query("SELECT '99999-01-01'::timestamptz + interval '1000000 years' AS t"))
  app.get('/probe/bug', async () => db.query('SELECT * FROM no_such_table'))
})
afterAll(async () => { await app?.close(); await db?.close(); await drop?.(); rmSync(dir, { recursive: true, force: true }) })

test('the store\'s data exceptions answer 400 REQUEST_INVALID; other store errors stay 500', async () => {
  for (const url of ['/probe/nul-text', '/probe/nul-json', '/probe/range']) {
    const res = await app.inject({ url })
    assert.equal(res.statusCode, 400, `${url}: ${res.body}`)
    assert.equal(res.json().error.code, 'REQUEST_INVALID')
  }
  assert.equal((await app.inject({ url: '/probe/bug' })).statusCode, 500, 'a bug is still a bug')
})

test('badJson names NUL characters, long strings and deep nesting, without recursion', () => {
  assert.match(badJson({ a: { b: ['x', 'y\u0000'] } })!, /\/a\/b\/1 holds a NUL/)
  assert.match(badJson({ ['k\u0000']: 1 })!, /key .* NUL/)
  assert.match(badJson({ t: 'x'.repeat(20_001) })!, /longer than 20000/)
  let deep: unknown = 1
  for (let i = 0; i < 100_000; i++) deep = [deep]
  assert.match(badJson(deep)!, /nests deeper than 32/)
  assert.equal(badJson({ ok: ['fine', 1, null, { x: true }] }), null)
})
