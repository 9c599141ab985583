import { GridcareError } from '../errors/index.ts'

export type Period = 'week' | 'month'
const HOUR = 3_600_000
const DAY = 24 * HOUR

/** A report's period: `start` (local date), and [from, to) in UTC ms. */
export interface Range { period: Period, start: string, from: number, to: number }

const pad = (n: number) => String(n).padStart(2, '0')
/** A UTC-midnight ms as YYYY-MM-DD. */
const dateOf = (ms: number) => { const d = new Date(ms); return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` }

/** YYYY-MM-DD as UTC-midnight ms; a date that does not exist (2026-02-30) is refused. */
export function parseDate (s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s)
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN
  if (!m || Number.isNaN(ms) || dateOf(ms) !== s) throw new GridcareError('PERIOD_INVALID', `"${s}" is not a date (YYYY-MM-DD)`)
  return ms
}

/**
 * The week (Monday to Sunday) or calendar month containing a local date, with its bounds in
 * UTC: local midnights at `utcOffsetHours`.
 */
export function rangeOf (period: Period, date: string, utcOffsetHours: number): Range {
  const day = parseDate(date)
  const d = new Date(day)
  const startDay = period === 'week'
    ? day - ((d.getUTCDay() + 6) % 7) * DAY
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)
  const endDay = period === 'week' ? startDay + 7 * DAY : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)
  const shift = utcOffsetHours * HOUR
  return { period, start: dateOf(startDay), from: startDay - shift, to: endDay - shift }
}

/** YYYY-MM as its month's range. */
export function monthRange (month: string, utcOffsetHours: number): Range {
  return rangeOf('month', `${month}-01`, utcOffsetHours)
}

/** The local date of an instant. */
export const localDate = (now: number, utcOffsetHours: number) => dateOf(now + utcOffsetHours * HOUR)

/** The period `back` periods before the one containing `now` (1: the last complete one). */
export function periodBefore (period: Period, now: number, utcOffsetHours: number, back: number): Range {
  const current = rangeOf(period, localDate(now, utcOffsetHours), utcOffsetHours)
  const local = current.from + utcOffsetHours * HOUR
  if (period === 'week') return rangeOf('week', dateOf(local - back * 7 * DAY), utcOffsetHours)
  const d = new Date(local)
  return rangeOf('month', dateOf(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - back, 1)), utcOffsetHours)
}

export const monthOf = (r: Range) => r.start.slice(0, 7)
