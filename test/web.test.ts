import { afterAll, beforeAll, test } from 'vitest'
import assert from 'node:assert/strict'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { HOUR, startGridcare, type Harness } from './helpers.ts'
import { ARTIFACTS, launch, quietElder, seedCnStreet, seedUse, watch } from './web-street.ts'

// The grid worker's phone, as a worker uses it: headless Debian Chromium against a real gridcare.
let h: Harness
let browser: Browser
let ctx: BrowserContext
let page: Page
let problems: string[]
let tokens: Awaited<ReturnType<typeof seedCnStreet>>
const NOW = Date.now()

beforeAll(async () => {
  h = await startGridcare()
  tokens = await seedCnStreet(h)
  await seedUse(h, 'm-e101', NOW)
  browser = await launch()
  ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, hasTouch: true, isMobile: true, locale: 'zh-CN', reducedMotion: 'reduce' })
  page = await ctx.newPage()
  page.setDefaultTimeout(60_000)
  problems = watch(page)
})
afterAll(async () => { await browser?.close(); await h?.close() })

const base = () => `http://127.0.0.1:${h.gc.httpPort}`
const task = async (subject: string) => (await h.api('GET', `/api/tasks?limit=50`)).body.find((x: { subject: string }) => x.subject === subject)
const fits = async (width: number) => {
  await page.setViewportSize({ width, height: 844 })
  await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))')
  const w = await page.evaluate('document.documentElement.scrollWidth') as number
  assert.ok(w <= width, `page lays out ${w} px wide on a ${width} px screen`)
  await page.setViewportSize({ width: 390, height: 844 })
}

test('a link with a token signs the worker in, remembers it on the device and drops it from the address', async () => {
  await page.goto(`${base()}/worker#token=${tokens.w1}`)
  await page.getByText('暂无待办任务').waitFor()
  assert.equal(new URL(page.url()).hash, '', 'the token left the address')
  assert.ok(!(await page.evaluate('JSON.stringify(history.state) + location.href') as string).includes(tokens.w1))
  assert.equal(await page.evaluate("localStorage.getItem('gridcare.token')"), tokens.w1)
  await page.locator('#state[data-state="live"]').waitFor()
  assert.equal(await page.locator('#state').textContent(), '实时')
  // Installable: a manifest, and a service worker that controls the page's scope.
  assert.equal(await page.evaluate("navigator.serviceWorker.ready.then((r) => r.active?.scriptURL.endsWith('/sw.js'))"), true)
  const manifest = await (await page.request.get(`${base()}/manifest.webmanifest`)).json()
  assert.equal(manifest.start_url, '/worker')
})

test('a task arrives live, says what happened in plain words, and is accepted; the resident\'s contacts show once it is mine', async () => {
  await h.gc.components.alerts.handleAnomaly(quietElder('e101', NOW - 7 * HOUR, NOW))
  const card = page.locator('.card[data-state="open"]')
  await card.waitFor({ timeout: 30_000 })
  const text = await card.textContent() ?? ''
  assert.match(text, /王\*+家 \d\d:\d\d 起 7 小时无用电，平时 07:00 起床/)
  assert.match(text, /枫叶社区 · 1号楼 · 1\*\*室/)
  assert.match(text, /剩 \d+ (小时|分钟)/)
  const ack = card.getByRole('button', { name: '确认接单' })
  const box = await ack.boundingBox()
  assert.ok(box && box.height >= 44, `button ${box?.height} px tall`)
  await page.screenshot({ path: `${ARTIFACTS}/worker-list.png` })
  await ack.click()
  await page.locator('.card[data-state="acknowledged"]').waitFor({ timeout: 30_000 })
  await page.locator('.card', { hasText: '王秀兰' }).waitFor({ timeout: 30_000 })
  const t = await task('e101')
  assert.equal(t.state, 'acknowledged')
  assert.equal(t.history.at(-1).actor, 'w1')
  await fits(360)
})

test('the task card shows where, a small map and the last 24 h against the usual curve; offline the arrival is queued and sent on return', async () => {
  await page.locator('.card[data-state="acknowledged"] .what').click()
  await page.locator('#detail .tel', { hasText: '13912345678' }).waitFor()
  await page.locator('#usage[data-points]').waitFor({ timeout: 30_000 })
  assert.ok(Number(await page.locator('#usage').getAttribute('data-points')) >= 20)
  await page.locator('#minimap canvas').waitFor()
  // The system's own history lines read in Chinese too, not in the API's English notes.
  const history = await page.locator('#detail .history').textContent() ?? ''
  assert.match(history, /立案派单 → 待接单 · (.+；)?派给 w1/)
  assert.doesNotMatch(history, /assigned to|check-in|deadline/)
  await page.screenshot({ path: `${ARTIFACTS}/worker-task.png`, fullPage: true })
  await fits(360)

  await ctx.setOffline(true)
  await page.locator('#state[data-state="offline"]').waitFor()
  assert.equal(await page.locator('#state').textContent(), '离线')
  await page.locator('#detail').getByRole('button', { name: '已到达' }).click()
  await page.locator('#banner', { hasText: '1 项操作待发送' }).waitFor()
  await page.locator('#usage[data-points] canvas').waitFor()
  await page.screenshot({ path: `${ARTIFACTS}/worker-offline.png` })
  assert.equal((await task('e101')).state, 'acknowledged', 'nothing reached the server while offline')
  await ctx.setOffline(false)
  await page.locator('#banner', { hasText: '离线操作已发送' }).waitFor({ timeout: 30_000 })
  assert.equal((await task('e101')).state, 'on_site')
  // The confirmation is news, not a state: it goes after a few seconds.
  await page.locator('#banner').waitFor({ state: 'hidden', timeout: 15_000 })

  await page.locator('#detail').getByRole('button', { name: '办结' }).click()
  await page.locator('#resolve label.chip', { hasText: '已处置' }).click()
  await page.locator('#resolve textarea').fill('老人在家睡着了，已叮嘱子女')
  await page.getByRole('button', { name: '提交办结' }).click()
  await page.locator('#detail .stage', { hasText: '已办结' }).waitFor({ timeout: 30_000 })
  const t = await task('e101')
  assert.equal(t.state, 'resolved')
  assert.equal(t.outcome, 'handled')
  assert.deepEqual(t.history.filter((x: { actor: string }) => x.actor === 'w1').map((x: { action: string }) => x.action), ['ack', 'arrive', 'resolve'])
})

test('resolving a task nobody went to asks for a reason; a phone call counts', async () => {
  await page.getByRole('button', { name: '‹ 返回' }).click()
  await h.gc.components.alerts.handleAnomaly(quietElder('e102', NOW - 5 * HOUR, NOW))
  const card = page.locator('.card[data-state="open"]', { hasText: '陈' })
  await card.waitFor({ timeout: 30_000 })
  await card.getByRole('button', { name: '确认接单' }).click()
  await page.locator('.card[data-state="acknowledged"]', { hasText: '陈' }).getByRole('button', { name: '办结' }).click()
  await page.locator('#resolve label.chip', { hasText: '误报' }).click()
  await page.getByRole('button', { name: '提交办结' }).click()
  await page.locator('#resolve-error', { hasText: '没有到场，请填写原因' }).waitFor()
  await page.screenshot({ path: `${ARTIFACTS}/worker-resolve.png`, fullPage: true })
  await page.getByRole('button', { name: '已电话联系' }).click()
  await page.getByRole('button', { name: '提交办结' }).click()
  await page.locator('#detail .stage', { hasText: '已办结' }).waitFor({ timeout: 30_000 })
  const t = await task('e102')
  assert.equal(t.state, 'resolved')
  assert.equal(t.outcome, 'false_alarm')
  assert.match(t.note, /已电话联系/)
  assert.deepEqual(problems, [])
})

test('a silence that goes on after a false alarm comes back as a new task that says so', async () => {
  await page.getByRole('button', { name: '‹ 返回' }).click()
  // The detector's re-raise: the quiet since the answer reached this person's bar again.
  const answered = NOW + 60_000
  await h.gc.components.alerts.handleAnomaly({
    subjectId: 'e102', detector: 'low_use', kind: 'inactivity', phase: 'raise' as const, severity: 'medium' as const, startedAt: answered, observedAt: answered + 4 * HOUR,
    evidence: { rule: 'low_use', quietSince: new Date(NOW - 5 * HOUR).toISOString(), quietSinceFalseAlarm: new Date(answered).toISOString() },
  })
  const card = page.locator('.card[data-state="open"]', { hasText: '陈' })
  await card.waitFor({ timeout: 30_000 })
  // Masked again: the resident's name shows in full only on a task the worker has taken, not on this new one.
  assert.match(await card.textContent() ?? '', /陈\*+家已于 \d\d:\d\d 按误报办结，此后又 4 小时无用电，请再次确认/)
  await page.screenshot({ path: `${ARTIFACTS}/worker-again.png` })
  assert.deepEqual(problems, [])
})

test('a wrong token gets a clear message that goes away once signed in; a worker sees nothing of another grid', async () => {
  const other = await ctx.newPage()
  const seen = watch(other)
  await other.goto(`${base()}/worker#token=not-a-real-token`)
  await other.locator('#signin-error', { hasText: '令牌无效或已被撤销' }).waitFor()
  assert.equal(new URL(other.url()).hash, '')
  await other.locator('#token').fill(tokens.w2)
  await other.getByRole('button', { name: '登录' }).click()
  await other.getByText('暂无待办任务').waitFor()
  assert.equal(await other.locator('#signin-error').isVisible(), false)
  assert.equal(await other.locator('.card').count(), 0, 'grid 2\'s worker sees none of grid 1\'s tasks')
  await other.getByRole('button', { name: 'EN' }).click()
  await other.getByText('No open tasks').waitFor()
  assert.match(await other.locator('#who').textContent() ?? '', /My tasks/)
  assert.equal(await other.evaluate('document.documentElement.lang'), 'en-GB')
  await other.getByRole('button', { name: '中文' }).click()
  await other.getByText('暂无待办任务').waitFor()
  assert.deepEqual(seen.filter((p) => !p.includes('401')), [])
  await other.close()
})
