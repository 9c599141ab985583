/**
 * Runs the simulated households through the detectors as the live system would: every meter's
 * cumulative readings turned into interval consumption by ingest's own register step, all
 * subjects interleaved in event-time order, a tick every few minutes of data time, absences
 * declared ahead, and each false alert answered by the grid worker two hours later.
 * Electricity readings are made as the clock advances (one per meter held at a time); a water
 * meter's readings (simulators/water.ts) are made for the whole run at once, a few MB at most.
 */
import { createDetectors, createDetectorSet, type Detector, type Feedback } from '../detectors/index.ts'
import { step, type RegisterState } from '../ingest/meter.ts'
import { createMeterModel } from '../simulators/index.ts'
import { generateWaterReadings } from '../simulators/water.ts'
import { generateDoorEvents } from '../simulators/door.ts'
import type { Anomaly, Consumption } from '../vocab/index.ts'
import { DAY, HOUR, type EvalPlan, type EvalSubject } from './scenarios.ts'
import { createEpisodes, judge } from './truth.ts'

const MIN = 60_000

export interface RunOptions {
  /** The detectors under test. Default: every detector, `createDetectors({ utcOffsetHours })`. */
  detectors?: Detector[]
  /** Answer false alerts with `falseAlarm` feedback, as the worker's outcome would. Default true. */
  feedback?: boolean
  /** Event time from a false alert to the worker's feedback. Default 2 h. */
  feedbackDelayMs?: number
  /** Meter reading interval. Default 15 min. */
  stepMs?: number
  /** Data time between calls of `tick(now)`. Default 5 min. */
  tickMs?: number
  /** Called after each simulated day. */
  onDay?: (day: number) => void
}

export interface RunResult {
  /** Everything the detectors said, in the order they said it. */
  anomalies: Anomaly[]
  samples: number
  ticks: number
  feedbacks: number
  /** Meters fed besides electricity: water meters that had readings. */
  waterMeters: number
  ms: number
}

interface Meter { subject: EvalSubject, deviceId: string, unit: 'kwh' | 'm3', reg: RegisterState | undefined }

export function simulate (subjects: readonly EvalSubject[], plan: EvalPlan, opts: RunOptions = {}): RunResult {
  const set = createDetectorSet(opts.detectors ?? createDetectors({ utcOffsetHours: plan.utcOffsetHours }))
  const tick = (now: number) => set.tick(now)
  const stepMs = opts.stepMs ?? 15 * MIN, tickMs = opts.tickMs ?? 5 * MIN
  const answer = opts.feedback ?? true, delay = opts.feedbackDelayMs ?? 2 * HOUR
  const from = plan.start, to = plan.start + plan.days * DAY
  const byId = new Map(subjects.map((s) => [s.subjectId, s]))
  const episodes = createEpisodes()
  const anomalies: Anomaly[] = []
  // Due feedback, kept sorted by time; few enough that an insertion is cheap.
  const due: Array<{ at: number, fb: Feedback }> = []
  const schedule = (at: number, fb: Feedback) => {
    let i = due.length
    while (i > 0 && due[i - 1]!.at > at) i--
    due.splice(i, 0, { at, fb })
  }
  for (const s of subjects) if (s.declaration) schedule(s.declaration.at, { subjectId: s.subjectId, awayFrom: s.declaration.awayFrom, awayUntil: s.declaration.awayUntil })

  const models = subjects.map((s) => createMeterModel(s.profile))
  const meters: Meter[] = subjects.map((s) => ({ subject: s, deviceId: s.deviceId, unit: 'kwh', reg: undefined }))
  const water = subjects.map((s) => s.water ? generateWaterReadings(s.profile, from, to) : null)
  const waterMeters: Meter[] = subjects.map((s) => ({ subject: s, deviceId: `w-${s.subjectId}`, unit: 'm3', reg: undefined }))
  const waterAt = new Array<number>(subjects.length).fill(0)
  const doors = subjects.map((s) => s.door ? generateDoorEvents(s.profile, from, to) : null)
  const doorAt = new Array<number>(subjects.length).fill(0)
  let samples = 0, ticks = 0, feedbacks = 0

  function said (out: readonly Anomaly[]) {
    for (const a of out) {
      anomalies.push(a)
      if (!episodes.opens(a) || !answer) continue
      if (judge(byId.get(a.subjectId), a.kind, a.observedAt).verdict === 'false') {
        schedule(a.observedAt + delay, { subjectId: a.subjectId, kind: a.kind, falseAlarm: true })
      }
    }
  }

  function read (m: Meter, ts: number, value: number, powerW?: number) {
    const { next, step: s } = step(m.reg, m.deviceId, { ts, value, ...(powerW !== undefined ? { powerW } : {}) })
    m.reg = next
    if (s.kind !== 'in_order') return
    const r = s.row, fault = r.implausible ? 'implausible' : r.reset ? 'reset' : null
    const c: Consumption = {
      subjectId: m.subject.subjectId, subjectKind: m.subject.subjectKind, deviceId: m.deviceId, street: m.subject.street, unit: m.unit, ts,
      intervalMs: r.intervalMs!, amount: r.amount ?? 0, ...(r.powerW !== null ? { powerW: r.powerW } : {}), ...(fault ? { registerFault: fault } : {}),
    }
    samples++
    said(set.update(c))
  }

  const t0 = performance.now()
  for (let ts = from; ts < to; ts += stepMs) {
    while (due.length > 0 && due[0]!.at <= ts) { set.feedback(due.shift()!.fb); feedbacks++ }
    for (let i = 0; i < subjects.length; i++) {
      // Door events come as they happen, before the meter's reading of the interval that holds them.
      const d = doors[i], s = subjects[i]!
      if (d) for (let k = doorAt[i]!; k < d.length && d[k]!.ts <= ts; k = ++doorAt[i]!) said(set.event({ subjectId: s.subjectId, subjectKind: s.subjectKind, deviceId: `d-${s.subjectId}`, ts: d[k]!.ts, event: 'door_open' }))
      const r = models[i]!.readingAt(ts)
      if (r !== null) read(meters[i]!, ts, r.kwh, r.w)
      const w = water[i]
      if (w) for (let k = waterAt[i]!; k < w.length && w[k]!.ts <= ts; k = ++waterAt[i]!) read(waterMeters[i]!, w[k]!.ts, w[k]!.m3)
    }
    for (let now = ts; now < ts + stepMs; now += tickMs) {
      said(tick(now))
      ticks++
    }
    if ((ts + stepMs - from) % DAY === 0) opts.onDay?.((ts + stepMs - from) / DAY)
  }
  return { anomalies, samples, ticks, feedbacks, waterMeters: water.filter((w) => w !== null).length, ms: performance.now() - t0 }
}
