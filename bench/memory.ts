/**
 * Detector state per subject (issue 12: at most 1 KB a subject, 1M subjects in under 1.5 GiB
 * of heap). Each detector alone on a sample of subjects, then the whole set, as the app runs
 * it, holding 1M subjects: memory after a full GC, before and after, divided by the subjects.
 * Memory is the V8 heap in use plus what lives outside it: typed arrays over 64 bytes keep their
 * data off the heap (process.memoryUsage().external, array buffers included), so both count,
 * in the bytes per subject and in the 1.5 GiB.
 * Each subject is a lone elder with an electricity meter (every electricity detector keeps
 * state for it), fed eight hours of 15-minute readings so that its state is laid out. No field of
 * a state is a boxed number any more, so a month costs about the same (the set on 20,000 subjects,
 * measured while the states were still objects: 1,560 bytes a subject after 8 hours, 1,596 after
 * 30 days; before, 2,155 after 3 days). The whole set is fed in blocks of subjects and stops once
 * the heap passes the 1.5 GiB target.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { createDetectors, createDetectorSet } from '../detectors/index.ts'
import type { Consumption } from '../vocab/index.ts'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

export interface MemoryOptions {
  /** Subjects the whole set holds; default 1,000,000. */
  subjects?: number
  /** Subjects each detector alone is measured on; default 20,000. */
  sampleSubjects?: number
  progress?: (msg: string) => void
}

export interface MemoryLine {
  what: string
  subjects: number
  /** Heap in use and memory outside the heap (array buffers, external), MB, after the run. */
  heapMb: number
  externalMb: number
  /** (heap + external) added by the detectors, per subject. */
  bytesPerSubject: number
  updatesPerSec: number
}

const QUARTER = 15 * 60_000
/** Readings per subject: eight hours of 15-minute points (state is laid out at the first; a day measured the same, 4x slower). */
const STEPS = 32
const FROM = Date.UTC(2026, 0, 5)

/** Heap in use and memory outside it (array buffers included) after a full collection, bytes. */
function used (): { heap: number, external: number, total: number } {
  gc()
  gc()
  const m = process.memoryUsage()
  return { heap: m.heapUsed, external: m.external, total: m.heapUsed + m.external }
}

/** Feeds elders `from` to `to` their readings, interleaved as meters report: every subject's reading of a quarter, then the next quarter. */
function feed (d: { update (s: Consumption): unknown }, from: number, to: number) {
  const ids = Array.from({ length: to - from }, (_, i) => `e${from + i}`)
  const meters = Array.from({ length: to - from }, (_, i) => `m${from + i}`)
  const subjects = to - from
  const street = 'S1'
  for (let t = 0; t < STEPS; t++) {
    const ts = FROM + (t + 1) * QUARTER
    const hour = (t / 4 + 8) % 24
    const base = hour >= 7 && hour < 23 ? 0.12 : 0.03
    for (let i = 0; i < subjects; i++) {
      d.update({ subjectId: ids[i]!, subjectKind: 'lone_elder', deviceId: meters[i]!, street, unit: 'kwh', ts, intervalMs: QUARTER, amount: base + ((i * 7 + t * 13) % 10) / 100 })
    }
  }
}

const LIMIT = 1.5 * 2 ** 30
const BLOCK = 50_000

export function benchMemory ({ subjects = 1_000_000, sampleSubjects = 20_000, progress = () => {} }: MemoryOptions = {}): MemoryLine[] {
  const lines: MemoryLine[] = []
  // Counted: everything the detectors keep, the subject and meter ids they are keyed by included.
  const measure = (what: string, n: number, make: () => { update (s: Consumption): unknown }) => {
    progress(`memory: ${what}, up to ${n.toLocaleString('en-US')} subjects`)
    const before = used()
    const d = make()
    let held = 0, ms = 0, after = before
    while (held < n && after.total < LIMIT) {
      const to = Math.min(n, held + BLOCK)
      const t0 = performance.now()
      feed(d, held, to)
      ms += performance.now() - t0
      held = to
      after = used()
    }
    lines.push({
      what: held < n ? `${what}: stopped past 1.5 GiB` : what, subjects: held, heapMb: after.heap / 2 ** 20, externalMb: after.external / 2 ** 20,
      bytesPerSubject: (after.total - before.total) / held, updatesPerSec: held * STEPS / (ms / 1000),
    })
    return d
  }
  for (const name of createDetectors().map((d) => d.name)) {
    measure(name, sampleSubjects, () => createDetectors({ utcOffsetHours: 8 }).find((d) => d.name === name)!)
  }
  measure('all detectors (set)', subjects, () => createDetectorSet(createDetectors({ utcOffsetHours: 8 })))
  return lines
}

export function formatMemory (lines: MemoryLine[]): string {
  const head = ['detector state', 'subjects', 'updates/s', 'heap MB after', 'external MB', 'bytes/subject', 'target']
  const body = lines.map((l) => {
    const total = l.heapMb + l.externalMb
    return [l.what, l.subjects.toLocaleString('en-US'), Math.round(l.updatesPerSec).toLocaleString('en-US'), l.heapMb.toFixed(0), l.externalMb.toFixed(0), l.bytesPerSubject.toFixed(0),
      l.what.startsWith('all') ? `<= 1,024 B and < 1,536 MB: ${l.bytesPerSubject <= 1024 && total < 1536 && !l.what.includes('stopped') ? 'met' : 'NOT met'} (${total.toFixed(0)} MB)` : '']
  })
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)))
  const line = (cells: string[]) => cells.map((c, i) => i >= 1 && i <= 5 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)).join('  ').trimEnd()
  return [
    '',
    'Detector state after a full GC: V8 heap plus memory outside it (typed arrays over 64 bytes keep their data there; process.memoryUsage().external), both counted',
    'in bytes/subject and in the 1.5 GiB. Each subject a lone elder fed eight hours of 15-minute readings; the set fed in blocks of 50,000 subjects until 1M or 1.5 GiB.',
    line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line), '',
  ].join('\n')
}
