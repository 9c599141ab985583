// As in `npm start`, before anything loads the MQTT packet parser (broker/quiet-debug.ts).
import '../broker/quiet-debug.ts'
import { parseArgs } from 'node:util'
import { benchIngest } from './ingest.ts'
import { benchDetectors } from './detectors.ts'
import { benchEndToEnd, LOADS } from './e2e.ts'
import type { Generator } from './load.ts'
import { benchMemory, formatMemory } from './memory.ts'
import { formatTable, type BenchLine } from './report.ts'

/**
 * `npm run bench [-- --only ingest,detectors,memory,e2e] [--detail] [--pg URL] [--seconds 20] [--stores embedded,postgres] [--loads meters,concentrators] [--no-refs] [--generator lean|mqttjs] [--no-store-thread] [--timeline DIR] [--tick-at S] [--profile DIR] [--subjects 1000000] [--quiet]`: throughput of the
 * write and detection paths on this machine. Speed is measured here and
 * printed, never asserted in tests.
 */

interface BenchContext {
  pgAdminUrl: string
  detail: boolean
  seconds: number
  stores: ('embedded' | 'postgres')[]
  /** Which e2e loads (LOADS keys); default all. */
  loads: string[] | undefined
  profileDir: string | undefined
  /** Subjects the detector memory run holds; default 1,000,000. */
  subjects: number | undefined
  /** Whether e2e also runs the bare brokers. */
  refs: boolean
  /** The e2e load generator: `lean` (default) or `mqttjs`, the one of the earlier figures. */
  generator: Generator
  /** e2e: the embedded store's PGlite on its own thread, as gridcare runs it by default; false: `--no-store-thread`. */
  storeThread: boolean
  /** e2e: each gridcare run's timeline into this folder. */
  timelineDir: string | undefined
  /** e2e: the housekeeping run this many seconds into each gridcare run (`--tick-at S`). */
  tickAt: number | undefined
  progress: (msg: string) => void
}

type Section = (ctx: BenchContext) => Promise<BenchLine[]>

/** Each section is one function; add new ones here (detector updates go beside ingest). */
const SECTIONS: Record<string, Section> = {
  ingest: (ctx) => benchIngest({
    pgAdminUrl: ctx.pgAdminUrl,
    progress: ctx.progress,
    detail: ctx.detail,
  }),
  detectors: (ctx) => benchDetectors({ progress: ctx.progress }),
  memory: async (ctx) => {
    console.log(formatMemory(benchMemory({ progress: ctx.progress, ...(ctx.subjects ? { subjects: ctx.subjects } : {}) })))
    return []
  },
  e2e: (ctx) => benchEndToEnd({
    pgAdminUrl: ctx.pgAdminUrl, seconds: ctx.seconds, stores: ctx.stores, progress: ctx.progress, refs: ctx.refs, generator: ctx.generator, storeThread: ctx.storeThread, ...(ctx.timelineDir ? { timelineDir: ctx.timelineDir } : {}), ...(ctx.tickAt !== undefined ? { tickAt: ctx.tickAt } : {}), ...(ctx.profileDir ? { profileDir: ctx.profileDir } : {}),
    loads: ctx.loads ? LOADS.filter((l) => ctx.loads!.includes(l.key)) : LOADS,
  }),
}

async function main () {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      detail: { type: 'boolean', default: false },
      pg: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
      quiet: { type: 'boolean', default: false },
      seconds: { type: 'string', default: '20' },
      stores: { type: 'string', default: 'embedded,postgres' },
      loads: { type: 'string' },
      'no-refs': { type: 'boolean', default: false },
      generator: { type: 'string', default: 'lean' },
      'no-store-thread': { type: 'boolean', default: false },
      timeline: { type: 'string' },
      'tick-at': { type: 'string' },
      profile: { type: 'string' },
      subjects: { type: 'string' },
    },
  })
  const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean)
  const unknown = only?.filter((s) => !(s in SECTIONS)) ?? []
  if (unknown.length > 0) throw new Error(`unknown section ${unknown.join(', ')}; known: ${Object.keys(SECTIONS).join(', ')}`)
  if (values.generator !== 'lean' && values.generator !== 'mqttjs') throw new Error(`--generator ${values.generator}: lean or mqttjs`)
  const tickAt = values['tick-at'] !== undefined ? Number(values['tick-at']) : undefined
  if (tickAt !== undefined && !(tickAt >= 0 && tickAt < Number(values.seconds))) throw new Error(`--tick-at ${values['tick-at']}: seconds into the run, from 0 to under --seconds (${values.seconds})`)
  const ctx: BenchContext = {
    pgAdminUrl: values.pg!,
    detail: values.detail!,
    seconds: Number(values.seconds),
    stores: values.stores!.split(',').map((s) => s.trim()) as ('embedded' | 'postgres')[],
    loads: values.loads?.split(',').map((s) => s.trim()),
    refs: !values['no-refs'],
    generator: values.generator,
    storeThread: !values['no-store-thread'],
    timelineDir: values.timeline,
    tickAt,
    profileDir: values.profile,
    subjects: values.subjects ? Number(values.subjects) : undefined,
    progress: values.quiet ? () => {} : (msg) => process.stderr.write(msg + '\n'),
  }
  const lines: BenchLine[] = []
  for (const [name, section] of Object.entries(SECTIONS)) {
    if (only && !only.includes(name)) continue
    lines.push(...await section(ctx))
  }
  console.log(formatTable(lines))
  const missed = lines.filter((l) => l.target && l.rows / (l.ms / 1000) < l.target)
  if (missed.length > 0) console.log(`\n${missed.length} target(s) not met on this machine`)
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
