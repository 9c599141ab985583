import { test } from 'vitest'
import assert from 'node:assert/strict'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { createDetectors, createDetectorSet } from '../detectors/index.ts'

// A dropped detector set frees its states: the scale-out worker drops a partition's set at each
// hand-over and builds a new one. When the detectors' places were cut from chunks kept for the
// process's life (slab.ts before each set had a slab of its own), every dropped set stayed.

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
const SUBJECTS = 3_000
const Q = 15 * 60_000
const FROM = Date.UTC(2026, 0, 5)

/** Array buffers in use after a full collection, bytes. */
function buffers (): number {
  gc(); gc()
  return process.memoryUsage().arrayBuffers
}

/** A set holding SUBJECTS lone elders, each fed two hours of readings so that every electricity detector keeps state for it. */
function build () {
  const set = createDetectorSet(createDetectors())
  for (let t = 1; t <= 8; t++) {
    for (let i = 0; i < SUBJECTS; i++) {
      set.update({ subjectId: `e${i}`, subjectKind: 'lone_elder', deviceId: `m${i}`, street: 'S1', unit: 'kwh', ts: FROM + t * Q, intervalMs: Q, amount: 0.05 + (i % 10) / 100 })
    }
  }
  return set
}

test('a detector set that is dropped frees its states: array buffers do not grow with sets built and dropped', () => {
  const base = buffers()
  let set: ReturnType<typeof build> | null = build()
  const one = buffers() - base
  assert.ok(set.detectors.length > 0)
  // The states are in array buffers (else this test could not fail): about a kilobyte a subject.
  assert.ok(one > 500 * SUBJECTS, `a set of ${SUBJECTS} subjects holds ${one} bytes of array buffers`)
  set = null
  const first = buffers()
  for (let r = 0; r < 6; r++) { set = build(); set = null }
  const grown = buffers() - first
  // At a measurement the set just dropped is now and then still counted (seen with and without
  // optimized code, never more than one set: the engine's, not a chunk kept); kept chunks would be six sets.
  assert.ok(grown < 1.5 * one, `six more sets built and dropped: array buffers grew ${grown} bytes (a set holds ${one})`)
})
