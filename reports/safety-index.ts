import { z } from 'zod'
import { GridcareError } from '../errors/index.ts'
import type { Figures } from './figures.ts'

export const COLOURS = ['green', 'yellow', 'orange', 'red'] as const
export type Colour = (typeof COLOURS)[number]

/** The figures a grid's month is scored on; each counts against the grid (higher is worse). */
export const INDEX_FIGURES = ['cases', 'welfare', 'safety', 'housing', 'reports', 'deviceFaults', 'escalations', 'missedDeadlineShare', 'falseAlarmShare', 'unresolved', 'selfResolved'] as const
export type IndexFigure = (typeof INDEX_FIGURES)[number]
export type IndexFigures = Record<IndexFigure, number> & { visitsAvoided: number }

/**
 * Default weights: points taken from 100 per unit of each figure. A safety case (smoke, a heater
 * at night, a leak, e-bike charging) weighs most; an escalation shows a missed deadline; the
 * share of tasks that missed a deadline counts up to 30 points; an unresolved task 4.
 */
export const DEFAULT_WEIGHTS: Record<IndexFigure, number> = {
  cases: 0, welfare: 2, safety: 6, housing: 3, reports: 2, deviceFaults: 0,
  escalations: 5, missedDeadlineShare: 30, falseAlarmShare: 0, unresolved: 4, selfResolved: 0,
}
/** Default colour thresholds: a score at or above `green` is green, else at or above `yellow` yellow, else at or above `orange` orange, else red. */
export const DEFAULT_THRESHOLDS = { green: 90, yellow: 75, orange: 60 }

export const Weights = z.object(Object.fromEntries(INDEX_FIGURES.map((f) => [f, z.number().min(0).max(1000).optional()])) as Record<IndexFigure, z.ZodOptional<z.ZodNumber>>).strict()
export const Thresholds = z.object({ green: z.number().min(0).max(100), yellow: z.number().min(0).max(100), orange: z.number().min(0).max(100) }).strict()
export interface IndexSettings { weights: Record<IndexFigure, number>, thresholds: z.infer<typeof Thresholds> }

export function checkThresholds (t: IndexSettings['thresholds']) {
  if (!(t.green > t.yellow && t.yellow > t.orange)) throw new GridcareError('INDEX_SETTINGS_INVALID', `thresholds must fall: green (${t.green}) > yellow (${t.yellow}) > orange (${t.orange})`)
}

/** A grid's month as the index's figures. */
export function indexFigures (f: Figures): IndexFigures {
  return {
    cases: f.cases,
    welfare: f.byCategory.welfare,
    safety: f.byCategory.safety,
    housing: f.byCategory.housing,
    reports: f.byCategory.report,
    deviceFaults: f.byCategory.device_fault,
    escalations: f.escalations,
    missedDeadlineShare: f.tasks ? Math.round((1 - f.withinDeadline.count / f.tasks) * 10_000) / 10_000 : 0,
    falseAlarmShare: f.falseAlarms.share ?? 0,
    unresolved: f.unresolved,
    selfResolved: f.selfResolved,
    visitsAvoided: f.visitsAvoided,
  }
}

/** 100 less the weighted figures, at least 0, one decimal; and its colour. */
export function score (figures: IndexFigures, s: IndexSettings): { score: number, colour: Colour } {
  const penalty = INDEX_FIGURES.reduce((sum, k) => sum + s.weights[k] * figures[k], 0)
  const value = Math.max(0, Math.round((100 - penalty) * 10) / 10)
  const t = s.thresholds
  const colour: Colour = value >= t.green ? 'green' : value >= t.yellow ? 'yellow' : value >= t.orange ? 'orange' : 'red'
  return { score: value, colour }
}
