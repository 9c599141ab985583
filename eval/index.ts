/**
 * The evaluation harness: labelled households simulated through every detector, scored against
 * their labels and set beside the product targets. `runEvaluation` does it all; the parts
 * (assignment, run, scoring, report) are exported for tests and other tools.
 */
import { assignSubjects, resolvePlan, type EvalOptions, type EvalSubject } from './scenarios.ts'
import { simulate, type RunOptions } from './run.ts'
import { scoreRun, type Score } from './score.ts'
import { formatReport, targets, type RunFacts, type Target } from './report.ts'

export { assignSubjects, resolvePlan, FIRST_SCENARIO_DAY, MIN_DAYS, type Case, type EvalOptions, type EvalPlan, type EvalSubject } from './scenarios.ts'
export { EXPECTED, METER_GROUP, createEpisodes, expectationOf, isLabelled, judge, type Expectation, type Judgement, type Verdict } from './truth.ts'
export { simulate, type RunOptions, type RunResult } from './run.ts'
export { quantiles, scoreRun, type Score, type ScoreOptions, type ScoreRow, type SubjectKindTotals } from './score.ts'
export { formatReport, targets, type RunFacts, type Target } from './report.ts'

export interface Evaluation {
  facts: RunFacts
  score: Score
  targets: Target[]
  subjects: EvalSubject[]
  /** The report as printed. */
  text: string
}

export function runEvaluation (opts: EvalOptions & RunOptions = {}): Evaluation {
  const plan = resolvePlan(opts)
  const subjects = assignSubjects(plan)
  const run = simulate(subjects, plan, opts)
  const score = scoreRun(subjects, run.anomalies, { days: plan.days })
  const facts: RunFacts = {
    elders: plan.elders, rentals: plan.rentals, days: plan.days, seed: plan.seed, feedback: opts.feedback ?? true,
    water: run.waterMeters, samples: run.samples, ticks: run.ticks, feedbacks: run.feedbacks, seconds: run.ms / 1000,
  }
  return { facts, score, targets: targets(score), subjects, text: formatReport(score, facts) }
}
export * from './real-index.ts'
