import { spawn, type ChildProcess } from 'node:child_process'
import { ADMIN } from './helpers.ts'

const ROOT = new URL('..', import.meta.url).pathname

export interface Running {
  child: ChildProcess
  mqttPort: number
  httpPort: number
  /** Resolves with the exit code or signal once the process has gone. */
  exited: Promise<{ code: number | null, signal: string | null }>
  stderr: () => string
  /** An /api call as the admin over real HTTP. */
  api: (method: string, path: string, body?: unknown, contentType?: string) => Promise<{ status: number, body: any }>
}

/**
 * Starts `npm start`'s entry point as a child, as an operator would, and resolves once it
 * prints that it runs (with its ports), or rejects with its output if it exits first or has
 * not started within `timeoutMs`.
 */
export function startChild (env: Record<string, string>, timeoutMs = 240_000): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/start.ts'], {
    cwd: ROOT, env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', MQTT_PORT: '0', HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  const exited = new Promise<{ code: number | null, signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`not running after ${timeoutMs} ms:\n${stderr.slice(-2000)}`)) }, timeoutMs)
    child.stderr!.on('data', (d) => { stderr += d })
    child.stdout!.on('data', (d) => {
      stdout += d
      const mqtt = /mqtt: +embedded broker on port (\d+)/.exec(stdout)
      const http = /http: +http:\/\/\S+ +\(port (\d+)\)/.exec(stdout)
      if (stdout.includes('gridcare is running') && mqtt && http) {
        clearTimeout(guard)
        const httpPort = Number(http[1])
        resolve({
          child, mqttPort: Number(mqtt[1]), httpPort, exited, stderr: () => stderr,
          async api (method, path, body, contentType) {
            const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
            const res = await fetch(`http://127.0.0.1:${httpPort}${path}`, {
              method, ...(payload !== undefined ? { body: payload } : {}),
              headers: { authorization: `Bearer ${ADMIN}`, ...(payload !== undefined ? { 'content-type': contentType ?? (typeof body === 'string' ? 'text/csv' : 'application/json') } : {}) },
            })
            const text = await res.text()
            let parsed: unknown = text
            try { parsed = JSON.parse(text) } catch {}
            return { status: res.status, body: parsed }
          },
        })
      }
    })
    exited.then(({ code, signal }) => { clearTimeout(guard); reject(new Error(`exited (${signal ?? code}) before it ran:\n${stderr.slice(-2000)}`)) })
  })
}
