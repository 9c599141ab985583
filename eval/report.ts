/**
 * The evaluation's figures beside the product targets, as a table for people.
 */
import type { Score, ScoreRow } from './score.ts'

export interface Target {
  name: string
  /** What the product asks, in words: `>= 95 %`. */
  goal: string
  value: number | null
  unit: '%' | 'h' | 'per 100 elder-days'
  /** null when there is nothing to judge (no labelled subject, no raise). */
  met: boolean | null
}

const pct = (x: number | null) => x === null ? null : x * 100

/** The product targets (issue 4), judged on a score. */
export function targets (score: Score): Target[] {
  const kind = (k: string) => score.kinds.find((r) => r.kind === k && r.detector === null)
  const inact = kind('inactivity'), crowd = kind('crowding')
  const check = (name: string, goal: string, unit: Target['unit'], value: number | null, ok: (v: number) => boolean): Target =>
    ({ name, goal, unit, value, met: value === null ? null : ok(value) })
  return [
    check('incapacitation recall', '>= 95 %', '%', pct(inact?.recall ?? null), (v) => v >= 95),
    check('incapacitation median time to detect', '<= 4 h', 'h', inact?.ttdMedianH ?? null, (v) => v <= 4),
    check('false alerts on elders', '<= 0.5', 'per 100 elder-days', score.totals.lone_elder.falsePer100, (v) => v <= 0.5),
    check('crowding caught within 3 days', '>= 90 %', '%', pct(crowd?.recall ?? null), (v) => v >= 90),
    check('crowding precision', '>= 80 %', '%', pct(crowd?.precision ?? null), (v) => v >= 80),
  ]
}

const f = (x: number | null, digits = 1, suffix = '') => x === null ? '-' : `${x.toFixed(digits)}${suffix}`

function table (rows: ScoreRow[]): string[] {
  const head = ['detector', 'kind', 'raises', 'true', 'late', 'false', 'trip?', 'found', 'recall', 'precision', 'false/100d', 'ttd med', 'ttd p90']
  const body = rows.map((r) => [
    r.detector ?? '(all)', r.kind, String(r.raises), String(r.truePositives), String(r.late), String(r.falseAlerts), String(r.undeclaredTrip),
    `${r.detected}/${r.labelled}`, f(pct(r.recall), 0, ' %'), f(pct(r.precision), 0, ' %'), f(r.falsePer100, 2), f(r.ttdMedianH, 1, ' h'), f(r.ttdP90H, 1, ' h'),
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)))
  const line = (cells: string[]) => cells.map((c, i) => i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join('  ').trimEnd()
  return [line(head), ...body.map(line)]
}

export interface RunFacts { elders: number, rentals: number, days: number, seed: number, feedback: boolean, water: number, samples: number, ticks: number, feedbacks: number, seconds: number }

export function formatReport (score: Score, facts: RunFacts): string {
  const t = score.totals
  const out = [
    `${facts.elders} elders (${facts.water} with a water meter), ${facts.rentals} rentals, ${facts.days} days, seed ${facts.seed}, worker feedback ${facts.feedback ? 'on' : 'off'}`,
    `${facts.samples} samples and ${facts.ticks} ticks in ${facts.seconds.toFixed(1)} s; ${facts.feedbacks} feedbacks given`,
    '',
    'Per kind (every detector together, a subject\'s alert counted once):',
    ...table(score.kinds),
    '',
    'Per detector and kind:',
    ...(score.detectors.length > 0 ? table(score.detectors) : ['(no raises)']),
    '',
    `All alerts: elders ${t.lone_elder.alerts} (${t.lone_elder.falseAlerts} false, ${f(t.lone_elder.falsePer100, 2)} per 100 elder-days over ${t.lone_elder.subjectDays}),` +
      ` rentals ${t.rental_unit.alerts} (${t.rental_unit.falseAlerts} false, ${f(t.rental_unit.falsePer100, 2)} per 100 rental-days over ${t.rental_unit.subjectDays})`,
    `False alerts by the subject's case: ${Object.entries(score.falseByCase).map(([c, n]) => `${c} ${n}`).join(', ') || 'none'}`,
    ...(['with', 'without'] as const).map((k) => {
      const g = score.door[k]
      return `Inactivity, elders ${k} a door sensor (${g.elders}): ${g.detected}/${g.labelled} caught, median ${f(g.ttdMedianH, 1, ' h')} (p90 ${f(g.ttdP90H, 1, ' h')}), ${g.falseAlerts} false (${f(g.falsePer100, 2)} per 100 elder-days)`
    }),
    `Undeclared trips: ${score.undeclaredTrips.alerts} alerts on ${score.undeclaredTrips.subjects} of ${score.undeclaredTrips.trips} travellers (neither true nor false)`,
    '',
    'Targets:',
    ...targets(score).map((x) => `  ${(x.met === null ? '-' : x.met ? 'met' : 'MISSED').padEnd(6)}  ${x.name.padEnd(38)} ${f(x.value, 2).padStart(7)} ${x.unit.padEnd(18)} target ${x.goal}`),
    '',
    'true: within the window after the labelled start (24 h for incapacitation, 3 days otherwise); late: after it;',
    'trip?: during an undeclared trip; false/100d: per 100 days of the subjects the kind is for, after the 7-day warm-up;',
    'ttd: time to detect, from the scenario\'s start to the data that showed it.',
  ]
  return out.join('\n') + '\n'
}
