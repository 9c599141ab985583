import { mkdirSync } from 'node:fs'
import { chromium, type Browser, type Page } from 'playwright-core'
import { HOUR, type Harness } from './helpers.ts'

/** A small Chinese street for the page tests: two communities, three grids with areas, buildings with positions. */
export const CN_STREET = `code,parent,level,name,lat,lon
D1,,district,西湖区,30.25,120.13
S1,D1,street,灵隐街道,30.242,120.101
C1,S1,community,枫叶社区,30.241,120.101
C2,S1,community,茶园社区,30.245,120.105
G1,C1,grid,枫叶一网格,,
G2,C1,grid,枫叶二网格,,
G3,C2,grid,茶园一网格,,
B1,G1,building,1号楼,30.2412,120.1012
B2,G1,building,2号楼,30.2412,120.1022
B3,G2,building,3号楼,30.2422,120.1015
B4,G3,building,5号楼,30.2452,120.1052
U101,B1,unit,101室,,
U102,B1,unit,102室,,
U201,B2,unit,201室,,
U301,B3,unit,301室,,
U501,B4,unit,501室,,
`
const box = (code: string, x0: number, y0: number, x1: number, y1: number) => ({
  type: 'Feature', properties: { code }, geometry: { type: 'Polygon', coordinates: [[[x0, y0], [x1, y0 + 0.0001], [x1, y1], [x0 + 0.0002, y1], [x0, y0]]] },
})
export const CN_GRIDS = {
  type: 'FeatureCollection',
  features: [box('G1', 120.1005, 30.2405, 120.1030, 30.2417), box('G2', 120.1005, 30.2417, 120.1030, 30.2428), box('G3', 120.1040, 30.2445, 120.1062, 30.2460)],
}

export async function seedCnStreet (h: Harness) {
  const ok = (r: { status: number, body: any }) => { if (r.status >= 300) throw new Error(JSON.stringify(r.body)); return r.body }
  ok(await h.api('POST', '/api/addresses/import', CN_STREET))
  ok(await h.api('POST', '/api/grids/import', CN_GRIDS))
  const w1 = ok(await h.api('POST', '/api/workers', { id: 'w1', name: '李网格', phone: '13800000001', role: 'grid_worker', grids: ['G1'] }))
  const w2 = ok(await h.api('POST', '/api/workers', { id: 'w2', name: '张网格', phone: '13800000002', role: 'grid_worker', grids: ['G2'] }))
  const centre = ok(await h.api('POST', '/api/workers', { id: 'centre', name: '灵隐综治中心', role: 'command_centre', grids: ['S1'] }))
  ok(await h.api('POST', '/api/subjects', { id: 'e101', kind: 'lone_elder', address: 'U101', name: '王秀兰', phone: '13912345678' }))
  ok(await h.api('POST', '/api/subjects', { id: 'e102', kind: 'lone_elder', address: 'U102', name: '陈桂英', phone: '13987654321' }))
  ok(await h.api('POST', '/api/subjects', { id: 'e301', kind: 'lone_elder', address: 'U301', name: '赵德明' }))
  ok(await h.api('POST', '/api/devices', { id: 'm-e101', kind: 'meter', subject: 'e101' }))
  return { w1: w1.token as string, w2: w2.token as string, centre: centre.token as string }
}

/** Fourteen days of an elder's hourly use (up at 07:00 local, evening peak), quiet for the last 7 hours; stored as meter readings. */
export async function seedUse (h: Harness, deviceId: string, end: number) {
  const start = Math.floor(end / HOUR) * HOUR - 14 * 24 * HOUR
  const ts: Date[] = []; const reg: number[] = []; const amt: number[] = []
  let r = 1000
  for (let t = start; t <= end; t += HOUR) {
    const local = new Date(t + 8 * HOUR).getUTCHours()
    const quiet = t > end - 7 * HOUR
    const a = quiet ? 0.02 : local >= 7 && local < 9 ? 0.6 : local >= 18 && local < 22 ? 0.8 : local >= 9 && local < 18 ? 0.3 : 0.06
    r += a
    ts.push(new Date(t)); reg.push(r); amt.push(a)
  }
  await h.gc.components.db.query(
    `INSERT INTO readings (device_id, ts, register, amount, interval_ms) SELECT $1, t, r, a, 3600000 FROM unnest($2::timestamptz[], $3::float8[], $4::float8[]) AS x(t, r, a)`,
    [deviceId, ts, reg, amt])
}

export async function launch (): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}

/** Console errors and failed requests of a page (the live feed cut at close is not a failure). */
export function watch (page: Page) {
  const problems: string[] = []
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.stack ?? e.message}`))
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().includes('ERR_INTERNET_DISCONNECTED')) problems.push(`console: ${m.text()}`) })
  page.on('requestfailed', (r) => { if (!r.url().endsWith('/api/feed') && !(r.failure()?.errorText ?? '').includes('ERR_INTERNET_DISCONNECTED')) problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`) })
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`) })
  return problems
}

export const ARTIFACTS = 'test-artifacts'
mkdirSync(ARTIFACTS, { recursive: true })

/** The anomaly the inactivity detector would raise for an elder quiet since `since`. */
export const quietElder = (subjectId: string, since: number, now: number) => ({
  subjectId, detector: 'missed_routine', kind: 'inactivity', phase: 'raise' as const, severity: 'medium' as const, startedAt: since, observedAt: now,
  evidence: { rule: 'missed_routine', usualFirstActivity: '07:00', overdueHours: 2.5, quietSince: new Date(since).toISOString() },
})
