import type { FastifyInstance, FastifyRequest } from 'fastify'
import { GridcareError } from '../errors/index.ts'

/** Longest string accepted anywhere in a JSON body (the CSV import is a string body of its own). */
export const MAX_JSON_STRING = 20_000
/** Deepest nesting accepted in a JSON body. */
export const MAX_JSON_DEPTH = 32

const NUL_IN_URL = /%00|\u0000/i

/**
 * Where a JSON value holds something no route accepts: a NUL character (PostgreSQL text and
 * jsonb cannot hold one), a string past MAX_JSON_STRING, nesting past MAX_JSON_DEPTH.
 * Iterative, so a deep document cannot overflow the stack.
 */
export function badJson (value: unknown): string | null {
  const stack: Array<[unknown, string, number]> = [[value, '', 0]]
  let seen = 0
  while (stack.length > 0) {
    const [v, path, depth] = stack.pop()!
    if (++seen > 1_000_000) return 'the body has too many values'
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return `${path || 'the body'} holds a NUL character (\\u0000)`
      if (v.length > MAX_JSON_STRING) return `${path || 'the body'} is longer than ${MAX_JSON_STRING} characters`
    } else if (v !== null && typeof v === 'object') {
      if (depth >= MAX_JSON_DEPTH) return `${path || 'the body'} nests deeper than ${MAX_JSON_DEPTH} levels`
      for (const [k, child] of Object.entries(v)) {
        if (k.includes('\u0000')) return `a key under ${path || 'the body'} holds a NUL character (\\u0000)`
        stack.push([child, `${path}/${k}`, depth + 1])
      }
    }
  }
  return null
}

/** Refuses what would otherwise reach the store and fail there: NUL in the URL or the body. */
export function guardInput (app: FastifyInstance) {
  app.addHook('onRequest', async (req: FastifyRequest) => {
    if (NUL_IN_URL.test(req.url)) throw new GridcareError('REQUEST_INVALID', 'the URL holds a NUL character (%00); it is accepted nowhere')
  })
  app.addHook('preValidation', async (req: FastifyRequest) => {
    const body = req.body
    if (body === undefined || body === null || Buffer.isBuffer(body)) return // raw bytes (a photo) may hold any byte
    if (typeof body === 'string') {
      if (body.includes('\u0000')) throw new GridcareError('REQUEST_INVALID', 'the body holds a NUL character; it is accepted nowhere')
      return
    }
    const bad = badJson(body)
    if (bad) throw new GridcareError('REQUEST_INVALID', bad)
  })
}

/**
 * PostgreSQL's class 22 (data exception: a NUL byte 22021, an unsupported \u0000 escape
 * 22P05, a value out of range...) comes from the input, not from a bug: a safety net
 * behind the schemas, answered as 400.
 */
export const isDataException = (err: unknown): boolean => {
  const code = (err as { code?: unknown })?.code
  return typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code)
}
