/**
 * What one sample says about its meter: data arriving again (offline over), a register flagged by
 * ingest (meter_fault), a register that stopped counting (meter_stuck). Each rule is a few
 * comparisons on the device's record; none allocates unless it has something to say.
 */
import type { Consumption } from '../vocab/index.ts'
import { FAULT, HOUR, INFO, NO_FAULT, type Device } from './meter-health-state.ts'

export const METER_OFFLINE_KIND = 'meter_offline'
export const METER_STUCK_KIND = 'meter_stuck'
export const METER_FAULT_KIND = 'meter_fault'

/** Resolved, frozen options; see MeterHealthOptions in meter-health.ts for meaning and defaults. */
export interface Config {
  minOfflineMs: number
  lagFactor: number
  lagMemoryMs: number
  liveWithinMs: number
  minSilenceMs: number
  silenceFactor: number
  minZeroMs: number
  zeroFactor: number
  maxZeroShare: number
  warmupMs: number
  poweredReadings: number
  resetWindowMs: number
  infoHoldMs: number
  faultHoldMs: number
}

/** What a rule wants said about a device; the factory turns it into an Anomaly of the device's subject. */
export interface Verdict {
  kind: string
  phase: 'raise' | 'clear'
  startedAt: number
  evidence: Record<string, unknown>
}

export const hours = (ms: number) => Math.round(ms / HOUR * 10) / 10
const meter = (d: Device) => `${d.unit === 'm3' ? 'Water' : 'Electricity'} meter ${d.id}`
const say = (kind: string, phase: Verdict['phase'], startedAt: number, d: Device, reason: string, more: Record<string, unknown>): Verdict =>
  ({ kind, phase, startedAt, evidence: { deviceFault: true, deviceId: d.id, unit: d.unit, reason, ...more } })

/** Behind the data clock by more than this, a device is offline. */
export const offlineLimit = (cfg: Config, d: Device) => Math.max(cfg.minOfflineMs, cfg.lagFactor * d.lag)

/** A live device silent (by the wall clock) for more than this is offline. */
export const silenceLimit = (cfg: Config, d: Device) => Math.max(cfg.minSilenceMs, cfg.silenceFactor * Math.max(d.cadence, d.step))

/** Its history says it (almost) never reads zero: a home's standby never stops. */
export const neverZero = (cfg: Config, d: Device) => d.learned >= cfg.warmupMs && d.zeroMs <= cfg.maxZeroShare * d.learned

export function offlineRaise (d: Device, observedAt: number, judgedBy: 'data clock' | 'wall clock'): Verdict {
  d.offline = d.last
  const silent = observedAt - d.last
  const usual = d.step > 2 * d.cadence ? `its data usually comes every ${hours(d.step)} h` : `it usually reports every ${Math.round(d.cadence / 60_000)} min`
  return say(METER_OFFLINE_KIND, 'raise', d.last, d, `${meter(d)} has sent no readings for ${hours(silent)} h (${usual}). Check its power and its connection.`,
    { silentHours: hours(silent), judgedBy, usualLagHours: hours(d.lag) })
}

/**
 * Data arriving: ends an offline episode (however long the gap, a raise now would be stale),
 * else learns the device's cadence and how far behind the data clock (`clock.top2`, passed as the
 * object: a number passed is boxed) it usually is.
 */
export function arrive (cfg: Config, d: Device, c: Consumption, clock: { top2: number }): Verdict | null {
  const first = d.last < 0, dataNow = clock.top2
  if (d.offline >= 0) {
    const gap = c.ts - c.intervalMs > d.offline ? c.ts - d.offline : c.intervalMs
    const v = say(METER_OFFLINE_KIND, 'clear', d.offline, d, `${meter(d)} is sending again after ${hours(gap)} h without data.`, { gapHours: hours(gap) })
    d.offline = -1
    return v
  }
  if (!first) {
    // A one-off long interval is a gap: it barely moves the cadence; a lasting change is learned in ~100 samples.
    const iv = c.intervalMs, cad = d.cadence
    d.cadence = Math.round(iv <= 2 * cad ? cad + (iv - cad) / 8 : cad + (Math.min(iv, 4 * cad) - cad) / 64)
  }
  if (dataNow > -Infinity) {
    const behind = Math.max(0, dataNow - (first ? c.ts - c.intervalMs : d.last))
    // Peak-hold, fading with data time (not sample count): a daily uploader keeps its day of lag
    // even when, some days, it happens to upload first.
    if (behind <= offlineLimit(cfg, d)) d.lag = Math.max(behind, Math.round(d.lag * (1 - Math.min(1, c.intervalMs / cfg.lagMemoryMs))))
  }
  return null
}

/**
 * Samples flagged by ingest. One reset (no other within resetWindow) is a meter swap: information,
 * held for infoHold. Another reset within the window, or an implausible jump, is a faulty
 * register, held for faultHold after its last bad reading. A clean sample after the hold clears.
 */
export function registerFault (cfg: Config, d: Device, c: Consumption): Verdict | null {
  const f = c.registerFault
  if (f === undefined) {
    if (d.faultLevel === NO_FAULT || c.ts <= d.faultUntil) return null
    const held = d.faultLevel === FAULT ? cfg.faultHoldMs : cfg.infoHoldMs
    const v = say(METER_FAULT_KIND, 'clear', d.faultFrom, d, `${meter(d)} has counted normally for ${hours(held)} h since its last register fault.`, {})
    d.faultLevel = NO_FAULT; d.faultFrom = -1; d.faultUntil = -1
    return v
  }
  const repeated = f === 'reset' && d.lastReset >= 0 && c.ts - d.lastReset <= cfg.resetWindowMs
  const level = f === 'implausible' || repeated ? FAULT : INFO
  if (f === 'reset') d.lastReset = c.ts
  d.faultUntil = Math.max(d.faultUntil, c.ts + (level === FAULT ? cfg.faultHoldMs : cfg.infoHoldMs))
  if (d.faultLevel !== NO_FAULT) { d.faultLevel = Math.max(d.faultLevel, level); return null }
  d.faultLevel = level; d.faultFrom = c.ts - c.intervalMs
  const reason = f === 'implausible'
    ? `${meter(d)} jumped by more than a home can draw: its register cannot be trusted. Check or replace the meter.`
    : repeated
      ? `${meter(d)}'s register went back twice within ${hours(cfg.resetWindowMs) / 24} days: a faulty register. Check or replace the meter.`
      : `${meter(d)}'s register started again from zero: a new meter was fitted or it was reset. If no swap was planned, check it.`
  return say(METER_FAULT_KIND, 'raise', d.faultFrom, d, reason, { registerFault: f, repeated, information: level === INFO })
}

/**
 * A register that stops while the household goes on: exactly zero for many hours on a meter that
 * (almost) never read zero, or zero over a few readings whose reported power should have moved
 * it by at least half its resolution. Zero-run time and the longest run are learned only when a
 * run ends healthy. An implausible sample (amount 0 by convention) is a gap: it is not zero use.
 */
export function stuck (cfg: Config, d: Device, c: Consumption): Verdict | null {
  if (c.registerFault === 'implausible') return null
  if (c.amount > 0) {
    if (d.minPos === 0 || c.amount < d.minPos) d.minPos = c.amount
    let v: Verdict | null = null
    if (d.stuck >= 0) {
      v = say(METER_STUCK_KIND, 'clear', d.stuck, d, `${meter(d)} is counting again after ${hours(c.ts - c.intervalMs - d.stuck)} h at zero.`, { zeroHours: hours(c.ts - c.intervalMs - d.stuck) })
      d.stuck = -1
    } else if (d.zeroFrom >= 0) {
      const run = Math.max(0, c.ts - c.intervalMs - d.zeroFrom)
      d.zeroMs += run; d.learned += run
      if (run > d.longestZero) d.longestZero = run
    }
    d.zeroFrom = -1; d.powered = 0
    if (v === null) d.learned += c.intervalMs
    return v
  }
  if (d.zeroFrom < 0) { d.zeroFrom = c.ts - c.intervalMs; d.powered = 0 }
  if (d.unit === 'kwh' && c.powerW !== undefined && d.minPos > 0 && c.powerW * c.intervalMs / 3.6e9 >= 0.5 * d.minPos) d.powered++
  if (d.stuck >= 0) return null
  const run = c.ts - d.zeroFrom
  const byTime = neverZero(cfg, d) && run >= Math.max(cfg.minZeroMs, cfg.zeroFactor * d.longestZero)
  if (!byTime && d.powered < cfg.poweredReadings) return null
  d.stuck = d.zeroFrom
  const why = d.powered >= cfg.poweredReadings
    ? `its register has not moved for ${hours(run)} h while it reports ${Math.round(c.powerW ?? 0)} W in use`
    : `it has read exactly zero for ${hours(run)} h, though this home has always used something (a fridge, a router)`
  return say(METER_STUCK_KIND, 'raise', d.stuck, d, `${meter(d)} looks stuck: ${why}. Check the meter.`,
    { zeroHours: hours(run), poweredReadings: d.powered, ...(c.powerW !== undefined ? { powerW: c.powerW } : {}) })
}
