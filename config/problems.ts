import { connect, createServer } from 'node:net'
/**
 * Start-up problems said in one line: the variable to change and what to set.
 * The caller prints `gridcare: cannot start: <line>`.
 */

/** A listener that could not start: the port taken, or the host not an address of this machine. */
export function listenProblem (o: { portVar: string, port: number, hostVar?: string, host?: string, err: unknown, portHint?: string }): Error {
  const code = (o.err as NodeJS.ErrnoException)?.code
  const msg = (o.err as Error)?.message ?? String(o.err)
  if (code === 'EADDRINUSE') {
    return new Error(`${o.portVar}: port ${o.port} is in use by another program; set ${o.portVar} to a free port (${o.portVar}=0 picks one)${o.portHint ? ` ${o.portHint}` : ''}`)
  }
  if (code === 'EACCES') return new Error(`${o.portVar}: port ${o.port} needs privileges this process lacks; set ${o.portVar} to 1024 or above (${o.portVar}=0 picks a free one)`)
  if (o.hostVar && (code === 'ENOTFOUND' || code === 'EADDRNOTAVAIL' || code === 'EAI_AGAIN' || code === 'EAI_FAIL')) {
    return new Error(`${o.hostVar}: cannot listen on "${o.host}" (${code}: not an address of this machine); set ${o.hostVar} to one, e.g. 0.0.0.0 (all) or 127.0.0.1 (this machine only)`)
  }
  return new Error(`${o.portVar}: cannot listen on port ${o.port}${o.host ? ` of ${o.host}` : ''} (${msg.split('\n')[0]})`)
}

/**
 * Checks, before the store is opened (which can take a while), that the ports
 * can be had and an external broker answers, so a mistake is said at once.
 * The real listeners report the same problems the same way if one slips by.
 */
export async function preflight (config: { httpPort: number, httpHost: string, mqttPort: number, mqttUrl: string | undefined }): Promise<void> {
  await canListen(config.httpPort, config.httpHost).catch((err) => { throw listenProblem({ portVar: 'HTTP_PORT', port: config.httpPort, hostVar: 'HTTP_HOST', host: config.httpHost, err }) })
  if (!config.mqttUrl) {
    await canListen(config.mqttPort, '0.0.0.0').catch((err) => { throw listenProblem({ portVar: 'MQTT_PORT', port: config.mqttPort, err, portHint: config.mqttPort === 1883 ? '(1883 is the MQTT default: another broker such as Mosquitto may hold it)' : '' }) })
  } else {
    await reachable(config.mqttUrl)
  }
}

function canListen (port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(port, host, () => s.close(() => resolve()))
  })
}

/** A TCP connection to an mqtt:// or tcp:// broker, three tries about 1.5 s apart. */
async function reachable (url: string): Promise<void> {
  const u = new URL(url)
  if (!['mqtt:', 'tcp:', 'mqtts:', 'ssl:'].includes(u.protocol)) return
  const port = Number(u.port || (u.protocol === 'mqtts:' || u.protocol === 'ssl:' ? 8883 : 1883))
  let last = ''
  for (let attempt = 0; attempt < 3; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 1500))
    try {
      await new Promise<void>((resolve, reject) => {
        const c = connect({ host: u.hostname, port, timeout: 5000 })
        c.once('connect', () => { c.destroy(); resolve() })
        c.once('timeout', () => { c.destroy(); reject(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })) })
        c.once('error', reject)
      })
      return
    } catch (err) {
      last = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    }
  }
  throw new Error(`MQTT_URL: cannot connect to the broker at ${u.protocol}//${u.host} (${last}); check that it runs and the URL, or unset MQTT_URL to use the embedded broker`)
}
