import { sample } from 'openapi-sampler'

/** Examples for parameters by name, where a schema gives none. */
const PARAM_EXAMPLES: Record<string, unknown> = {
  id: 'e101', code: 'G1', absenceId: '3f2b6c1e-8d0a-4c59-9a53-0b7f0e3c2a11', worker: 'w1', device: 'm101', subject: 'e101',
  grid: 'G1', under: 'C1', scope: 'S1', status: 'open', level: 'grid', limit: 50, offset: 0, bucket: 'day',
  from: '2026-11-01T00:00:00+08:00', to: '2026-11-08T00:00:00+08:00', start: '2026-11-02', month: '2026-11', period: 'week',
}

/** Values for fields by name, in place of a sampler's bare "string". */
const FIELD_EXAMPLES: Record<string, unknown> = {
  id: '5f0c2a9e-6b1d-4f3e-9a57-2c1d0e4b7a10', alertId: '0b6e1d2c-3f4a-4b5c-8d9e-0f1a2b3c4d5e', taskId: '5f0c2a9e-6b1d-4f3e-9a57-2c1d0e4b7a10',
  subject: 'e101', subjectId: 'e101', address: 'U101', grid: 'G1', street: 'S1', parent: 'B1', code: 'G1', workerId: 'w1', deviceId: 'm101',
  actor: 'w1', declaredBy: 'lead', action: 'ack', from: '2026-11-20T08:00:00.000Z', to: '2026-11-20T09:00:00.000Z', until: '2026-11-27T12:00:00.000Z',
  kind: 'inactivity', detector: 'missed_routine', outcome: 'handled', note: 'she was at the market', name: 'Wang Fang', phone: '13800000001',
  topic: 'gc/v1/workers/w1/tasks', token: 'q9Xc3v0mJ0nq3bZy0s3k1m2bZl0YkQy8r7o6tXwP1aA', username: 'device:m101', password: 'Zq1mX0b3cT8...',
  reason: 'kwh: expected number, received string', payload: '{"ts":"2026-11-20T08:15:00+08:00","kwh":"12.5"}', source: 'mqtt',
  path: ['D1', 'S1', 'C1', 'G1', 'B1', 'U101'], grids: ['G1'], bucket: '2026-11-20T08:00:00.000Z', at: '2026-11-20T08:20:00.000Z',
}
const TIME_FIELD = /(At|Until|By)$/

/** The sampler's placeholders replaced by the field's example, where there is one. */
function dress (value: unknown, key?: string): unknown {
  if (Array.isArray(value)) return key && Array.isArray(FIELD_EXAMPLES[key]) && value.every((v) => v === 'string') ? FIELD_EXAMPLES[key] : value.map((v) => dress(v))
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, dress(v, k)]))
  if (value === 'string' && key) return FIELD_EXAMPLES[key] ?? (TIME_FIELD.test(key) ? '2026-11-20T08:15:00.000Z' : value)
  return value
}

type Json = Record<string, any>
const hasExample = (o: Json) => o.example !== undefined || (o.examples !== undefined && Object.keys(o.examples).length > 0)
const sampleOf = (schema: unknown, doc: Json) => {
  try { return dress(sample((schema ?? {}) as never, { enablePatterns: true, quiet: true, skipReadOnly: false }, doc)) } catch { return {} }
}

function fillMedia (content: Json | undefined, doc: Json) {
  for (const [type, media] of Object.entries(content ?? {}) as Array<[string, Json]>) {
    if (hasExample(media)) continue
    media.example = type.startsWith('text/event-stream')
      ? 'event: task.created\nid: 5f0c2a9e-...\ndata: {"id":"5f0c2a9e-...","state":"open",...}\n\n'
      : sampleOf(media.schema, doc)
  }
}

/**
 * The OpenAPI document with an example on every operation: the schemas' own examples where
 * they carry one (api/schemas.ts), a sample built from the schema where they do not, so a new
 * route is never without one. Used as @fastify/swagger's transformObject.
 */
export function withExamples ({ openapiObject }: { openapiObject: Json }): Json {
  const doc = openapiObject
  for (const ops of Object.values(doc.paths ?? {}) as Json[]) {
    for (const op of Object.values(ops) as Json[]) {
      if (!op || typeof op !== 'object' || !op.responses) continue
      for (const p of (op.parameters ?? []) as Json[]) {
        if (hasExample(p) || p.schema?.example !== undefined || p.schema?.examples !== undefined) continue
        p.example = PARAM_EXAMPLES[p.name] ?? p.schema?.default ?? sampleOf(p.schema, doc)
      }
      fillMedia(op.requestBody?.content, doc)
      for (const [status, res] of Object.entries(op.responses) as Array<[string, Json]>) {
        if (/^2/.test(status)) fillMedia(res.content, doc)
      }
    }
  }
  return doc
}
