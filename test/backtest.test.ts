import { test } from 'vitest'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { backtest, detectFormat, parseSeries, runBacktest, scoresCsv } from '../backtest/index.ts'
import { generateReadings } from '../simulators/index.ts'

const HOUR = 3_600_000

test('the three real household formats and plain timestamp,value files are read', () => {
  const hue = parseSeries('date,hour,energy_kWh\n6/1/2012,1,1.011\n6/1/2012,2,0.451\n')
  assert.deepEqual(hue.map((r) => [new Date(r.end).toISOString(), r.intervalMs, r.kwh]), [['2012-06-01T01:00:00.000Z', HOUR, 1.011], ['2012-06-01T02:00:00.000Z', HOUR, 0.451]])
  const aus = parseSeries(',GC,GG\n2011-07-01 00:00:00,0.392,0.0\n2011-07-01 00:30:00,0.578,0.0\n')
  assert.deepEqual(aus.map((r) => [new Date(r.end).toISOString(), r.kwh]), [['2011-07-01T00:30:00.000Z', 0.392], ['2011-07-01T01:00:00.000Z', 0.578]])
  const uci = parseSeries('datetime,Global_active_power,x\n2006-12-16,1209.176,1\n')
  assert.ok(Math.abs(uci[0]!.kwh - 1209.176 / 60) < 1e-9)
  assert.equal(detectFormat('timestamp,value'), 'plain')
  const plain = parseSeries('timestamp,value\n2026-03-01T00:15:00Z,0.1\n2026-03-01T00:30:00Z,0.2\n')
  assert.deepEqual(plain.map((r) => r.kwh), [0.1, 0.2])
  const cumulative = parseSeries('timestamp,value\n2026-03-01T00:00:00Z,100\n2026-03-01T00:15:00Z,100.25\n2026-03-01T00:30:00Z,100.75\n', 'plain', { cumulative: true })
  assert.deepEqual(cumulative.map((r) => r.kwh), [0.25, 0.5])
})

test('HUE house 1: the day-long zero stretches alert, and the score stands at the threshold when they do', () => {
  const series = parseSeries(readFileSync(new URL('../../shared/data/households/hue/Residential_1.csv', import.meta.url), 'utf8'))
  const { anomalies, scores } = backtest(series, { scores: true })
  assert.deepEqual(anomalies, runBacktest(series), 'scoring changes nothing said')
  const raises = anomalies.filter((a) => a.phase === 'raise')
  for (const day of ['2013-11-0', '2014-02-07', '2015-08-29']) {
    assert.ok(raises.some((a) => new Date(a.startedAt).toISOString().startsWith(day)), `a raise starting ${day}`)
  }
  assert.equal(scores!.length, series.length)
  const at = (t: number) => scores![series.findIndex((s) => s.end === t)]!
  for (const a of raises.filter((a) => a.kind === 'inactivity')) assert.ok(at(a.observedAt) >= 1, `score >= 1 at the raise seen ${new Date(a.observedAt).toISOString()}`)
  const ordinary = scores!.filter((s) => s !== null && s < 1).length
  assert.ok(ordinary > 0.9 * series.length, 'most hours are nowhere near a raise')
})

// ---------------------------------------------------------------- per-row scores

const run = promisify(execFile)
const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'bin/backtest.ts', ...args], { cwd: new URL('..', import.meta.url).pathname })

/** Four weeks of an elder's 15-minute use, plain `timestamp,value`, then a silent day (standby only). */
function elderCsv (): string {
  const from = Date.UTC(2026, 2, 1) - 8 * HOUR
  const r = generateReadings({ subjectKind: 'lone_elder', seed: 5, utcOffsetHours: 0, scenarios: [{ kind: 'incapacitated', at: from + 26.4 * 24 * HOUR }] }, from, from + 28 * 24 * HOUR)
  return 'timestamp,value\n' + r.slice(1).map((x, i) => `${new Date(x.ts).toISOString()},${(x.kwh - r[i]!.kwh).toFixed(3)}`).join('\n') + '\n'
}

test('scores: every row read comes back as written, with the score after it', () => {
  const text = 'date,hour,energy_kWh\n6/1/2012,1,1.011\nnot a row\n6/1/2012,2,0.451\n'
  const series = parseSeries(text)
  assert.equal(scoresCsv(text, series, [0, 0.5]), 'date,hour,energy_kWh,score\n6/1/2012,1,1.011,0\n6/1/2012,2,0.451,0.5\n')
  assert.equal(scoresCsv(text, series, [null, null]), 'date,hour,energy_kWh,score\n6/1/2012,1,1.011,\n6/1/2012,2,0.451,\n', 'empty when no detector scores')
  assert.throws(() => scoresCsv(text, series, [1]), /1 scores for 2 rows/)
  const month = elderCsv()
  const { scores } = backtest(parseSeries(month), { scores: true })
  assert.ok(scores!.every((s) => s === null || (Number.isFinite(s) && s >= 0)))
  const fell = Math.floor(26.4 * 96)
  assert.ok(Math.max(...scores!.slice(fell).map(Number)) >= 1, 'the silent last day reaches the raise threshold')
  assert.ok(Math.max(...scores!.slice(fell).map(Number)) > Math.max(...scores!.slice(0, fell).map(Number)), '... and goes higher than any ordinary day')
  assert.equal(backtest(parseSeries(month)).scores, null, 'not asked, not taken')
})

test('npm run backtest -- <csv> --scores <out.csv> writes one score per input row; a bad path is a clear error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gridcare-backtest-'))
  try {
    const input = join(dir, 'elder.csv'), output = join(dir, 'scores.csv')
    const text = elderCsv()
    writeFileSync(input, text)
    const { stdout } = await cli(input, '--scores', output)
    assert.match(stdout, /elder\.csv: 2687 rows, 28 days/)
    assert.match(stdout, /scores\.csv: 2687 rows/)
    const lines = readFileSync(output, 'utf8').trimEnd().split('\n')
    const inputLines = text.trimEnd().split('\n')
    assert.equal(lines.length, inputLines.length)
    assert.equal(lines[0], 'timestamp,value,score')
    lines.slice(1).forEach((l, i) => assert.ok(l.startsWith(`${inputLines[i + 1]},`), `row ${i + 2} kept as written`))

    const bad = join(dir, 'no-such-dir', 'scores.csv')
    await assert.rejects(cli(input, '--scores', bad), (err: { code: number, stderr: string }) => {
      assert.equal(err.code, 1)
      assert.match(err.stderr, new RegExp(`^cannot write scores to ${bad}: ENOENT`))
      return true
    })
    await assert.rejects(cli(join(dir, 'missing.csv')), (err: { code: number, stderr: string }) => /^cannot read .*missing\.csv: ENOENT/.test(err.stderr))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
