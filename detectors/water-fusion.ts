/**
 * Fusing a lone elder's electricity and water inactivity into one episode.
 *
 * Two meters that agree are better evidence than either alone, and one that contradicts the
 * other is the commonest false alarm: an electricity meter stuck at standby while the taps run, a
 * water meter that stopped counting while the kettle boils. So, for a subject seen with both:
 * - both meters well on the way (score >= agreeScore each, 1 being a meter's own raise): raise
 *   at once, before either would alone (confidence `high`);
 * - one meter raised and the other silent, stale or not contradicting: raise as that meter
 *   alone would (confidence `medium`);
 * - one meter raised while the other shows use since the quiet began: hold it back, no page. It
 *   goes out as soon as the other goes quiet too (agreement) or stops reporting (stale). There is
 *   deliberately no "much stronger score" override: a stuck meter's score grows without bound
 *   while the household is fine, which is exactly the false page this is here to stop.
 * The meters' own inactivity anomalies stay inside; one episode goes out as detector `fusion`.
 * Per sample: one map lookup; for two-meter subjects, once an hour (or on a meter's anomaly, or
 * while an episode is open) two score() calls and one quietSince().
 */
import { z } from 'zod'
import type { Anomaly, Consumption, Severity } from '../vocab/index.ts'
import { SEVERITIES, Severity as SeveritySchema } from '../vocab/index.ts'
import { type Detector, type Feedback, parseSnapshot, takeAway, withConfidence } from './types.ts'
import { SubjectColumn, SubjectIndex } from './subject-index.ts'

export const FUSION = 'fusion'
const KIND = 'inactivity'
const HOUR = 3_600_000

export interface FusionOptions {
  /** Name of the electricity inactivity detector in the set. Default 'inactivity'. */
  powerDetector?: string
  /** Name of the water detector in the set (it must have score() and quietSince()). Default 'water'. */
  waterDetector?: string
  /** Both meters' scores at least this (1 is a meter's own raise): raise together, early. Default 0.8. */
  agreeScore?: number
  /** A meter with no sample for this many hours is stale: it neither agrees nor contradicts. Default 2. */
  staleHours?: number
  /** The subject index fusion's per-subject numbers are kept by (subject-index.ts). Default: the electricity detector's, else its own. */
  index?: SubjectIndex
  /** A meter this says is misbehaving (stuck, offline, corrupt) goes stale: it neither agrees nor contradicts. Default: none is. */
  suspect?: (deviceId: string) => boolean
  /** A meter contradicts only after this many days of data (before that its score means nothing). Default 7. */
  learnDays?: number
}

interface WaterLike extends Detector {
  score (subjectId: string): number
  quietSince (subjectId: string): number | null
}

/** What the set knows of one subject: its meters, their own inactivity episodes, and the one that went out. */
interface Sub {
  units: number
  firstKwh: number
  lastKwh: number
  firstM3: number
  lastM3: number
  power: Severity | null
  powerStart: number
  water: Severity | null
  waterStart: number
  /** The inactivity episode the alerts stage has open for this subject, from whichever detector said it. */
  out: Severity | null
  outStart: number
  muted: boolean
  awayFrom: number
  awayUntil: number
  /** The hour (ms / HOUR) of each meter's latest sample: scores move only as hours close. */
  hourKwh: number
  hourM3: number
}

const KWH = 1, M3 = 2, BOTH = 3
const rank = (s: Severity | null) => s === null ? -1 : SEVERITIES.indexOf(s)
const worst = (...xs: Array<Severity | null>): Severity => SEVERITIES[Math.max(1, ...xs.map(rank))]!

const t = z.number().finite()
const sev = SeveritySchema.nullable()
/** A subject's fusion record as JSON, so an open fused episode survives a restart. */
const SubSchema = z.object({
  units: z.number().int().min(0).max(BOTH), firstKwh: t, lastKwh: t, firstM3: t, lastM3: t,
  power: sev, powerStart: t, water: sev, waterStart: t, out: sev, outStart: t, muted: z.boolean(),
  awayFrom: t, awayUntil: t, hourKwh: t, hourM3: t,
})

export interface Fusion {
  readonly power: Detector
  readonly water: Detector
  /** Fusion's own per-subject record, for snapshots (the set lists it as a detector named `fusion`). */
  snapshot (subjectId: string): unknown
  restore (subjectId: string, raw: unknown): void
  subjects (): Iterable<string>
  fuse (sample: Consumption, out: Anomaly[], fromPower: Anomaly | null, fromWater: Anomaly | null): Anomaly[]
  feedback (fb: Feedback): void
}

/** null when the set lacks either detector: then there is nothing to fuse. */
export function createFusion (list: readonly Detector[], opts: FusionOptions = {}): Fusion | null {
  const power = list.find((d) => d.name === (opts.powerDetector ?? 'inactivity'))
  const water = list.find((d) => d.name === (opts.waterDetector ?? 'water')) as WaterLike | undefined
  if (power?.score === undefined || water?.score === undefined || typeof water.quietSince !== 'function') return null
  const powerScore = power.score.bind(power)
  const agree = opts.agreeScore ?? 0.8
  const staleMs = (opts.staleHours ?? 2) * HOUR
  const suspect = opts.suspect ?? (() => false)
  const learnMs = (opts.learnDays ?? 7) * 24 * HOUR
  const subs = new Map<string, Sub>()
  // Most subjects have an electricity meter only and nothing open: all fusion needs of them is
  // when their electricity began (firstKwh), until something happens (a meter's anomaly, a water
  // sample, feedback) and they get a whole record (promoted). 8 bytes a subject in a column by the
  // set's subject index (a Map entry and the epoch time's box were about 60), instead of 220.
  const kwhOnly = new SubjectColumn(opts.index ?? power.index ?? new SubjectIndex())

  function sub (id: string): Sub {
    let s = subs.get(id)
    if (s === undefined) {
      const first = kwhOnly.get(id)
      // Its last kWh sample is not kept: until the next one, electricity is stale to decide().
      if (first !== undefined) { s = record(first); kwhOnly.delete(id) }
      else s = { units: 0, firstKwh: 0, lastKwh: 0, firstM3: 0, lastM3: 0, power: null, powerStart: 0, water: null, waterStart: 0, out: null, outStart: 0, muted: false, awayFrom: 0, awayUntil: 0, hourKwh: 0, hourM3: 0 }
      subs.set(id, s)
    }
    return s
  }

  /** The whole record of a subject in kwhOnly (snapshots say it so). */
  const record = (first: number): Sub => ({ units: KWH, firstKwh: first, lastKwh: first, firstM3: 0, lastM3: 0, power: null, powerStart: 0, water: null, waterStart: 0, out: null, outStart: 0, muted: false, awayFrom: 0, awayUntil: 0, hourKwh: 0, hourM3: 0 })
  /** A record that says no more than its electricity's start: restored into kwhOnly. */
  const plain = (s: Sub) => { const r = record(s.firstKwh); return (Object.keys(r) as (keyof Sub)[]).every((k) => r[k] === s[k]) }

  /** A meter's own inactivity anomaly: note its episode. */
  function note (s: Sub, a: Anomaly, isPower: boolean) {
    const sev = a.phase === 'clear' ? null : a.severity
    if (isPower) { s.power = sev; s.powerStart = a.startedAt } else { s.water = sev; s.waterStart = a.startedAt }
  }

  /** Passed through for a one-meter subject: the alerts stage's episode follows it. */
  function follow (s: Sub, a: Anomaly) {
    if (a.phase === 'clear') { s.out = null; s.muted = false } else { if (s.out === null) s.outStart = a.startedAt; s.out = worst(s.out, a.severity) }
  }

  function decide (id: string, s: Sub, now: number): Anomaly | null {
    const e = powerScore(id), w = water!.score(id), wq = water!.quietSince(id)
    const powerLive = now - s.lastKwh <= staleMs && now - s.firstKwh >= learnMs
    const waterLive = now - s.lastM3 <= staleMs
    const waterUsed = wq !== null && wq >= s.firstM3
    const both = e >= agree && w >= agree
    // The other meter, live, shows use since this one's quiet began and has not gone quiet since.
    // Electricity does not say when its quiet run began: not agreeing is taken as use.
    const waterSaysUse = s.power !== null && waterLive && waterUsed && wq > s.powerStart && w < agree
    const powerSaysUse = s.water !== null && powerLive && e < agree
    const away = now > s.awayFrom && now < s.awayUntil
    const want = !away && (both || (s.power !== null && !waterSaysUse) || (s.water !== null && !powerSaysUse))
    const evidence = () => ({ electricityScore: +e.toFixed(2), waterScore: +w.toFixed(2), waterQuietSince: wq, electricity: s.power, water: s.water })
    if (want) {
      const severity = worst(s.power, s.water)
      if (s.out === null) {
        const starts = [s.power !== null ? s.powerStart : Infinity, s.water !== null ? s.waterStart : Infinity, both && wq !== null ? wq : Infinity]
        s.out = severity; s.outStart = Math.min(now, ...starts); s.muted = false
        return confident(anomaly(id, 'raise', severity, s.outStart, now, evidence()), both)
      }
      if (rank(severity) <= rank(s.out)) return null
      s.out = severity
      return s.muted ? null : confident(anomaly(id, 'update', severity, s.outStart, now, evidence()), both)
    }
    if (s.out === null) return null
    // An open episode is not cleared by electricity merely not looking quiet (a lamp left on when
    // someone falls): only by both meters' own episodes ending, water in use, or an absence.
    if (!away && !waterSaysUse && (s.power !== null || s.water !== null)) return null
    const severity = s.out
    s.out = null; s.muted = false
    const reason = away ? 'away' : waterSaysUse ? 'water in use' : powerSaysUse ? 'electricity in use' : 'activity'
    return confident(anomaly(id, 'clear', severity, s.outStart, now, { ...evidence(), reason }), both)
  }

  return {
    power,
    water,
    snapshot (id) {
      const s = subs.get(id)
      if (s !== undefined) return { ...s }
      const first = kwhOnly.get(id)
      return first === undefined ? undefined : record(first)
    },
    restore (id, raw) {
      const s = parseSnapshot('fusion', SubSchema, raw)
      subs.delete(id); kwhOnly.delete(id)
      if (plain(s)) kwhOnly.set(id, s.firstKwh)
      else subs.set(id, { ...s })
    },
    *subjects () { yield * subs.keys(); yield * kwhOnly.keys() },
    fuse (sample, out, fromPower, fromWater) {
      if (sample.subjectKind !== 'lone_elder') return out
      // A broken meter's samples keep it looking fresh while its score stands still: ignore them.
      if (sample.registerFault === 'implausible' || suspect(sample.deviceId)) return out
      const p = fromPower?.kind === KIND ? fromPower : null, w = fromWater?.kind === KIND ? fromWater : null
      // Electricity alone and nothing said: its start is all there is to keep.
      // (A subject is in kwhOnly or in subs, never both: one lookup for the common case.)
      if (sample.unit === 'kwh' && p === null && w === null) {
        if (kwhOnly.has(sample.subjectId)) return out
        if (!subs.has(sample.subjectId)) { kwhOnly.set(sample.subjectId, sample.ts); return out }
      }
      const s = sub(sample.subjectId)
      if (sample.unit === 'kwh') { if ((s.units & KWH) === 0) s.firstKwh = sample.ts; s.units |= KWH; s.lastKwh = sample.ts }
      else { if ((s.units & M3) === 0) s.firstM3 = sample.ts; s.units |= M3; s.lastM3 = sample.ts }
      if (p !== null) note(s, p, true)
      if (w !== null) note(s, w, false)
      if (s.units !== BOTH || sample.subjectKind !== 'lone_elder') {
        if (p !== null) follow(s, p)
        if (w !== null) follow(s, w)
        return out
      }
      const hour = Math.floor(sample.ts / HOUR)
      let turned: boolean
      if (sample.unit === 'kwh') { turned = hour !== s.hourKwh; s.hourKwh = hour } else { turned = hour !== s.hourM3; s.hourM3 = hour }
      // Nothing can be raised between hour closes unless a meter said so; an open episode is watched throughout.
      if (p === null && w === null && s.out === null && !turned) return out
      const kept = p === null && w === null ? out : out.filter((a) => a !== p && a !== w)
      const f = decide(sample.subjectId, s, sample.ts)
      return f === null ? kept : [...kept, f]
    },
    feedback (fb) {
      if (fb.kind !== undefined && fb.kind !== KIND) return
      const s = kwhOnly.has(fb.subjectId) ? sub(fb.subjectId) : subs.get(fb.subjectId)
      if (s === undefined) return
      takeAway(s, fb)
      if (fb.falseAlarm && s.out !== null) s.muted = true
    },
  }
}

function anomaly (subjectId: string, phase: Anomaly['phase'], severity: Severity, startedAt: number, observedAt: number, evidence: Record<string, unknown>): Anomaly {
  return { subjectId, detector: FUSION, kind: KIND, phase, severity, startedAt, observedAt, evidence }
}

/** Both meters quiet is strong evidence; one meter quiet with the other silent or agreeing, less so. */
const confident = (a: Anomaly, both: boolean) => both
  ? withConfidence(a, 'high', 'electricity and water both quiet past this person\'s bounds')
  : withConfidence(a, 'medium', 'one meter quiet past this person\'s bounds, the other without data or not contradicting it')
