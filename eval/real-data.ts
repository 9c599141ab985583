/**
 * The real households of `../shared/data/households/` as series for the real-homes evaluation:
 * each home's intervals on one clock, its local offset for daily rhythms, and the days its data
 * cannot judge (a day or more of exact zeros, or of nothing).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseSeries, type Interval } from '../backtest/index.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR

export interface RealHome {
  source: string
  home: string
  /** Interval kWh, sorted by end; missing intervals absent (not filled). */
  series: Interval[]
  /** Local offset of the series' daily rhythm, hours (what the detectors are told). */
  utcOffsetHours: number
  /** More than half the intervals are exactly zero: the meter does not measure the home. */
  nearAllZero: boolean
  /** Local day indexes (floor((t + offset) / DAY)) touched by a zero run or a gap of a day or more. */
  unusableDays: Set<number>
}

/** The sources, their folder, file format and the local offset of their clock. */
export const SOURCES = Object.freeze({
  lcl_london: { dir: 'lcl_london', offset: 0 },
  sgsc_nsw: { dir: 'sgsc_nsw', offset: 10 },
  // Local wall-clock times read as if UTC (backtest's way): offset 0 is then local.
  ausgrid: { dir: 'ausgrid', offset: 0 },
  hue: { dir: 'hue', offset: 0 },
} as const)
export type Source = keyof typeof SOURCES

/** `ts,kwh` with an ISO time and its offset at the interval's start (read as ending 30 min later). */
export function parseTsKwh (text: string, stepMs = 30 * 60_000): Interval[] {
  const out: Interval[] = []
  const lines = text.split(/\r?\n/)
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!
    const comma = line.indexOf(',')
    if (comma < 0) continue
    const t = Date.parse(line.slice(0, comma)), kwh = Number(line.slice(comma + 1))
    if (!Number.isFinite(t) || !(kwh >= 0)) continue
    out.push({ end: t + stepMs, intervalMs: stepMs, kwh, row: i + 1 })
  }
  return out
}

/** Days a zero run or a gap of at least `minMs` touches, on the local clock. */
export function unusableDays (series: readonly Interval[], offsetMs: number, minMs = DAY): Set<number> {
  const days = new Set<number>()
  const mark = (from: number, to: number) => {
    for (let d = Math.floor((from + offsetMs) / DAY); d <= Math.floor((to + offsetMs) / DAY); d++) days.add(d)
  }
  let zeroFrom = -1
  for (let i = 0; i < series.length; i++) {
    const s = series[i]!
    const prev = series[i - 1]
    if (prev !== undefined && s.end - s.intervalMs - prev.end >= minMs) mark(prev.end, s.end)
    if (s.kwh === 0) { if (zeroFrom < 0) zeroFrom = s.end - s.intervalMs } else if (zeroFrom >= 0) {
      if (s.end - s.intervalMs - zeroFrom >= minMs) mark(zeroFrom, s.end)
      zeroFrom = -1
    }
  }
  const last = series.at(-1)
  if (zeroFrom >= 0 && last && last.end - zeroFrom >= minMs) mark(zeroFrom, last.end)
  return days
}

function home (source: Source, name: string, series: Interval[]): RealHome {
  const offset = SOURCES[source].offset
  const zeros = series.reduce((n, s) => n + (s.kwh === 0 ? 1 : 0), 0)
  return { source, home: name, series, utcOffsetHours: offset, nearAllZero: zeros > series.length / 2, unusableDays: unusableDays(series, offset * HOUR) }
}

/** Every home of the chosen sources under `root`, sorted by source then name. */
export function loadHomes (root: string, sources: readonly Source[] = Object.keys(SOURCES) as Source[]): RealHome[] {
  const out: RealHome[] = []
  for (const source of sources) {
    const dir = join(root, SOURCES[source].dir)
    if (!existsSync(dir)) continue
    const files = readdirSync(dir).filter((f) => f.endsWith('.csv')).sort()
    for (const f of files) {
      const text = readFileSync(join(dir, f), 'utf8')
      const series = source === 'lcl_london' || source === 'sgsc_nsw' ? parseTsKwh(text) : parseSeries(text)
      if (series.length > 0) out.push(home(source, f.replace(/\.csv$/, '').replace(/_data.*$/, ''), series))
    }
  }
  return out
}
