/**
 * npm run evaluate [-- --elders N --rentals N --days D --seed S --json --no-feedback]
 * Simulates labelled households (incapacitation, trips, meter faults, crowding, vacancy, e-bike
 * charging), runs them through every detector and prints recall, false alerts and time to
 * detect per detector and kind, beside the product targets.
 *
 * npm run evaluate -- --real [--source lcl_london,sgsc_nsw,ausgrid,hue --homes N --days D --seed S --data DIR --json --no-feedback --no-away]
 * The real households of ../shared/data/households instead: false alerts on their ordinary days,
 * incapacitation injected into copies (eval/real.ts).
 */
import { parseArgs } from 'node:util'
import { runEvaluation } from '../eval/index.ts'
import { runRealEvaluation, SOURCES, type Source } from '../eval/real-index.ts'

const usage = 'usage: npm run evaluate [-- --elders N --rentals N --days D --seed S --door-share 0.5 --json --no-feedback]\n' +
  '       npm run evaluate -- --real [--source lcl_london,sgsc_nsw,ausgrid,hue --homes N --days D --seed S --data DIR --json --no-feedback --no-away]\n'
let values: Record<string, string | boolean | undefined>
try {
  values = parseArgs({
    options: {
      elders: { type: 'string' }, rentals: { type: 'string' }, 'door-share': { type: 'string' }, days: { type: 'string' }, seed: { type: 'string' },
      json: { type: 'boolean' }, 'no-feedback': { type: 'boolean' }, help: { type: 'boolean' },
      real: { type: 'boolean' }, 'no-away': { type: 'boolean' }, source: { type: 'string' }, homes: { type: 'string' }, data: { type: 'string' },
    },
  }).values
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n${usage}`)
  process.exit(2)
}
if (values.help) { process.stdout.write(usage); process.exit(0) }

function whole (name: string): number | undefined {
  const v = values[name]
  if (v === undefined) return undefined
  const n = Number(v)
  if (typeof v !== 'string' || !/^\d+$/.test(v) || !Number.isSafeInteger(n)) {
    process.stderr.write(`--${name} must be a whole number, got ${String(v)}\n${usage}`)
    process.exit(2)
  }
  return n
}

if (values.real) {
  const sources = typeof values.source === 'string' ? values.source.split(',') : undefined
  const unknown = sources?.filter((x) => !(x in SOURCES))
  if (unknown?.length) { process.stderr.write(`unknown --source ${unknown.join(', ')}: one of ${Object.keys(SOURCES).join(', ')}\n`); process.exit(2) }
  const homes = whole('homes'), days = whole('days'), seed = whole('seed')
  const real = runRealEvaluation({
    ...(sources ? { sources: sources as Source[] } : {}), ...(homes !== undefined ? { homes } : {}), ...(days !== undefined ? { days } : {}),
    ...(seed !== undefined ? { seed } : {}), ...(typeof values.data === 'string' ? { dataDir: values.data } : {}), feedback: !values['no-feedback'], awayAnswers: !values['no-away'],
    onHome: (h, i, n) => { if (!values.json) process.stderr.write(`  ${i}/${n} ${h.source}/${h.home}\n`) },
  })
  process.stdout.write(values.json ? JSON.stringify({ seconds: real.seconds, rows: real.rows }, null, 2) + '\n' : real.text)
  process.exit(0)
}

const doorShare = values['door-share'] === undefined ? undefined : Number(values['door-share'])
if (doorShare !== undefined && !(doorShare >= 0 && doorShare <= 1)) { process.stderr.write(`--door-share must be between 0 and 1\n${usage}`); process.exit(2) }
const opts = { doorShare, elders: whole('elders'), rentals: whole('rentals'), days: whole('days'), seed: whole('seed'), feedback: !values['no-feedback'] }
const defined = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined))
let evaluation
try {
  evaluation = runEvaluation({
    ...defined,
    onDay: (d) => { if (!values.json && d % 10 === 0) process.stderr.write(`  day ${d}\n`) },
  })
} catch (err) {
  if (!(err instanceof RangeError)) throw err
  process.stderr.write(`${err.message}\n`)
  process.exit(2)
}
if (values.json) {
  const { facts, score, targets } = evaluation
  process.stdout.write(JSON.stringify({ facts, ...score, targets }, null, 2) + '\n')
} else {
  process.stdout.write(evaluation.text)
}
