import { afterAll, beforeAll, test } from 'vitest'
import assert from 'node:assert/strict'
import { chromium, type Browser } from 'playwright-core'
import { HOUR, seedStreet, startGridcare, type Harness } from './helpers.ts'

// The pages as people use them: headless Debian Chromium against a real gridcare.
let h: Harness
let browser: Browser
let tokens: Awaited<ReturnType<typeof seedStreet>>
const T = Date.UTC(2026, 2, 10, 1)

beforeAll(async () => {
  h = await startGridcare()
  tokens = await seedStreet(h)
  await h.api('POST', '/api/subjects', { id: 'e101', kind: 'lone_elder', address: 'U101' })
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
})
afterAll(async () => { await browser?.close(); await h.close() })

test('a new task appears live on the worker\'s phone, and the worker acknowledges it there', async () => {
  const page = await browser.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(`http://127.0.0.1:${h.gc.httpPort}/worker#token=${tokens.w1}`)
  await page.getByText('No open tasks').waitFor()
  await h.gc.components.alerts.handleAnomaly({ subjectId: 'e101', detector: 'inactivity', kind: 'inactivity', phase: 'raise', severity: 'medium', startedAt: T, observedAt: T + 6 * HOUR, evidence: {} })
  const card = page.locator('.card', { hasText: 'U101' })
  await card.waitFor({ timeout: 10_000 })
  await card.getByRole('button', { name: 'Acknowledge' }).click()
  await page.locator('.card', { hasText: 'acknowledged' }).waitFor({ timeout: 5000 }).catch(async (err) => {
    throw new Error(`${err.message}; page says: ${await page.locator('#error').textContent()}`)
  })
  const tasks = (await h.api('GET', '/api/tasks')).body
  assert.equal(tasks[0].state, 'acknowledged')
  assert.equal(tasks[0].history.at(-1).actor, 'w1')
  assert.deepEqual(errors, [])
})

test('the command centre lists alerts and tasks and counts them', async () => {
  const page = await browser.newPage()
  await page.goto(`http://127.0.0.1:${h.gc.httpPort}/#token=${tokens.lead}`)
  await page.locator('#state.live').waitFor()
  assert.equal(await page.locator('#c-open').textContent(), '1')
  assert.equal(await page.locator('#alerts tr').count(), 1)
  assert.match(await page.locator('#tasks tr').first().textContent() ?? '', /U101.*w1.*acknowledged/)
  const other = await browser.newPage()
  await other.goto(`http://127.0.0.1:${h.gc.httpPort}/#token=${tokens.w2}`)
  await other.locator('#state.live').waitFor()
  assert.equal(await other.locator('#c-open').textContent(), '0', 'another grid\'s worker sees none of it')
})
