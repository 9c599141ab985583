/**
 * One household's day, drawn from (seed, day): when people wake, go out, cook and
 * sleep, and which appliances run. Times are epoch ms and may run past midnight.
 */
import type { DayPlan, LoadEvent, Person } from './types.ts'
import type { Traits } from './household.ts'
import { HOUR, MIN, dayStart } from './household.ts'
import { rngFor } from './random.ts'

/** An elder living alone: early riser, cooks three times a day, some days a 2-5 h outing. */
export function elderPlan (tr: Traits, day: number): DayPlan {
  const r = rngFor(tr.seed, day, 1)
  const start = dayStart(day, tr)
  const at = (h: number) => start + (h + tr.biasH) * HOUR
  const lv = tr.level * r.between(0.8, 1.2)
  const wake = at(r.between(6, 7.5))
  const sleep = at(r.between(21.5, 23))
  const events: LoadEvent[] = []
  const add = (from: number, minutes: number, w: number) => events.push({ from, until: from + minutes * MIN, w })

  add(wake + r.between(5, 20) * MIN, r.between(3, 5), r.between(1500, 2000)) // kettle
  if (r.chance(0.7)) add(wake + r.between(25, 50) * MIN, r.between(8, 15), r.between(800, 1200) * lv)
  if (r.chance(0.85)) add(at(r.between(11.25, 12.5)), r.between(15, 30), r.between(1000, 1500) * lv)
  if (r.chance(0.6)) add(at(r.between(14, 16)), r.between(3, 5), r.between(1500, 2000)) // afternoon tea
  add(at(r.between(17, 18.5)), r.between(20, 40), r.between(1200, 2000) * lv) // dinner
  if (r.chance(0.5)) add(at(r.between(19, 20.5)), r.between(20, 30), 2000) // water for a bath
  if (r.chance(0.5)) add(at(r.between(8, 9.5)), r.between(60, 120), r.between(60, 100)) // morning TV or radio
  if (r.chance(0.5)) add(at(r.between(14, 15)), r.between(60, 150), r.between(80, 130)) // afternoon TV
  if (r.chance(0.8)) events.push({ from: at(r.between(18.75, 19.5)), until: sleep - r.between(5, 30) * MIN, w: r.between(90, 150) })
  if (r.chance(0.6)) add(at(r.between(1, 5)), r.between(3, 8), r.between(15, 40)) // a light at night

  const outs: Person['outs'] = []
  if (r.chance(0.3)) {
    const from = at(r.between(9, 14.5))
    outs.push([from, from + r.between(2, 5) * HOUR])
  }
  // What would have happened while out is done after coming back (dinner is still cooked).
  const back = outs[0]?.[1]
  const planned = events.map((e) => back !== undefined && overlapsAny(e, outs)
    ? { from: back + r.between(10, 40) * MIN, until: back + r.between(10, 40) * MIN + (e.until - e.from), w: e.w }
    : e)
  // Someone at home moves about: a microwave, the kettle again, a hair dryer, the fridge door.
  const small: LoadEvent[] = []
  for (let t = wake + HOUR; t < sleep - 30 * MIN; t += HOUR) {
    if (r.chance(0.55)) small.push({ from: t + r.between(0, 50) * MIN, until: 0, w: r.between(300, 1200) })
  }
  for (const e of small) e.until = e.from + r.between(2, 8) * MIN
  const person: Person = { wake, sleep, outs, w: r.between(40, 80) * lv, eveningW: r.between(50, 100) * lv }
  return { day, start, people: [person], events: [...planned, ...small.filter((e) => !overlapsAny(e, outs))] }
}

/**
 * A rental unit: working adults out on workdays, morning and evening peaks. With
 * more than two occupants (group renting) people stay up late, everyone showers
 * and chargers run all night.
 */
export function rentalPlan (tr: Traits, day: number, occupants: number): DayPlan {
  const r = rngFor(tr.seed, day, 2, occupants)
  const start = dayStart(day, tr)
  const at = (h: number) => start + (h + tr.biasH) * HOUR
  const dow = ((day + 4) % 7 + 7) % 7 // 1970-01-01 was a Thursday; 0 is Sunday
  const workday = dow >= 1 && dow <= 5
  const crowded = occupants > 2
  const lv = tr.level * r.between(0.85, 1.15)
  const events: LoadEvent[] = []
  const add = (from: number, minutes: number, w: number) => events.push({ from, until: from + minutes * MIN, w })
  const people: Person[] = []

  for (let i = 0; i < occupants; i++) {
    const wake = at(workday ? r.between(6.3, 7.6) : r.between(8, 10.5))
    const sleep = at(crowded ? r.between(23, 27) : r.between(23, 24.75))
    const outs: Person['outs'] = []
    if (workday && r.chance(0.92)) {
      outs.push([wake + r.between(25, 60) * MIN, at(r.chance(0.15) ? r.between(20.5, 22) : r.between(17.8, 19.8))])
    } else if (!workday && r.chance(0.5)) {
      const from = at(r.between(12, 16))
      outs.push([from, from + r.between(2, 6) * HOUR])
    }
    const backHome = outs[0]?.[1] ?? at(19)
    if (crowded || r.chance(0.7)) {
      const shower = crowded ? at(r.between(20, 25.5)) : r.chance(0.5) ? wake + r.between(5, 20) * MIN : backHome + r.between(1, 3) * HOUR
      add(shower, r.between(10, 15), r.between(2500, 3000))
    }
    if (crowded) {
      // Phones, laptops and fans of people who sleep late and get up late.
      events.push({ from: at(r.between(22.5, 24)), until: at(r.between(28, 29.5)), w: r.between(30, 70) })
      if (r.chance(0.5)) add(at(r.between(23, 26)), r.between(3, 5), 1800) // late-night noodles
    }
    people.push({ wake, sleep, outs, w: r.between(80, 160) * lv, eveningW: r.between(40, 90) * lv })
  }

  const cooks = crowded ? Math.ceil(occupants / 3) : 1
  for (let i = 0; i < cooks; i++) {
    if (r.chance(0.7)) add(at(r.between(18.5, 20.5)), r.between(20, 40), r.between(1500, 2000) * lv)
  }
  if (workday && r.chance(0.6)) add(people[0]!.wake + r.between(5, 15) * MIN, r.between(3, 4), 1800)
  if (!workday && r.chance(0.6)) add(at(r.between(11.5, 13)), r.between(20, 40), r.between(1200, 1800) * lv)
  // Air conditioning or a heater once people are home in the evening.
  if (r.chance(0.6)) add(at(r.between(19.5, 21)), r.between(90, 180), r.between(700, 1100) * Math.max(1, occupants / 3))
  if (r.chance(workday ? 0.2 : 0.5)) add(at(r.between(10, 21)), 60, r.between(400, 600)) // washing machine
  return { day, start, people, events }
}

function overlapsAny (e: LoadEvent, spans: Person['outs']): boolean {
  return spans.some(([from, until]) => e.from < until && e.until > from)
}
