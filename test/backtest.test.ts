import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { detectFormat, parseSeries, runBacktest } from '../backtest/index.ts'

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

test('HUE house 1: the day-long zero stretches alert', () => {
  const series = parseSeries(readFileSync(new URL('../../shared/data/households/hue/Residential_1.csv', import.meta.url), 'utf8'))
  const raises = runBacktest(series).filter((a) => a.phase === 'raise')
  for (const day of ['2013-11-0', '2014-02-07', '2015-08-29']) {
    assert.ok(raises.some((a) => new Date(a.startedAt).toISOString().startsWith(day)), `a raise starting ${day}`)
  }
})
