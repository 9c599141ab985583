/**
 * npm run backtest -- <file.csv> [--format plain|hue|ausgrid|uci] [--cumulative]
 *   [--kind lone_elder|rental_unit] [--utc-offset H] [--scores out.csv]
 * Replays a household's readings through the detectors and prints the alerts, in
 * the data's own time (local times are read as written; the offset defaults to 0).
 * With --scores, also writes every row read with the detectors' score after it.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { FORMATS, backtest, parseSeries, scoresCsv, type Format } from '../backtest/index.ts'

const usage = 'usage: npm run backtest -- <file.csv> [--format plain|hue|ausgrid|uci] [--cumulative] [--kind lone_elder|rental_unit] [--utc-offset H] [--scores out.csv]\n'
const fail = (msg: string, code = 1): never => { process.stderr.write(msg); process.exit(code) }
let parsed
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      format: { type: 'string' }, cumulative: { type: 'boolean' }, kind: { type: 'string', default: 'lone_elder' },
      'utc-offset': { type: 'string', default: '0' }, scores: { type: 'string' },
    },
  })
} catch (err) {
  fail(`${(err as Error).message}\n${usage}`, 2)
}
const { values, positionals } = parsed!
const file = positionals[0]
if (!file) fail(usage, 2)
if (values.format && !(FORMATS as readonly string[]).includes(values.format)) fail(`--format must be one of ${FORMATS.join(', ')}\n`, 2)
if (values.kind !== 'lone_elder' && values.kind !== 'rental_unit') fail('--kind must be lone_elder or rental_unit\n', 2)
const offset = Number(values['utc-offset'])
if (!Number.isFinite(offset) || Math.abs(offset) > 14) fail(`--utc-offset must be hours between -14 and 14, got ${values['utc-offset']}\n`, 2)

let text = ''
try {
  text = readFileSync(file!, 'utf8')
} catch (err) {
  fail(`cannot read ${file}: ${(err as Error).message}\n`)
}
const series = parseSeries(text, values.format as Format | undefined, { cumulative: values.cumulative ?? false })
if (series.length === 0) fail(`${file}: no readings found\n`)
const t0 = performance.now()
const { anomalies, scores } = backtest(series, { subjectKind: values.kind as 'lone_elder', utcOffsetHours: offset, scores: values.scores !== undefined })
const ms = performance.now() - t0
const iso = (t: number) => new Date(t).toISOString().slice(0, 16).replace('T', ' ')
const days = (series.at(-1)!.end - series[0]!.end) / 86_400_000
for (const a of anomalies) {
  process.stdout.write(`${a.phase.padEnd(6)} ${a.kind.padEnd(12)} ${a.severity.padEnd(8)} began ${iso(a.startedAt)}  seen ${iso(a.observedAt)}  ${JSON.stringify(a.evidence)}\n`)
}
const raises = anomalies.filter((a) => a.phase === 'raise').length
process.stdout.write(`\n${file}: ${series.length} rows, ${days.toFixed(0)} days (${iso(series[0]!.end)} .. ${iso(series.at(-1)!.end)}), ${raises} alerts raised (${(raises / days * 100).toFixed(2)} per 100 days); ${(series.length / ms * 1000).toFixed(0)} rows/s\n`)
if (values.scores !== undefined) {
  try {
    writeFileSync(values.scores, scoresCsv(text, series, scores!))
  } catch (err) {
    fail(`cannot write scores to ${values.scores}: ${(err as Error).message}\n`)
  }
  const scored = scores!.filter((s) => s !== null)
  process.stdout.write(scored.length === 0
    ? `${values.scores}: ${series.length} rows, score column empty (no detector gives scores)\n`
    : `${values.scores}: ${series.length} rows scored, max ${scored.reduce((m, s) => Math.max(m, s), 0).toFixed(2)}, ${scored.filter((s) => s >= 1).length} at or over the raise threshold\n`)
}
