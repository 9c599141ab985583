/**
 * Lone-elder night load (kind `night_load`): a heater, a hot plate or an oven left on far into the
 * night, seen as use held far above this person's usual level through hours they usually sleep.
 *
 * Samples are spread into hourly buckets on the local clock by event time only (hours.ts), so a
 * replay at any speed gives the same anomalies. Each closed hour teaches two things: the usual energy of
 * that hour of day (a low level tracked from below: standby, the fridge, a water heater that
 * reheats at the same minutes every night) and whether it was at about standby (night-load-state.ts
 * keeps 14 days of that as bits). An hour of the clock's night (22:00-06:00) is usually night when it was at standby on most learned
 * days. A raise needs two consecutive usually-night hours each over max(usual + minExcessWh,
 * usualFactor x usual): a kettle, a microwave or a late evening of lights and TV never fill two
 * such hours, a 1-2 kW heater does. The second hour raises as soon as its energy so far crosses
 * the line, so a heater is reported about an hour after it was left on. The episode clears once
 * half an hour runs below that line's pace; an away window does not quiet it (a heater left on in
 * an empty flat is still a fire risk), it only keeps those days out of the learned night.
 */
import type { Anomaly, Consumption } from '../vocab/index.ts'
import { finiteOptions, mergeVerdicts, r4, takeAway, type Detector, type DetectorOptions, type Feedback } from './types.ts'
import { HOUR, MAX_WINDOW, State, freshState, fromSnapshot, hourOf, toSnapshot } from './night-load-state.ts'
import { closeHour, hourStart, judgeSoFar, nightOf, scoreOf, type Config, type Verdict } from './night-load-judge.ts'
import { CLOSE, ownHours, type ElectricityHours } from './electricity-hours.ts'
import { SubjectIndex, SubjectPlaces } from './subject-index.ts'

export const NIGHT_LOAD_KIND = 'night_load'

export interface NightLoadOptions extends DetectorOptions {
  /** Days of habits kept per hour of day, to learn the usual night from; at most 15 (16-bit masks, their count a 1 above them). Default 14. */
  windowDays?: number
  /** An hour of day is judged only once learned on this many days. Default 7. */
  warmupDays?: number
  /** An hour of day is usually night when it was at about standby on at least this share of learned days. Default 0.6. */
  nightShare?: number
  /** "About standby": at most this many Wh over the person's quietest usual hour. Default 60. */
  quietMarginWh?: number
  /** A day teaches the usual night only if some hour of it was this many Wh over standby (someone cooked, boiled water): an empty home's days do not. Default 300. */
  livedInWh?: number
  /** An hour is loaded when its use is at least this many Wh over its usual... Default 600 (a late evening of lights and TV stays under it). */
  minExcessWh?: number
  /** ... and at least this many times its usual. Default 4. */
  usualFactor?: number
  /** The usual energy of an hour steps this share of the way up towards a busier hour (at most to twice the usual)... Default 0.15. */
  usualRise?: number
  /** ... and this share of the way down towards a quieter one. Default 0.5. */
  usualFall?: number
  /** Hours after the raise, the load still on, at which severity becomes high. Default 2. */
  escalateAfterHours?: number
  /** An open episode clears once this many minutes of an hour run below the loaded pace. Default 30. */
  clearAfterMinutes?: number
  /** A sample spanning more hours than this is a data gap, not spread. Default 48. */
  maxSpanHours?: number
  /** A false alarm multiplies the subject's threshold by this. Default 1.25. */
  falseAlarmFactor?: number
  /** The threshold is never raised past this multiple of the configured one. Default 2.5. */
  maxScale?: number
  /** The usual night is only ever found in the clock's night, local hours [nightFrom, 24) and [0, nightUntil) (a working household's empty day is at standby too). Defaults 22 and 6; 0 and 24: any hour. */
  nightFrom?: number
  nightUntil?: number
  /** The subjects' electricity by hour, shared with inactivity (createDetectors); its clock and maxSpanMs must be this detector's. Default: its own. */
  hours?: ElectricityHours
}

/** Bits of the local hours in [from, 24) and [0, until) when from > until, else [from, until). */
function clockMask (from: number, until: number): number {
  if (!(Number.isInteger(from) && Number.isInteger(until) && from >= 0 && from <= 24 && until >= 0 && until <= 24)) throw new RangeError('night_load options nightFrom and nightUntil must be whole hours in [0, 24]')
  let m = 0
  for (let d = 0; d < 24; d++) if (from < until ? d >= from && d < until : d >= from || d < until) m |= 1 << d
  return m
}

function resolve (o: NightLoadOptions): Config {
  const cfg: Config = {
    offsetMs: (o.utcOffsetHours ?? 8) * HOUR,
    window: o.windowDays ?? 14,
    warmup: o.warmupDays ?? 7,
    nightShare: o.nightShare ?? 0.6,
    quietMarginWh: o.quietMarginWh ?? 60,
    livedInWh: o.livedInWh ?? 300,
    minExcessWh: o.minExcessWh ?? 600,
    usualFactor: o.usualFactor ?? 4,
    usualRise: o.usualRise ?? 0.15,
    usualFall: o.usualFall ?? 0.5,
    escalateMs: (o.escalateAfterHours ?? 2) * HOUR,
    clearAfterMs: (o.clearAfterMinutes ?? 30) * 60_000,
    maxSpanMs: (o.maxSpanHours ?? 48) * HOUR,
    falseAlarmFactor: o.falseAlarmFactor ?? 1.25,
    maxScale: o.maxScale ?? 2.5,
    clockMask: clockMask(o.nightFrom ?? 22, o.nightUntil ?? 6),
  }
  finiteOptions('night_load', cfg)
  if (!(Number.isInteger(cfg.window) && cfg.window >= 1 && cfg.window <= MAX_WINDOW)) throw new RangeError(`night_load option windowDays must be an integer in [1, ${MAX_WINDOW}]`)
  if (!(cfg.warmup >= 1 && cfg.warmup <= cfg.window)) throw new RangeError('night_load option warmupDays must be in [1, windowDays]')
  if (!(cfg.clearAfterMs > 0 && cfg.clearAfterMs <= HOUR)) throw new RangeError('night_load option clearAfterMinutes must be in (0, 60]')
  return Object.freeze(cfg)
}


export function createNightLoadDetector (opts: NightLoadOptions = {}): Detector {
  const cfg = resolve(opts)
  const suspect = opts.suspect ?? (() => false)
  const index = opts.index ?? new SubjectIndex()
  // Each subject's state is a place (slab.ts), read through the cursor `cur` (night-load-state.ts State).
  const states = new SubjectPlaces(index)
  // States are cut from the hour records' slab: the set's one, freed with the set.
  const hrs = ownHours('night_load', opts.hours, cfg.offsetMs, cfg.maxSpanMs)
  const cur = new State(new Map(), hrs.slab)
  hrs.hold((id) => { const loc = states.get(id); return loc < 0 ? -1 : hourOf(hrs.slab, loc) })

  /** The cursor on subject `id`'s state (a fresh state when it has none and `make`); null when it has none. */
  function stateOf (id: string, make: boolean): State | null {
    const i = make ? index.add(id) : index.find(id), loc = states.at(i)
    if (loc >= 0) return cur.on(i, loc)
    if (!make) return null
    states.put(i, freshState(cur, i, hrs.of(id)))
    return cur
  }
  /** The last feed of `hrs` this detector has taken (ElectricityHours.feed). */
  let seen = 0

  function ingest (s: State, c: Consumption): Verdict | null {
    const f = hrs.feed(s.h, c, seen)
    seen = f.seq
    if (!f.fresh) return null
    const end = f.end, x = f.closes
    let out: Verdict | null = null
    for (let i = 0; i < f.n * CLOSE; i += CLOSE) out = mergeVerdicts(out, closeHour(cfg, s, x, i))
    if (f.gap) { s.prevHour = -1; return out }
    return end === hourStart(cfg, s.h.hour) ? out : mergeVerdicts(out, judgeSoFar(cfg, s))
  }

  return {
    name: NIGHT_LOAD_KIND,
    index,
    update (c: Consumption): Anomaly | null {
      if (c.subjectKind !== 'lone_elder' || c.unit !== 'kwh' || c.registerFault === 'implausible' || suspect(c.deviceId)) return null
      if (!Number.isFinite(c.ts) || !(c.intervalMs > 0 && c.intervalMs < Infinity) || !(c.amount >= 0 && c.amount < Infinity)) return null
      const v = ingest(stateOf(c.subjectId, true)!, c)
      if (v === null) return null
      return { subjectId: c.subjectId, detector: NIGHT_LOAD_KIND, kind: NIGHT_LOAD_KIND, phase: v.phase, severity: v.severity, startedAt: v.startedAt, observedAt: c.ts, evidence: v.evidence }
    },
    feedback (fb: Feedback) {
      // Away is about the person, whatever alert it came with; awayUntil 0 cancels.
      const known = stateOf(fb.subjectId, false)
      if (known !== null) takeAway(known, fb)
      if (!fb.falseAlarm || fb.kind !== NIGHT_LOAD_KIND) return
      const s = stateOf(fb.subjectId, true)!
      s.scale = r4(Math.min(cfg.maxScale, s.scale * cfg.falseAlarmFactor))
      if (s.ep) s.ep.muted = true
    },
    snapshot (subjectId: string) {
      const s = stateOf(subjectId, false)
      return s === null ? undefined : toSnapshot(s)
    },
    restore (subjectId: string, state: unknown) {
      const i = index.add(subjectId)
      states.put(i, fromSnapshot(state, cur, i, hrs.of(subjectId), (r) => nightOf(cfg, r)))
    },
    subjects () { return states.keys() },
    score (subjectId: string) {
      const s = stateOf(subjectId, false)
      return s === null ? 0 : scoreOf(cfg, s)
    },
  }
}
