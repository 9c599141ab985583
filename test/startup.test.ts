import { afterAll, describe, test } from 'vitest'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ADMIN } from './helpers.ts'

const ROOT = new URL('..', import.meta.url).pathname

/** Runs `npm start`'s entry point as a child; resolves with its exit code and output once it exits or prints that it runs. */
export function runStart (env: Record<string, string>, opts: { killAfterMs?: number, stopWhenRunning?: boolean } = {}) {
  return new Promise<{ code: number | null, signal: string | null, stdout: string, stderr: string, running: boolean }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/start.ts'], {
      cwd: ROOT, env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', MQTT_PORT: '0', HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    let running = false
    child.stdout.on('data', (d) => {
      stdout += d
      if (!running && stdout.includes('gridcare is running')) {
        running = true
        if (opts.stopWhenRunning !== false) child.kill('SIGTERM')
      }
    })
    child.stderr.on('data', (d) => { stderr += d })
    const killer = opts.killAfterMs !== undefined ? setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs) : undefined
    // Bounded: nothing here may hang the suite.
    const guard = setTimeout(() => child.kill('SIGKILL'), 90_000)
    child.on('exit', (code, signal) => { clearTimeout(killer); clearTimeout(guard); resolve({ code, signal, stdout, stderr, running }) })
  })
}

const taken = () => new Promise<Server>((resolve) => { const s = createServer(); s.listen(0, '127.0.0.1', () => resolve(s)) })
const portOf = (s: Server) => (s.address() as AddressInfo).port
/** The one `cannot start` line, and that it is the only line on stderr. */
const problem = (stderr: string) => {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'))
  assert.equal(lines.length, 1, `one line, got:\n${stderr}`)
  return lines[0]!
}

describe('start-up problems are one line naming the variable and what to do', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gridcare-startup-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  test('a DATA_DIR holding a log file starts; the store goes in a folder of its own', async () => {
    writeFileSync(join(dir, 'gridcare.log'), 'an operator\'s log\n')
    const r = await runStart({ DATA_DIR: dir })
    assert.ok(r.running, r.stderr)
    assert.deepEqual(readdirSync(dir).sort(), ['gridcare.log', 'store'])
  })

  test('HTTP port in use, bad HTTP_HOST, MQTT port in use, closed MQTT_URL', async () => {
    const busy = await taken()
    const closed = await taken()
    const closedPort = portOf(closed)
    await new Promise((r) => closed.close(r))
    try {
      // Said before the store is opened: these need no DATA_DIR that exists.
      const none = join(dir, 'never-made')
      const [http, host, mqttPort, url] = await Promise.all([
        runStart({ DATA_DIR: none, HTTP_PORT: String(portOf(busy)) }),
        runStart({ DATA_DIR: none, HTTP_HOST: 'no-such-host.invalid' }),
        runStart({ DATA_DIR: none, MQTT_PORT: String(portOf(busy)) }),
        runStart({ DATA_DIR: none, MQTT_URL: `mqtt://127.0.0.1:${closedPort}` }),
      ])
      assert.equal(http.code, 1)
      assert.match(problem(http.stderr), new RegExp(`^gridcare: cannot start: HTTP_PORT: port ${portOf(busy)} is in use .*HTTP_PORT=0`))
      assert.equal(host.code, 1)
      assert.match(problem(host.stderr), /^gridcare: cannot start: HTTP_HOST: cannot listen on "no-such-host.invalid" .*set HTTP_HOST/)
      assert.equal(mqttPort.code, 1)
      assert.match(problem(mqttPort.stderr), /^gridcare: cannot start: MQTT_PORT: port \d+ is in use .*MQTT_PORT=0 picks one/)
      assert.equal(url.code, 1)
      assert.match(problem(url.stderr), /^gridcare: cannot start: MQTT_URL: cannot connect to the broker at mqtt:\/\/127.0.0.1:\d+ .*unset MQTT_URL/)
    } finally {
      busy.close()
    }
  })

  test('a DATA_DIR that cannot be a writable folder (a file, /proc/x) says so at once', async () => {
    const file = join(dir, 'gridcare.log')
    for (const r of await Promise.all([file, '/proc/gridcare-x'].map((d) => runStart({ DATA_DIR: d })))) {
      assert.equal(r.code, 1)
      assert.match(problem(r.stderr), /^gridcare: cannot start: DATA_DIR: cannot use ".*" as a writable folder \(E[A-Z]+\); set DATA_DIR/)
    }
  })
})
