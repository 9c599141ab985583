/**
 * The OpenAPI document covers every route with an example for each parameter, body and
 * answer; the MQTT device interface is a page of its own, linked from the README (issue 11).
 */
import { afterAll, beforeAll, test } from 'vitest'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import { buildApp, type ApiDeps } from '../api/index.ts'
import { silent } from './helpers.ts'

let app: FastifyInstance
// The documents are built from the routes' schemas alone: no store, broker or registry is reached.
beforeAll(async () => { app = await buildApp({ logger: silent, ready: () => ({ ready: true, parts: {} }) } as unknown as ApiDeps); await app.ready() })
afterAll(async () => { await app.close() })

const hasExample = (o: { example?: unknown, examples?: object }) => o.example !== undefined || (o.examples !== undefined && Object.keys(o.examples).length > 0)

test('/docs/json: every /api route, each with a summary and an example for every parameter, body and answer', async () => {
  const doc = (await app.inject({ url: '/docs/json' })).json()
  const missing: string[] = []
  const documented = new Set<string>()
  for (const [path, ops] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(ops)) {
      const where = `${method.toUpperCase()} ${path}`
      documented.add(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`)
      if (!op.summary) missing.push(`${where}: summary`)
      for (const p of op.parameters ?? []) if (!hasExample(p) && p.schema?.example === undefined) missing.push(`${where}: parameter ${p.name}`)
      for (const [type, media] of Object.entries<any>(op.requestBody?.content ?? {})) if (!hasExample(media)) missing.push(`${where}: body ${type}`)
      const answers = Object.entries<any>(op.responses ?? {}).filter(([status]) => /^2/.test(status))
      if (answers.length === 0) missing.push(`${where}: no 2xx answer`)
      for (const [status, res] of answers) {
        if (status === '204') continue
        if (!res.content) missing.push(`${where}: ${status} has no content`)
        for (const [type, media] of Object.entries<any>(res.content ?? {})) if (!hasExample(media)) missing.push(`${where}: ${status} ${type}`)
      }
    }
  }
  assert.deepEqual(missing, [])
  const routes = app.routeList.filter((r) => r.url.startsWith('/api/')).map((r) => `${r.method} ${r.url}`)
  assert.deepEqual(routes.filter((r) => !documented.has(r)), [], 'every /api route is in the document')
  assert.equal(doc.paths['/api/workers'].post.requestBody.content['application/json'].example.name, 'Wang Fang', 'hand-written examples are kept')
})

test('/docs/mqtt: the device interface with a ready-to-paste mosquitto_pub, linked from the README and the OpenAPI document', async () => {
  const res = await app.inject({ url: '/docs/mqtt' })
  assert.equal(res.statusCode, 200)
  assert.match(res.headers['content-type'] as string, /text\/html/)
  for (const s of ['mosquitto_pub', 'gc/v1/', 'QoS 1', 'PUBACK', 'INGEST_INVALID_PAYLOAD', 'readings', '<table>']) assert.ok(res.body.includes(s), s)
  assert.match(readFileSync(new URL('../README.md', import.meta.url), 'utf8'), /\/docs\/mqtt/)
  assert.match((await app.inject({ url: '/docs/json' })).json().info.description, /\/docs\/mqtt/)
})
