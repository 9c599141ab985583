/**
 * Backtests: a CSV of one household's consumption replayed through the
 * detectors, as fast as it reads, in the data's own time.
 */
import { createDetectors, createDetectorSet } from '../detectors/index.ts'
import type { Anomaly, SubjectKind } from '../vocab/index.ts'

export const FORMATS = ['plain', 'hue', 'ausgrid', 'uci'] as const
export type Format = (typeof FORMATS)[number]

/** One interval of consumption: energy over (end - intervalMs, end]. */
export interface Interval { end: number, intervalMs: number, kwh: number, row: number }

const HOUR = 3_600_000
const DAY = 24 * HOUR

/** Local wall-clock text as if it were UTC: the detector is told the offset (0) separately. */
const local = (date: string, time = '00:00:00') => Date.parse(`${date}T${time}Z`)

/** Guesses the format from the header line. */
export function detectFormat (header: string): Format {
  const h = header.trim().toLowerCase()
  if (h.startsWith('date,hour,energy_kwh')) return 'hue'
  if (h.startsWith(',gc')) return 'ausgrid'
  if (h.startsWith('datetime,global_active_power')) return 'uci'
  return 'plain'
}

/**
 * Parses a household series. plain: `timestamp,value` (ISO time or epoch ms at the
 * interval's end, value kWh over the interval, or a cumulative register with
 * `cumulative`); hue: hourly `date,hour,energy_kWh` (m/d/yyyy, hour 1-24 ends
 * the hour); ausgrid: half-hourly `time,GC,GG` (time starts the half hour, GC is
 * consumption); uci: daily, `Global_active_power / 60` kWh.
 */
export function parseSeries (text: string, format: Format = detectFormat(text.slice(0, 200)), opts: { cumulative?: boolean } = {}): Interval[] {
  const lines = text.split(/\r?\n/)
  const out: Interval[] = []
  let prev: { t: number, v: number } | undefined
  lines.forEach((line, i) => {
    if (i === 0 && !/^\d/.test(line.split(',')[0] ?? '') && format !== 'ausgrid') return
    if (i === 0 && format === 'ausgrid') return
    const f = line.split(',')
    if (f.length < 2 || line.trim() === '') return
    let end: number; let ms: number; let kwh: number
    if (format === 'hue') {
      const [m, d, y] = f[0]!.split('/')
      end = local(`${y}-${m!.padStart(2, '0')}-${d!.padStart(2, '0')}`) + Number(f[1]) * HOUR
      ms = HOUR; kwh = Number(f[2])
    } else if (format === 'ausgrid') {
      end = local(f[0]!.slice(0, 10), f[0]!.slice(11)) + HOUR / 2
      ms = HOUR / 2; kwh = Number(f[1])
    } else if (format === 'uci') {
      end = local(f[0]!) + DAY
      ms = DAY; kwh = Number(f[1]) / 60
    } else {
      const t = /^\d+$/.test(f[0]!) ? Number(f[0]) : Date.parse(f[0]!)
      const v = Number(f[1])
      if (opts.cumulative) {
        if (prev && t > prev.t) out.push({ end: t, intervalMs: t - prev.t, kwh: Math.max(0, v - prev.v), row: i + 1 })
        prev = { t, v }
        return
      }
      const last = out.at(-1)
      end = t; ms = last ? t - last.end : 15 * 60_000; kwh = v
    }
    if (Number.isFinite(end) && Number.isFinite(kwh) && ms > 0) out.push({ end, intervalMs: ms, kwh, row: i + 1 })
  })
  return out
}

export interface BacktestOptions {
  /** Default lone_elder. */
  subjectKind?: SubjectKind
  /** Local time offset, hours; default 0 (local times are read as written). */
  utcOffsetHours?: number
  /** Also take each row's score. Default false. */
  scores?: boolean
}

export interface BacktestResult {
  anomalies: Anomaly[]
  /**
   * With `scores`: one per interval, in order, the largest `score(subject)` of the detectors that
   * have one after that interval (0 normal, 1 at the raise threshold); null when none has one.
   */
  scores: Array<number | null> | null
}

/** Replays a series through every detector for one subject. */
export function backtest (series: Interval[], opts: BacktestOptions = {}): BacktestResult {
  const set = createDetectorSet(createDetectors({ utcOffsetHours: opts.utcOffsetHours ?? 0 }))
  const scorers = set.detectors.filter((d) => d.score !== undefined)
  const subjectId = 'backtest'
  const out: Anomaly[] = []
  const scores = opts.scores ? new Array<number | null>(series.length).fill(null) : null
  series.forEach((s, i) => {
    out.push(...set.update({ subjectId, subjectKind: opts.subjectKind ?? 'lone_elder', deviceId: 'csv', unit: 'kwh', ts: s.end, intervalMs: s.intervalMs, amount: s.kwh }))
    if (scores === null || scorers.length === 0) return
    let max = -Infinity
    for (const d of scorers) max = Math.max(max, d.score!(subjectId))
    scores[i] = max
  })
  return { anomalies: out, scores }
}

/** Replays a series through every detector for one subject; returns what they said. */
export function runBacktest (series: Interval[], opts: Omit<BacktestOptions, 'scores'> = {}): Anomaly[] {
  return backtest(series, opts).anomalies
}

/**
 * The input's header and every row that became an interval, as written, with a `score` column
 * added (empty when no detector gives scores). Rows that were skipped (unreadable, or the first
 * of a cumulative series) are left out.
 */
export function scoresCsv (text: string, series: readonly Interval[], scores: ReadonlyArray<number | null>): string {
  if (scores.length !== series.length) throw new RangeError(`scoresCsv: ${scores.length} scores for ${series.length} rows`)
  const lines = text.split(/\r?\n/)
  const header = lines[0] !== undefined && !/^\d/.test(lines[0]) ? lines[0] : null
  const out = [`${header ?? 'timestamp,value'},score`]
  series.forEach((s, i) => {
    const v = scores[i]
    out.push(`${lines[s.row - 1]},${v === null || v === undefined ? '' : String(Math.round(v * 1e4) / 1e4)}`)
  })
  return out.join('\n') + '\n'
}
