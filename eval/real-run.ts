/**
 * One real home through the detectors as the live system sees it: its intervals made into a
 * cumulative register read by ingest's own register step (a missing stretch comes back as one
 * reading spanning it, the register having counted on), a tick every hour of data time, and every
 * alert answered by the worker some hours later (event time), through `feedback`: `false_alarm`,
 * or as the caller says (real.ts answers a household found away `away` until its return).
 * An injection (real-inject.ts) rewrites the series from its moment on.
 */
import { createDetectors, createDetectorSet, type Detector, type Feedback } from '../detectors/index.ts'
import { step, type RegisterState } from '../ingest/meter.ts'
import type { Anomaly, Consumption } from '../vocab/index.ts'
import type { Interval } from '../backtest/index.ts'
import { createEpisodes } from './truth.ts'

const HOUR = 3_600_000

export interface SeriesRunOptions {
  subjectId: string
  utcOffsetHours: number
  /** Rewrites an interval's kWh (an injected incapacitation); default: as read. */
  kwhOf?: (s: Interval) => number
  /** Stop after the first sample at or past this event time. Default: the whole series. */
  until?: number
  /** Stop once this returns true for an anomaly (a detection). */
  stopWhen?: (a: Anomaly) => boolean
  /** Answer each alert `false_alarm`. Default true. */
  feedback?: boolean
  /** The worker's answer to an alert. Default: `false_alarm` for its kind. */
  answer?: (a: Anomaly) => Feedback
  /** Event time from an alert to the worker's answer. Default 3 h. */
  feedbackDelayMs?: number
  /** Detectors under test. Default: every detector at the home's offset. */
  detectors?: (utcOffsetHours: number) => Detector[]
}

export interface SeriesRun {
  anomalies: Anomaly[]
  /** Anomalies that opened an alert (one per subject and kind while open), in order. */
  opened: Anomaly[]
  samples: number
  feedbacks: number
}

export function runSeries (series: readonly Interval[], opts: SeriesRunOptions): SeriesRun {
  const set = createDetectorSet(opts.detectors?.(opts.utcOffsetHours) ?? createDetectors({ utcOffsetHours: opts.utcOffsetHours }))
  const episodes = createEpisodes()
  const answer = opts.feedback ?? true, delay = opts.feedbackDelayMs ?? 3 * HOUR
  const kwhOf = opts.kwhOf ?? ((s: Interval) => s.kwh)
  const until = opts.until ?? Infinity
  const anomalies: Anomaly[] = [], opened: Anomaly[] = []
  const due: Array<{ at: number, fb: Feedback }> = []
  let reg: RegisterState | undefined
  let register = 0, samples = 0, feedbacks = 0, nextTick = -Infinity, stop = false

  function said (out: readonly Anomaly[]) {
    for (const a of out) {
      anomalies.push(a)
      if (!episodes.opens(a)) continue
      opened.push(a)
      if (opts.stopWhen?.(a)) stop = true
      if (answer) due.push({ at: a.observedAt + delay, fb: opts.answer?.(a) ?? { subjectId: a.subjectId, kind: a.kind, falseAlarm: true } })
    }
  }

  for (let i = 0; i < series.length && !stop; i++) {
    const s = series[i]!, prev = series[i - 1]
    // What the register counted while the meter said nothing: the neighbours' mean rate over the gap.
    const gap = prev === undefined ? 0 : s.end - s.intervalMs - prev.end
    if (gap > 0) register += gap / s.intervalMs * (kwhOf(prev!) + kwhOf(s)) / 2
    register += kwhOf(s)
    while (due.length > 0 && due[0]!.at <= s.end) { set.feedback(due.shift()!.fb); feedbacks++ }
    if (s.end >= nextTick) { said(set.tick(s.end)); nextTick = s.end + HOUR }
    const { next, step: st } = step(reg, 'meter', { ts: s.end, value: register })
    reg = next
    if (st.kind === 'in_order') {
      const r = st.row
      const c: Consumption = {
        subjectId: opts.subjectId, subjectKind: 'lone_elder', deviceId: 'meter', unit: 'kwh', ts: s.end,
        intervalMs: r.intervalMs!, amount: r.amount ?? 0, ...(r.implausible ? { registerFault: 'implausible' as const } : {}),
      }
      samples++
      said(set.update(c))
    }
    if (s.end >= until) break
  }
  return { anomalies, opened, samples, feedbacks }
}
