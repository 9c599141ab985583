import { afterAll, beforeAll, describe, test } from 'vitest'
import assert from 'node:assert/strict'
import ExcelJS from 'exceljs'
import { parse } from 'csv-parse/sync'
import { ADMIN, STORES, STREET_CSV, startGridcare, type Harness } from './helpers.ts'

const at = (s: string) => Date.parse(s)
const PATHS: Record<string, string[]> = {
  U101: ['D1', 'S1', 'C1', 'G1', 'B1', 'U101'], U102: ['D1', 'S1', 'C1', 'G1', 'B1', 'U102'],
  U201: ['D1', 'S1', 'C1', 'G2', 'B2', 'U201'], U202: ['D1', 'S1', 'C1', 'G2', 'B2', 'U202'],
}
const NO_TASK = 'none'

/** One case of the known month: an alert and its task with the history given (action, state reached, time). */
interface Case {
  id: string, source?: 'detector' | 'report', kind: string, subject: string | null, unit: string, raised: string,
  ackDue: string, state: string, outcome?: string, history: Array<[string, string | null, string]>
}

/**
 * March 2026 at UTC+8, in two grids of one community. Response (created -> acknowledged) and
 * resolution (created -> resolved) minutes: A1 10/60, A2 30/120 (false alarm), A3 20/90,
 * A4 180/300 (escalated once); A5 cleared by itself; A8 closed by a contact's "all well" to its
 * check-in, no task (a visit avoided); A6 and A7 fall just outside the month in local time
 * (though A5, 28 Feb UTC, falls inside).
 */
const CASES: Case[] = [
  { id: 'A1', kind: 'inactivity', subject: 'e101', unit: 'U101', raised: '2026-03-02T02:00:00Z', ackDue: '2026-03-02T04:00:00Z', state: 'resolved', outcome: 'handled',
    history: [['ack', 'acknowledged', '2026-03-02T02:10:00Z'], ['arrive', 'on_site', '2026-03-02T02:30:00Z'], ['resolve', 'resolved', '2026-03-02T03:00:00Z']] },
  { id: 'A2', kind: 'inactivity', subject: 'e102', unit: 'U102', raised: '2026-03-03T02:00:00Z', ackDue: '2026-03-03T04:00:00Z', state: 'resolved', outcome: 'false_alarm',
    history: [['ack', 'acknowledged', '2026-03-03T02:30:00Z'], ['resolve', 'resolved', '2026-03-03T04:00:00Z']] },
  { id: 'A3', kind: 'night_load', subject: 'e201', unit: 'U201', raised: '2026-03-10T14:00:00Z', ackDue: '2026-03-10T14:30:00Z', state: 'resolved', outcome: 'handled',
    history: [['ack', 'acknowledged', '2026-03-10T14:20:00Z'], ['resolve', 'resolved', '2026-03-10T15:30:00Z']] },
  { id: 'A4', source: 'report', kind: 'report.dispute', subject: null, unit: 'U202', raised: '2026-03-15T01:00:00Z', ackDue: '2026-03-15T03:31:00Z', state: 'reviewed', outcome: 'handled',
    history: [['escalated', null, '2026-03-15T03:01:00Z'], ['ack', 'acknowledged', '2026-03-15T04:00:00Z'], ['resolve', 'resolved', '2026-03-15T06:00:00Z'], ['review', 'reviewed', '2026-03-15T07:00:00Z']] },
  { id: 'A5', kind: 'inactivity', subject: 'e101', unit: 'U101', raised: '2026-02-28T17:00:00Z', ackDue: '2026-02-28T19:00:00Z', state: 'resolved', outcome: 'self_resolved',
    history: [['self_resolved', 'resolved', '2026-02-28T17:40:00Z']] },
  { id: 'A6', kind: 'meter_stuck', subject: 'e102', unit: 'U102', raised: '2026-03-31T16:30:00Z', ackDue: '2026-03-31T18:30:00Z', state: 'open', history: [] },
  { id: 'A8', kind: 'inactivity', subject: 'e202', unit: 'U202', raised: '2026-03-20T02:00:00Z', ackDue: '', state: NO_TASK, outcome: 'false_alarm', history: [] },
  { id: 'A7', kind: 'inactivity', subject: 'e201', unit: 'U201', raised: '2026-02-28T15:00:00Z', ackDue: '2026-02-28T17:00:00Z', state: 'resolved', outcome: 'handled',
    history: [['ack', 'acknowledged', '2026-02-28T15:10:00Z'], ['resolve', 'resolved', '2026-02-28T16:00:00Z']] },
]

async function insertCase (h: Harness, c: Case) {
  const db = h.gc.components.db
  const path = PATHS[c.unit]!
  await db.query(`INSERT INTO alerts (id, source, subject, address, grid, path, kind, detector, severity, status, started_at, raised_at, last_seen_at, evidence)
    VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'medium',$9,$10,$10,$10,'{}')`,
  [c.id, c.source ?? 'detector', c.subject, c.unit, path[3], path, c.kind, c.source === 'report' ? null : 'test', c.state === 'open' ? 'open' : 'closed', c.raised])
  if (c.state === NO_TASK) {
    await db.query(`UPDATE alerts SET stage = 'checkin', outcome = $2 WHERE id = $1`, [c.id, c.outcome])
    await db.query(`INSERT INTO checkins (id, alert_id, subject, contact, secret_hash, sent_at, due_at, answered_at, answer, state)
      VALUES ($1,$2,$3,'{"name":"Chen Jie","phone":"13900000002"}','x',$4,$4,$4,'well','well')`, [`K${c.id}`, c.id, c.subject, c.raised])
    return
  }
  const task = `T${c.id.slice(1)}`
  await db.query(`INSERT INTO tasks (id, alert_id, subject, address, grid, path, worker_id, severity, state, outcome, ack_due, arrive_due, created_at, updated_at)
    VALUES ($1,$2,$3,$4,$5,$6,NULL,'medium',$7,$8,$9,$9,$10,$10)`, [task, c.id, c.subject, c.unit, path[3], path, c.state, c.outcome ?? null, c.ackDue, c.raised])
  await db.query(`INSERT INTO task_history (task_id, at, actor, action, to_state) VALUES ($1,$2,'system','created','open')`, [task, c.raised])
  for (const [action, to, when] of c.history) {
    await db.query('INSERT INTO task_history (task_id, at, actor, action, to_state) VALUES ($1,$2,$3,$4,$5)', [task, when, action === 'escalated' || action === 'self_resolved' ? 'system' : 'w', action, to])
  }
}

const MARCH_C1 = {
  cases: 6,
  byCategory: { welfare: 4, safety: 1, housing: 0, device_fault: 0, report: 1 },
  bySource: { detector: 5, report: 1 },
  tasks: 5,
  responseMinutes: { count: 4, median: 25, p90: 135 },
  resolutionMinutes: { count: 4, median: 105, p90: 246 },
  withinDeadline: { count: 4, share: 0.8 },
  falseAlarms: { count: 2, share: 0.3333 },
  selfResolved: 1,
  visitsAvoided: 1,
  escalations: 1,
  unresolved: 0,
}

for (const store of STORES) describe(store, () => {
  let now = at('2026-03-31T12:00:00Z') // 20:00 local on 31 March: February closed, March not yet
  const clock = { now: () => now }
  let h: Harness
  const tokens: Record<string, string> = {}

  beforeAll(async () => {
    h = await startGridcare({}, clock, store)
    await h.gc.components.reports.idle() // the start-up tick, on an empty store
    assert.equal((await h.api('POST', '/api/addresses/import', `${STREET_CSV}G3,C1,grid,Grid 3,,\n`)).status, 200)
    for (const w of [{ id: 'w1', role: 'grid_worker', grids: ['G1'] }, { id: 'lead', role: 'grid_leader', grids: ['C1'] }, { id: 'cc', role: 'command_centre', grids: ['S1'] }]) {
      tokens[w.id] = (await h.api('POST', '/api/workers', { ...w, name: w.id })).body.token
    }
    for (const [id, unit] of [['e101', 'U101'], ['e102', 'U102'], ['e201', 'U201'], ['e202', 'U202']]) await h.api('POST', '/api/subjects', { id, kind: 'lone_elder', address: unit })
    for (const c of CASES) await insertCase(h, c)
    // The hourly schedule runs on the wall clock: what it may have made from half the data goes,
    // and the tick made now (what was due at 20:00 local on 31 March) is the one the tests know.
    await h.gc.components.reports.idle()
    await h.gc.components.db.query('DELETE FROM periodic_reports')
    await h.gc.components.db.query('DELETE FROM safety_index')
    assert.deepEqual(await h.gc.components.reports.tick(), { reports: 20, indexed: 6 }, 'weeks of 16 and 23 March, January and February, for S1, C1, G1-G3; two months of three grids')
  })
  afterAll(async () => { await h.close() })

  test('the month\'s figures for a community: cases by category and source, medians and p90s, shares, escalations; by grid under it', async () => {
    const r = await h.api('GET', '/api/statistics?period=month&start=2026-03-01&scope=C1')
    assert.equal(r.status, 200, JSON.stringify(r.body))
    assert.equal(r.body.start, '2026-03-01')
    assert.equal(r.body.from, '2026-02-28T16:00:00.000Z', 'local midnight at UTC+8')
    assert.equal(r.body.to, '2026-03-31T16:00:00.000Z')
    assert.deepEqual(r.body.scope, { code: 'C1', name: 'Maple Community', level: 'community' })
    assert.deepEqual(r.body.figures, MARCH_C1)
    assert.deepEqual(r.body.areas.map((a: { code: string }) => a.code), ['G1', 'G2', 'G3'])
    const [g1, g2, g3] = r.body.areas.map((a: { figures: typeof MARCH_C1 }) => a.figures)
    assert.deepEqual([g1.cases, g1.responseMinutes, g1.resolutionMinutes, g1.withinDeadline, g1.falseAlarms, g1.selfResolved, g1.escalations],
      [3, { count: 2, median: 20, p90: 28 }, { count: 2, median: 90, p90: 114 }, { count: 3, share: 1 }, { count: 1, share: 0.3333 }, 1, 0])
    assert.deepEqual([g2.cases, g2.tasks, g2.responseMinutes, g2.resolutionMinutes, g2.withinDeadline, g2.falseAlarms, g2.visitsAvoided, g2.escalations],
      [3, 2, { count: 2, median: 100, p90: 164 }, { count: 2, median: 195, p90: 279 }, { count: 1, share: 0.5 }, { count: 1, share: 0.3333 }, 1, 1])
    assert.equal(g3.cases, 0)
    assert.equal(g3.responseMinutes.median, null)
    const whole = await h.api('GET', '/api/statistics?period=month&start=2026-03-17')
    assert.deepEqual(whole.body.figures, MARCH_C1, 'the admin without scope: the whole tree; any day of the month names it')
    assert.equal(whole.body.start, '2026-03-01')
  })

  test('a week runs Monday to Sunday in local time', async () => {
    const w = await h.api('GET', '/api/statistics?period=week&start=2026-03-04&scope=S1')
    assert.equal(w.body.start, '2026-03-02')
    assert.equal(w.body.from, '2026-03-01T16:00:00.000Z')
    assert.equal(w.body.figures.cases, 2)
    assert.deepEqual(w.body.figures.responseMinutes, { count: 2, median: 20, p90: 28 })
    const before = await h.api('GET', '/api/statistics?period=week&start=2026-03-01&scope=S1')
    assert.equal(before.body.start, '2026-02-23')
    assert.equal(before.body.figures.cases, 2, 'A5 (Sunday 1 March, 01:00 local) and A7 (Saturday 28 February, 23:00 local)')
    assert.equal((await h.api('GET', '/api/statistics?period=week&start=2026-02-30')).body.error.code, 'PERIOD_INVALID')
    assert.equal((await h.api('GET', '/api/statistics?period=fortnight')).status, 400)
  })

  test('a worker asks only for its part of the tree', async () => {
    assert.equal((await h.api('GET', '/api/statistics?period=month&start=2026-03-01&scope=C1', undefined, tokens.w1)).status, 403)
    assert.equal((await h.api('GET', '/api/statistics?period=month&start=2026-03-01&scope=G2', undefined, tokens.w1)).status, 403)
    const own = await h.api('GET', '/api/statistics?period=month&start=2026-03-01&scope=G1', undefined, tokens.w1)
    assert.equal(own.status, 200)
    assert.equal(own.body.figures.cases, 3)
    const mine = await h.api('GET', '/api/statistics?period=month&start=2026-03-01', undefined, tokens.w1)
    assert.deepEqual(mine.body.figures, own.body.figures, 'without scope: its own grids')
    assert.equal((await h.api('GET', '/api/statistics?period=month&start=2026-03-01&scope=C1', undefined, tokens.lead)).body.figures.cases, 6)
    assert.equal((await h.api('GET', '/api/statistics?period=month&scope=NOPE')).body.error.code, 'ADDRESS_UNKNOWN')
  })

  test('CSV and XLSX parse back to the same figures', async () => {
    const url = '/api/statistics?period=month&start=2026-03-01&scope=C1'
    const csv = await h.gc.http.inject({ method: 'GET', url, headers: { authorization: `Bearer ${ADMIN}`, accept: 'text/csv' } })
    assert.equal(csv.statusCode, 200)
    assert.match(String(csv.headers['content-type']), /^text\/csv/)
    const rows = parse(csv.body, { columns: true }) as Array<Record<string, string>>
    assert.deepEqual(rows.map((r) => r.area), ['C1', 'G1', 'G2', 'G3'])
    assert.deepEqual([rows[0]!.cases, rows[0]!.welfare, rows[0]!.source_report, rows[0]!.response_median_min, rows[0]!.resolution_p90_min, rows[0]!.within_deadline_share, rows[0]!.false_alarm_share, rows[0]!.escalations],
      ['6', '4', '1', '25', '246', '0.8', '0.3333', '1'])
    assert.equal(rows[3]!.response_median_min, '', 'no figure: an empty cell')
    for (const req of [{ url, accept: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' }, { url: `${url}&format=xlsx`, accept: '*/*' }]) {
      const x = await h.gc.http.inject({ method: 'GET', url: req.url, headers: { authorization: `Bearer ${ADMIN}`, accept: req.accept } })
      assert.equal(x.statusCode, 200)
      assert.equal(x.headers['content-type'], 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
      const wb = new ExcelJS.Workbook()
      await wb.xlsx.load(x.rawPayload as unknown as ArrayBuffer)
      const ws = wb.worksheets[0]!
      const head = (ws.getRow(1).values as unknown[]).slice(1)
      const c1 = (ws.getRow(2).values as unknown[]).slice(1)
      const cell = (name: string) => c1[head.indexOf(name)]
      assert.deepEqual([cell('area'), cell('cases'), cell('response_median_min'), cell('response_p90_min'), cell('within_deadline_share'), cell('self_resolved')], ['C1', 6, 25, 135, 0.8, 1])
      assert.equal(ws.rowCount, 5)
    }
  })

  test('the month\'s safety index: one colour per grid from the weights, stored when the month closes, with its history', async () => {
    const entries = async (month: string, token = ADMIN) => (await h.api('GET', `/api/index?month=${month}&scope=C1`, undefined, token)).body
    const pick = (list: Array<{ grid: string, colour: string, score: number, closed: boolean }>) => list.map((e) => [e.grid, e.colour, e.score, e.closed])
    const live = await entries('2026-03')
    assert.deepEqual(pick(live), [['G1', 'green', 94, false], ['G2', 'orange', 70, false], ['G3', 'green', 100, false]])
    assert.deepEqual(live[1].figures, { cases: 3, welfare: 1, safety: 1, housing: 0, reports: 1, deviceFaults: 0, escalations: 1, missedDeadlineShare: 0.5, falseAlarmShare: 0.3333, unresolved: 0, selfResolved: 0, visitsAvoided: 1 })
    assert.equal((await h.api('GET', '/api/index?month=2026-03&scope=C1', undefined, tokens.w1)).status, 403)
    assert.deepEqual(pick(await (await h.api('GET', '/api/index?month=2026-03', undefined, tokens.w1)).body), [['G1', 'green', 94, false]])

    assert.equal((await h.api('GET', '/api/index/weights', undefined, tokens.lead)).status, 403)
    assert.equal((await h.api('PUT', '/api/index/weights', { weights: { welfare: 5 } }, tokens.w1)).status, 403)
    const defaults = await h.api('GET', '/api/index/weights', undefined, tokens.cc)
    assert.deepEqual(defaults.body.thresholds, { green: 90, yellow: 75, orange: 60 })
    const bad = await h.api('PUT', '/api/index/weights', { thresholds: { green: 50, yellow: 60, orange: 10 } })
    assert.equal(bad.body.error.code, 'INDEX_SETTINGS_INVALID')
    assert.equal((await h.api('PUT', '/api/index/weights', { weights: { bogus: 1 } })).body.error.code, 'REQUEST_INVALID')
    const put = await h.api('PUT', '/api/index/weights', { weights: { welfare: 5 }, thresholds: { green: 95, yellow: 80, orange: 73 } }, tokens.cc)
    assert.equal(put.status, 200)
    assert.equal(put.body.weights.welfare, 5)
    assert.equal(put.body.weights.safety, 6, 'the others kept')
    assert.equal(put.body.updatedBy, 'cc')
    assert.deepEqual(pick(await entries('2026-03')), [['G1', 'yellow', 85, false], ['G2', 'red', 67, false], ['G3', 'green', 100, false]])

    now = at('2026-04-01T17:00:00Z') // 01:00 local on 2 April: March is closed an hour ago
    await h.gc.components.reports.tick() // (or the hourly schedule did it just before, with the same weights)
    const count = async (table: string) => Number((await h.gc.components.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n)
    assert.equal(await count('periodic_reports'), 25, 'and March for S1, C1, G1-G3')
    assert.equal(await count('safety_index'), 9)
    assert.deepEqual(await h.gc.components.reports.tick(), { reports: 0, indexed: 0 }, 'made once')
    await h.api('PUT', '/api/index/weights', { weights: { welfare: 2 }, thresholds: { green: 90, yellow: 75, orange: 60 } })
    assert.deepEqual(pick(await entries('2026-03')), [['G1', 'yellow', 85, true], ['G2', 'red', 67, true], ['G3', 'green', 100, true]], 'a closed month keeps its scores')
    const hist = await h.api('GET', '/api/index/history?grid=G2', undefined, tokens.lead)
    assert.deepEqual(hist.body.map((e: { month: string, colour: string, score: number }) => [e.month, e.colour, e.score]), [['2026-03', 'red', 67], ['2026-02', 'green', 94], ['2026-01', 'green', 100]],
      'February, closed with the default weights: A7 (welfare, 2 points) and unresolved by the month\'s end (its resolve at 00:00 local on 1 March, 4 points)')
    assert.equal(hist.body[0].settings.weights.welfare, 5)
    assert.equal((await h.api('GET', '/api/index/history?grid=G2', undefined, tokens.w1)).status, 403)
    assert.equal((await h.api('GET', '/api/index/history?grid=C1')).body.error.code, 'ADDRESS_WRONG_LEVEL')
    // The minute's deadline sweep (node-cron, on the injected clock) may run here at any moment and
    // escalate April's open meter task, whose deadline is long past: run it, so the figures are the same either way.
    await h.gc.components.alerts.sweep(now)
    assert.deepEqual(pick(await entries('2026-04')), [['G1', 'orange', 61, false], ['G2', 'green', 100, false], ['G3', 'green', 100, false]], 'April so far: an open meter task in G1, escalated when its deadline passed')
  })

  test('reports made on schedule are listed and fetched like the live ones, within one\'s part of the tree', async () => {
    const months = await h.api('GET', '/api/statistics/reports?period=month&scope=C1')
    assert.deepEqual(months.body.map((r: { start: string }) => r.start), ['2026-03-01', '2026-02-01', '2026-01-01'])
    const stored = await h.api('GET', `/api/statistics/reports/${months.body[0].id}`)
    assert.deepEqual(stored.body.figures, MARCH_C1)
    const weeks = await h.api('GET', '/api/statistics/reports?period=week&scope=G1', undefined, tokens.w1)
    assert.deepEqual(weeks.body.map((r: { start: string }) => r.start), ['2026-03-23', '2026-03-16'])
    const mine = await h.api('GET', '/api/statistics/reports', undefined, tokens.w1)
    assert.ok(mine.body.length === 5 && mine.body.every((r: { scope: string }) => r.scope === 'G1'))
    assert.equal((await h.api('GET', `/api/statistics/reports/${months.body[0].id}`, undefined, tokens.w1)).status, 403)
    const csv = await h.gc.http.inject({ method: 'GET', url: `/api/statistics/reports/${months.body[0].id}?format=csv`, headers: { authorization: `Bearer ${ADMIN}` } })
    assert.equal((parse(csv.body, { columns: true }) as Array<Record<string, string>>)[0]!.cases, '6')
  })
})
