import { test } from 'vitest'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { ERRORS } from '../errors/index.ts'

test('every error code is documented in docs/errors.md with its status, and nothing else is', () => {
  const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8')
  const rows = [...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])] as const)
  const documented = new Map(rows)
  for (const [code, { status }] of Object.entries(ERRORS)) {
    assert.equal(documented.get(code), status, `${code} should be documented with status ${status}`)
  }
  assert.deepEqual([...documented.keys()].sort(), Object.keys(ERRORS).sort())
})
