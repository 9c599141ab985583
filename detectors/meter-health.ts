/**
 * Meter health: a device fault is a task for a technician, not a welfare alert. Three kinds, all
 * severity low, evidence flagged `deviceFault: true` with a `reason` a worker can act on:
 *
 * - meter_offline: no data past the expected interval. By the data's own clock in update(): the
 *   data clock is the latest event time reached by at least two devices (one device with a clock
 *   running ahead cannot make the rest look offline); at each new hour of it every device is
 *   checked, and one more than max(minOfflineHours, lagFactor x its usual lag) behind is offline.
 *   A concentrator's daily upload keeps its meters a day behind: that is their usual lag, so a
 *   replayed month raises nothing. By the wall clock in tick(now): only for live devices (data
 *   arriving close to `now`), silent for more than max(minSilenceHours, silenceFactor x their
 *   cadence or upload step). Replays are never live. Data arriving again clears, with the gap.
 * - meter_stuck and meter_fault: see meter-health-rules.ts.
 *
 * State is per device (Consumption.deviceId), both units, both subject kinds; anomalies name the
 * sample's subject, one episode per (subject, kind) even when the subject has several meters.
 * update() returns one anomaly; when a sample says more (a hourly check finding several offline
 * meters), the rest come out of the next update() or tick() calls, in the same order whatever
 * the speed of the replay.
 */
import type { Anomaly, Consumption } from '../vocab/index.ts'
import type { Detector, DetectorOptions, Feedback } from './types.ts'
import { SubjectIndex, SubjectPlaces } from './subject-index.ts'
import { Slab } from './slab.ts'
import { Device, Devices, FAULT, HOUR, dropDevice, freshDevice, fromSnapshot, toSnapshot } from './meter-health-state.ts'
import {
  METER_FAULT_KIND, METER_OFFLINE_KIND, METER_STUCK_KIND, arrive, neverZero, offlineLimit, offlineRaise, registerFault, silenceLimit, stuck,
  type Config, type Verdict,
} from './meter-health-rules.ts'

export { METER_FAULT_KIND, METER_OFFLINE_KIND, METER_STUCK_KIND } from './meter-health-rules.ts'
export const METER_HEALTH_KINDS: readonly string[] = Object.freeze([METER_OFFLINE_KIND, METER_STUCK_KIND, METER_FAULT_KIND])

export interface MeterHealthOptions extends DetectorOptions {
  /** By the data clock, a device is never offline less than this far behind it. Default 26. */
  minOfflineHours?: number
  /** ... and is offline beyond this many times its usual lag behind it. Default 3. */
  lagFactor?: number
  /** The usual lag is the largest seen, fading by 1/e over this many days of data. Default 30. */
  lagMemoryDays?: number
  /** A device is live when its data arrives within this many hours of the wall clock. Default 2. */
  liveWithinHours?: number
  /** By the wall clock, a live device is never offline after less silence than this. Default 1. */
  minSilenceHours?: number
  /** ... and is offline after this many times its cadence (or upload step, if longer) of silence. Default 3. */
  silenceFactor?: number
  /** A run of exactly zero raises meter_stuck once it lasts this many hours... Default 6. */
  minZeroHours?: number
  /** ... and this many times the device's longest healthy zero run. Default 2. */
  zeroFactor?: number
  /** ... on a device whose learned time was at most this share zero (water meters are not). Default 0.02. */
  maxZeroShare?: number
  /** Hours of learned data before zero runs are judged. Default 48. */
  warmupHours?: number
  /** Zero readings with enough reported power to have moved the register that raise meter_stuck at once. Default 3. */
  poweredReadings?: number
  /** A second register reset within this many days is a fault; a lone one is a meter swap. Default 30. */
  resetWindowDays?: number
  /** A lone reset's episode clears at the first clean sample this many hours after it. Default 24. */
  infoHoldHours?: number
  /** A faulty register's episode clears at the first clean sample this many days after its last fault. Default 7. */
  faultHoldDays?: number
}

/** A Detector that can also say which devices' data should not be read as the household's. */
export interface MeterHealthDetector extends Detector {
  /**
   * True while the device is offline, stuck or has a faulty register (not a lone meter swap), and
   * from the first exact-zero reading of a meter that is never zero: its samples are the meter's,
   * not the household's. Unknown devices are not suspect.
   */
  isSuspect (deviceId: string): boolean
  tick (now: number): Anomaly[]
}

function resolve (o: MeterHealthOptions): Config {
  const cfg: Config = {
    minOfflineMs: (o.minOfflineHours ?? 26) * HOUR,
    lagFactor: o.lagFactor ?? 3,
    lagMemoryMs: (o.lagMemoryDays ?? 30) * 24 * HOUR,
    liveWithinMs: (o.liveWithinHours ?? 2) * HOUR,
    minSilenceMs: (o.minSilenceHours ?? 1) * HOUR,
    silenceFactor: o.silenceFactor ?? 3,
    minZeroMs: (o.minZeroHours ?? 6) * HOUR,
    zeroFactor: o.zeroFactor ?? 2,
    maxZeroShare: o.maxZeroShare ?? 0.02,
    warmupMs: (o.warmupHours ?? 48) * HOUR,
    poweredReadings: o.poweredReadings ?? 3,
    resetWindowMs: (o.resetWindowDays ?? 30) * 24 * HOUR,
    infoHoldMs: (o.infoHoldHours ?? 24) * HOUR,
    faultHoldMs: (o.faultHoldDays ?? 7) * 24 * HOUR,
  }
  for (const [k, v] of Object.entries(cfg)) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`meter-health option ${k} is not a finite number >= 0`)
  }
  return Object.freeze(cfg)
}

const isOpen = (d: Device, kind: string) =>
  kind === METER_OFFLINE_KIND ? d.offline >= 0 : kind === METER_STUCK_KIND ? d.stuck >= 0 : d.faultLevel !== 0

export function createMeterHealthDetector (opts: MeterHealthOptions = {}): MeterHealthDetector {
  const cfg = resolve(opts)
  const name = 'meter_health'
  // Devices by id: their places (slab.ts locs), read through cursors (meter-health-state.ts Device). Their
  // numbers are cut from this detector's own slab, freed with it.
  const all = new Devices(new Slab())
  const devices = new Map<string, number>()
  // Cursors: `cur` the device being judged; `other` another of its subject's; `ask` isSuspect()'s; `said` snapshots'.
  const cur = new Device(all), other = new Device(all), ask = new Device(all), said = new Device(all)
  let memoId: string | undefined, memoLoc = -1
  // A subject's devices: the first device's place by subject number (most have one), the rest in `more`.
  const index = opts.index ?? new SubjectIndex()
  const first = new SubjectPlaces(index)
  const more = new Map<number, number[]>()
  const devicesOf = (subject: string): readonly number[] => {
    const i = index.find(subject), loc = first.at(i)
    if (loc < 0) return []
    const rest = more.get(i)
    return rest === undefined ? [loc] : [loc, ...rest]
  }
  const idOf = (loc: number) => other.at(loc).id
  const byId = (a: number, b: number) => { const x = idOf(a), y = idOf(b); return x < y ? -1 : x > y ? 1 : 0 }
  // The data clock: the two latest event times reached by distinct devices; `top2` is "now". Fields of
  // one object, not variables of the closure: a number written to those is boxed anew (16 bytes) each time.
  const clock = { top1: -Infinity, top2: -Infinity, checkedHour: -Infinity }
  let top1Id = ''
  // Wall-clock watch: silence counts only from when ticks began (again), so a restart after
  // downtime does not find every live meter silent before its next reading had a chance to come.
  let watchFrom = -Infinity, lastNow = -Infinity
  const pending: Anomaly[] = []
  let head = 0

  function observe (id: string, ts: number) {
    if (ts > clock.top1) {
      if (id !== top1Id) { clock.top2 = clock.top1; top1Id = id }
      clock.top1 = ts
    } else if (id !== top1Id && ts > clock.top2) clock.top2 = ts
  }

  /** Queues a device's verdict as its subject's anomaly, unless another meter of the subject holds that episode open. */
  function emit (d: Device, v: Verdict | null, observedAt: number) {
    if (v === null) return
    const subject = d.subject, rest = more.get(index.find(subject))
    if (rest !== undefined && devicesOf(subject).some((o) => o !== d.loc && isOpen(other.at(o), v.kind))) return
    pending.push({ subjectId: subject, detector: name, kind: v.kind, phase: v.phase, severity: 'low', startedAt: v.startedAt, observedAt, evidence: v.evidence })
  }

  function next (): Anomaly | null {
    if (head === pending.length) return null
    const a = pending[head++]!
    if (head === pending.length) { pending.length = 0; head = 0 }
    return a
  }

  function add (d: Device) {
    devices.set(d.id, d.loc); memoId = undefined
    const i = index.add(d.subject), had = first.at(i)
    if (had < 0) first.put(i, d.loc)
    else { const rest = more.get(i); if (rest === undefined) more.set(i, [d.loc]); else rest.push(d.loc) }
    if (d.last >= 0) observe(d.id, d.last)
  }

  /** Takes a device out of its subject's devices. */
  function unlist (d: Device) {
    const i = index.find(d.subject)
    const rest = devicesOf(d.subject).filter((o) => o !== d.loc)
    first.put(i, rest.length === 0 ? -1 : rest[0]!)
    if (rest.length <= 1) more.delete(i); else more.set(i, rest.slice(1))
  }

  /** Forgets a device (moved to another subject, or superseded by a newer meter), clearing what it held open. */
  function retire (d: Device, at: number, reason: string) {
    const closing: Verdict[] = []
    for (const kind of METER_HEALTH_KINDS) {
      if (isOpen(d, kind)) closing.push({ kind, phase: 'clear', startedAt: kind === METER_OFFLINE_KIND ? d.offline : kind === METER_STUCK_KIND ? d.stuck : d.faultFrom, evidence: { deviceFault: true, deviceId: d.id, reason } })
    }
    d.offline = -1; d.stuck = -1; d.faultLevel = 0
    for (const v of closing) emit(d, v, at)
    devices.delete(d.id); memoId = undefined
    unlist(d)
    dropDevice(d)
  }

  /** The hourly check by the data clock: every device far behind it is offline, or superseded. */
  function checkAll () {
    clock.checkedHour = Math.floor(clock.top2 / HOUR)
    let found: number[] | null = null
    for (const loc of devices.values()) {
      const d = cur.at(loc)
      if (d.offline >= 0 || clock.top2 - d.last <= offlineLimit(cfg, d)) continue
      ;(found ??= []).push(loc)
    }
    if (found === null) return
    for (const loc of found.sort(byId)) {
      const d = cur.at(loc)
      const newer = devicesOf(d.subject).some((o) => o !== loc && other.at(o).unit === d.unit && other.last > d.last && other.offline < 0)
      if (newer) retire(d, clock.top2, `${d.id} was replaced by another meter`)
      else emit(d, offlineRaise(d, clock.top2, 'data clock'), clock.top2)
    }
  }

  return {
    name,
    index,
    update (c: Consumption): Anomaly | null {
      if (c.unit !== 'kwh' && c.unit !== 'm3') return null
      if (!(c.ts > 0 && c.ts < Infinity) || !(c.intervalMs > 0 && c.intervalMs < Infinity) || !(c.amount >= 0 && c.amount < Infinity)) return null
      const loc = devices.get(c.deviceId)
      let d: Device | undefined = loc === undefined ? undefined : cur.at(loc)
      if (d !== undefined && (d.subject !== c.subjectId || d.unit !== c.unit)) { retire(d, c.ts, `${d.id} now meters ${c.subjectId}`); d = undefined }
      if (d === undefined) { d = freshDevice(cur, c.deviceId, c.subjectId, c.unit, c.ts, c.intervalMs); add(d) }
      if (c.ts <= d.last) return next()
      observe(d.id, c.ts)
      // Emitted only when there is a verdict: c.ts passed to emit() is boxed at each call.
      let v = arrive(cfg, d, c, clock)
      if (v !== null) emit(d, v, c.ts)
      v = registerFault(cfg, d, c)
      if (v !== null) emit(d, v, c.ts)
      v = stuck(cfg, d, c)
      if (v !== null) emit(d, v, c.ts)
      d.last = c.ts
      if (clock.top2 >= (clock.checkedHour + 1) * HOUR && clock.top2 > -Infinity) checkAll()
      return next()
    },
    tick (now: number): Anomaly[] {
      if (Number.isFinite(now)) {
        if (now < lastNow || now - lastNow > cfg.minSilenceMs) watchFrom = now
        lastNow = now
        let found: number[] | null = null
        for (const loc of devices.values()) {
          const d = cur.at(loc)
          if (d.last > d.tickLast) {
            // How far its data moved since the last tick: a live meter's interval, or a concentrator's
            // day. A move longer than would be called offline is a backlog after a gap: not learned.
            const jump = d.last - d.tickLast
            if (d.step === 0) d.step = jump
            else if (jump <= silenceLimit(cfg, d)) d.step = jump > d.step ? jump : Math.round(d.step + (jump - d.step) / 8)
            d.live = Math.abs(now - d.last) <= cfg.liveWithinMs
            d.tickLast = d.last
          }
          if (d.live && d.offline < 0 && now - Math.max(d.last, watchFrom) > silenceLimit(cfg, d)) (found ??= []).push(loc)
        }
        if (found !== null) for (const loc of found.sort(byId)) { const d = cur.at(loc); emit(d, offlineRaise(d, now, 'wall clock'), now) }
      }
      const out: Anomaly[] = []
      for (let a = next(); a !== null; a = next()) out.push(a)
      return out
    },
    feedback (fb: Feedback) {
      if (!fb.falseAlarm || (fb.kind !== METER_OFFLINE_KIND && fb.kind !== METER_STUCK_KIND)) return
      for (const loc of devicesOf(fb.subjectId)) {
        const d = cur.at(loc)
        if (fb.kind === METER_STUCK_KIND && d.zeroFrom >= 0) {
          // Zero really was this home's use (mains off while away): a run must now outlast this one.
          d.longestZero = Math.max(d.longestZero, d.last - d.zeroFrom)
        } else if (fb.kind === METER_OFFLINE_KIND && d.offline >= 0) {
          if (clock.top2 > d.last) d.lag = Math.max(d.lag, clock.top2 - d.last)
          d.live = false
        }
      }
    },
    snapshot (subjectId: string) {
      const list = devicesOf(subjectId)
      return list.length > 0 ? toSnapshot(said, list) : undefined
    },
    restore (subjectId: string, state: unknown) {
      const list = fromSnapshot(cur, subjectId, state)
      for (const loc of devicesOf(subjectId)) { const d = cur.at(loc); devices.delete(d.id); dropDevice(d) }
      memoId = undefined
      const i = index.add(subjectId)
      first.put(i, -1); more.delete(i)
      for (const loc of list) {
        const d = cur.at(loc), old = devices.get(d.id)
        if (old !== undefined) { const o = other.at(old); unlist(o); devices.delete(o.id); dropDevice(o); memoId = undefined }
        add(cur.at(loc))
      }
      if (clock.top2 > -Infinity) clock.checkedHour = Math.floor(clock.top2 / HOUR)
    },
    subjects () { return first.keys() },
    isSuspect (deviceId: string): boolean {
      // The welfare detectors ask about the device of the sample just taken, several times over.
      if (deviceId !== memoId) { memoId = deviceId; memoLoc = devices.get(deviceId) ?? -1 }
      if (memoLoc < 0) return false
      // Pointed again each time: another cursor may have given the device a rare record since (at() finds it).
      const d = ask.at(memoLoc)
      return d.offline >= 0 || d.stuck >= 0 || d.faultLevel === FAULT || (d.zeroFrom >= 0 && neverZero(cfg, d))
    },
  }
}
