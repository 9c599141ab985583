import { spawn } from 'node:child_process'
import { ADMIN } from './helpers.ts'

const ROOT = new URL('..', import.meta.url).pathname

/** Runs `npm start`'s entry point as a child; resolves with its exit code and output once it exits or prints that it runs. */
export function runStart (env: Record<string, string>, opts: { killAfterMs?: number, killAfterLine?: { includes: string, ms: number }, stopWhenRunning?: boolean } = {}) {
  return new Promise<{ code: number | null, signal: string | null, stdout: string, stderr: string, running: boolean }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/start.ts'], {
      cwd: ROOT, env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', MQTT_PORT: '0', HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    let running = false
    let lineSeen = false
    child.stdout.on('data', (d) => {
      stdout += d
      if (opts.killAfterLine && !lineSeen && stdout.includes(opts.killAfterLine.includes)) {
        lineSeen = true
        setTimeout(() => child.kill('SIGKILL'), opts.killAfterLine.ms)
      }
      if (!running && stdout.includes('gridcare is running')) {
        running = true
        if (opts.stopWhenRunning !== false) child.kill('SIGTERM')
      }
    })
    child.stderr.on('data', (d) => { stderr += d })
    const killer = opts.killAfterMs !== undefined ? setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs) : undefined
    // Bounded: nothing here may hang the suite.
    const guard = setTimeout(() => child.kill('SIGKILL'), 240_000)
    child.on('exit', (code, signal) => { clearTimeout(killer); clearTimeout(guard); resolve({ code, signal, stdout, stderr, running }) })
  })
}

