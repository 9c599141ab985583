/**
 * Turns a meter's cumulative register into interval consumption, per device,
 * in event-time order, coping with duplicates, late readings and resets.
 */
export interface RegisterState { lastTs: number, lastReg: number }

export interface ReadingRow {
  deviceId: string
  ts: number
  register: number
  /** Consumption since the previous reading; null when unknown (first reading, late reading, implausible delta). */
  amount: number | null
  intervalMs: number | null
  powerW: number | null
  reset: boolean
  /** The delta is more than a home can draw (forward or after a reset): amount is null. */
  implausible?: boolean
  /** Earlier than the device's latest reading: its neighbours' amounts are recomputed when it is written. */
  late?: boolean
}

export type Step =
  | { kind: 'in_order', row: ReadingRow }
  | { kind: 'first', row: ReadingRow }
  | { kind: 'duplicate' }
  /** Earlier than the latest reading: stored, then its neighbours' amounts are recomputed in the store. */
  | { kind: 'late', row: ReadingRow }

/** The most a home plausibly draws, kW: a reset that implies more is not trusted. */
export const MAX_PLAUSIBLE_KW = 60

/** One reading against the device's state; updates the state. O(1). */
export function step (state: RegisterState | undefined, deviceId: string, r: { ts: number, value: number, powerW?: number }): { next: RegisterState, step: Step } {
  // Rows are built whole, one shape for all (no spreads, no property added later): this runs per reading.
  const powerW = r.powerW ?? null
  if (!state) {
    return { next: { lastTs: r.ts, lastReg: r.value }, step: { kind: 'first', row: row(deviceId, r.ts, r.value, null, null, powerW, false, false, false) } }
  }
  if (r.ts === state.lastTs) return { next: state, step: { kind: 'duplicate' } }
  if (r.ts < state.lastTs) return { next: state, step: { kind: 'late', row: row(deviceId, r.ts, r.value, null, null, powerW, false, false, true) } }
  const intervalMs = r.ts - state.lastTs
  let amount: number | null = r.value - state.lastReg
  let reset = false
  const plausible = MAX_PLAUSIBLE_KW * intervalMs / 3_600_000
  if (amount < 0) {
    // The register went back: a new meter or a rollover counts again from zero.
    reset = true
    amount = r.value <= plausible ? r.value : null
  } else if (amount > plausible) {
    // More than a home can draw: a corrupt register, not consumption.
    amount = null
  }
  return {
    next: { lastTs: r.ts, lastReg: r.value },
    step: { kind: 'in_order', row: row(deviceId, r.ts, r.value, amount, intervalMs, powerW, reset, amount === null, false) },
  }
}

const row = (deviceId: string, ts: number, register: number, amount: number | null, intervalMs: number | null, powerW: number | null, reset: boolean, implausible: boolean, late: boolean): ReadingRow =>
  ({ deviceId, ts, register, amount, intervalMs, powerW, reset, implausible, late })
