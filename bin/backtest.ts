/**
 * npm run backtest -- <file.csv> [--format plain|hue|ausgrid|uci] [--cumulative]
 *   [--kind lone_elder|rental_unit] [--utc-offset H]
 * Replays a household's readings through the detectors and prints the alerts, in
 * the data's own time (local times are read as written; the offset defaults to 0).
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { FORMATS, parseSeries, runBacktest, type Format } from '../backtest/index.ts'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { format: { type: 'string' }, cumulative: { type: 'boolean' }, kind: { type: 'string', default: 'lone_elder' }, 'utc-offset': { type: 'string', default: '0' } },
})
const file = positionals[0]
if (!file) { process.stderr.write('usage: npm run backtest -- <file.csv> [--format plain|hue|ausgrid|uci] [--cumulative] [--kind lone_elder|rental_unit]\n'); process.exit(2) }
if (values.format && !(FORMATS as readonly string[]).includes(values.format)) { process.stderr.write(`--format must be one of ${FORMATS.join(', ')}\n`); process.exit(2) }
const series = parseSeries(readFileSync(file, 'utf8'), values.format as Format | undefined, { cumulative: values.cumulative ?? false })
if (series.length === 0) { process.stderr.write(`${file}: no readings found\n`); process.exit(1) }
const t0 = performance.now()
const anomalies = runBacktest(series, { subjectKind: values.kind as 'lone_elder', utcOffsetHours: Number(values['utc-offset']) })
const ms = performance.now() - t0
const iso = (t: number) => new Date(t).toISOString().slice(0, 16).replace('T', ' ')
const days = (series.at(-1)!.end - series[0]!.end) / 86_400_000
for (const a of anomalies) {
  process.stdout.write(`${a.phase.padEnd(6)} ${a.kind.padEnd(12)} ${a.severity.padEnd(8)} began ${iso(a.startedAt)}  seen ${iso(a.observedAt)}  ${JSON.stringify(a.evidence)}\n`)
}
const raises = anomalies.filter((a) => a.phase === 'raise').length
process.stdout.write(`\n${file}: ${series.length} rows, ${days.toFixed(0)} days (${iso(series[0]!.end)} .. ${iso(series.at(-1)!.end)}), ${raises} alerts raised (${(raises / days * 100).toFixed(2)} per 100 days); ${(series.length / ms * 1000).toFixed(0)} rows/s\n`)
