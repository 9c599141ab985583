/**
 * Throw-away RabbitMQ nodes from the Debian package, for the tests and `npm run failover`:
 * own node name, ports, data dir and Erlang cookie, so the machine's shared node is never
 * touched. Each node runs lean (one scheduler) with the MQTT plugin and the HTTP auth backend
 * behind the auth cache. Cleans up only what it started.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'

const run = promisify(execFile)
const SBIN = process.env.RABBITMQ_SBIN ?? '/usr/lib/rabbitmq/bin'

/** A free TCP port on loopback (the OS picks; closed again before use). */
export async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

export interface NodeOptions {
  /** Short node name, unique on this machine; the node is `<name>@localhost`. */
  name: string
  /** Directory for data, logs and the cookie (created). */
  dir: string
  cookie: string
  /** Base URL of gridcare's auth routes, e.g. http://127.0.0.1:8080/mqtt-auth, with ?key= when a secret is set. */
  authUrl: string
  /** Exchange the MQTT plugin publishes to (gridcare declares it). */
  exchange: string
}

export interface RabbitNode {
  name: string
  node: string
  amqpPort: number
  mqttPort: number
  amqpUrl: string
  mqttUrl: string
  /** The node's log (warnings and worse): when it saw a client's connection close, say. */
  logFile: string
  process: ChildProcess
  /** rabbitmqctl against this node. */
  ctl (...args: string[]): Promise<string>
  /** kill -9 of the node's Erlang VM. */
  kill (): void
  /** Orderly stop; waits for the process to exit. */
  stop (): Promise<void>
}

/** rabbitmq.conf for one node: ports, MQTT, HTTP auth behind the cache, lean memory. */
export function rabbitConf (o: { amqpPort: number, mqttPort: number, authUrl: string, exchange: string }): string {
  const [base, query] = o.authUrl.split('?')
  const path = (p: string) => `${base}/${p}${query ? `?${query}` : ''}`
  return [
    `listeners.tcp.default = 127.0.0.1:${o.amqpPort}`,
    `mqtt.listeners.tcp.default = 127.0.0.1:${o.mqttPort}`,
    'mqtt.allow_anonymous = false',
    `mqtt.exchange = ${o.exchange}`,
    'mqtt.vhost = /',
    // gridcare itself logs in as an internal user; devices and worker apps through gridcare.
    'auth_backends.1 = internal',
    'auth_backends.2 = cache',
    'auth_cache.cached_backend = http',
    'auth_cache.cache_ttl = 10000',
    'auth_http.http_method = post',
    `auth_http.user_path = ${path('user')}`,
    `auth_http.vhost_path = ${path('vhost')}`,
    `auth_http.resource_path = ${path('resource')}`,
    `auth_http.topic_path = ${path('topic')}`,
    'loopback_users = none',
    'vm_memory_high_watermark.relative = 0.2',
    'disk_free_limit.absolute = 50MB',
    'log.console = false',
    'log.file.level = warning',
    '',
  ].join('\n')
}

/**
 * MQTT usernames are `device:<id>`: by default RabbitMQ 3.10 splits a username at its last
 * colon into vhost and user. ignore_colons_in_username has no rabbitmq.conf key in 3.10, so it
 * goes in advanced.config.
 */
export const ADVANCED_CONFIG = '[{rabbitmq_mqtt, [{ignore_colons_in_username, true}]}].\n'

export async function startRabbitNode (o: NodeOptions): Promise<RabbitNode> {
  const [amqpPort, mqttPort, distPort] = [await freePort(), await freePort(), await freePort()]
  mkdirSync(o.dir, { recursive: true })
  const home = join(o.dir, 'home')
  mkdirSync(home, { recursive: true })
  writeFileSync(join(home, '.erlang.cookie'), o.cookie, { mode: 0o400 })
  writeFileSync(join(o.dir, 'rabbitmq.conf'), rabbitConf({ amqpPort, mqttPort, authUrl: o.authUrl, exchange: o.exchange }))
  writeFileSync(join(o.dir, 'advanced.config'), ADVANCED_CONFIG)
  writeFileSync(join(o.dir, 'enabled_plugins'), '[rabbitmq_mqtt,rabbitmq_auth_backend_http,rabbitmq_auth_backend_cache].\n')
  const node = `${o.name}@localhost`
  const env = {
    ...process.env,
    HOME: home,
    RABBITMQ_NODENAME: node,
    RABBITMQ_USE_LONGNAME: 'false',
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(amqpPort),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_CONFIG_FILE: join(o.dir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(o.dir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(o.dir, 'enabled_plugins'),
    RABBITMQ_MNESIA_BASE: join(o.dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(o.dir, 'log'),
    RABBITMQ_PID_FILE: join(o.dir, 'pid'),
    RABBITMQ_CONF_ENV_FILE: join(o.dir, 'rabbitmq-env.conf'),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '+S 1:1 +A 4 -setcookie ' + o.cookie,
  }
  writeFileSync(env.RABBITMQ_CONF_ENV_FILE, '')
  const out = openSync(join(o.dir, 'server.out'), 'a')
  const child = spawn(join(SBIN, 'rabbitmq-server'), [], { env, stdio: ['ignore', out, out], detached: true })
  closeSync(out)
  const ctlFor = (ms: number) => async (...args: string[]) => {
    const { stdout } = await run(join(SBIN, 'rabbitmqctl'), ['-n', node, '--erlang-cookie', o.cookie, ...args], { env: { ...env }, timeout: ms })
    return stdout
  }
  const ctl = ctlFor(120_000)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const n: RabbitNode = {
    name: o.name,
    node,
    amqpPort,
    mqttPort,
    amqpUrl: `amqp://gridcare:gridcare@127.0.0.1:${amqpPort}`,
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    logFile: join(env.RABBITMQ_LOG_BASE, `${node}.log`),
    process: child,
    ctl,
    kill () {
      // rabbitmq-server execs the Erlang VM in the same process: this is the node itself.
      try { process.kill(-child.pid!, 'SIGKILL') } catch {}
    },
    async stop () {
      if (child.exitCode !== null || child.signalCode !== null) return
      await ctl('stop').catch(() => n.kill())
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))])
      n.kill()
    },
  }
  try {
    // `wait` waits for the pid file, then for the node to boot; fails fast if the VM exits.
    await Promise.race([
      // Minutes, not seconds, on a machine this busy (a node alone boots in about 40 s).
      ctlFor(300_000)('wait', env.RABBITMQ_PID_FILE, '--timeout', '290'),
      exited.then(() => { throw new Error('exited') }),
    ])
  } catch (err) {
    n.kill()
    let tail = ''
    try { tail = readFileSync(join(o.dir, 'server.out'), 'utf8').slice(-800) } catch {}
    throw new Error(`RabbitMQ node ${node} did not start: ${(err as Error).message}\n${tail}`)
  }
  return n
}

export interface Cluster {
  nodes: RabbitNode[]
  dir: string
  /** Stops every node still running and removes the data dir. */
  stop (): Promise<void>
}

/**
 * n nodes; node 2..n join node 1; a `gridcare` user (administrator) for the workers.
 * `authUrl` is where gridcare's /mqtt-auth routes will listen (may not be up yet).
 */
export async function startCluster (o: { size: number, authUrl: string, exchange: string, prefix?: string }): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'gridcare-rabbit-'))
  const cookie = randomBytes(16).toString('hex').toUpperCase()
  const prefix = o.prefix ?? `gc${process.pid}`
  const nodes: RabbitNode[] = []
  const cluster: Cluster = {
    nodes,
    dir,
    async stop () {
      await Promise.all(nodes.map((n) => n.stop().catch(() => n.kill())))
      rmSync(dir, { recursive: true, force: true })
    },
  }
  try {
    // One at a time: two Erlang VMs booting at once on two shared cores only slow each other.
    for (let i = 1; i <= o.size; i++) {
      const n = await startRabbitNode({ name: `${prefix}n${i}`, dir: join(dir, `n${i}`), cookie, authUrl: o.authUrl, exchange: o.exchange })
      nodes.push(n)
      if (i > 1) {
        await n.ctl('stop_app')
        await n.ctl('join_cluster', nodes[0]!.node)
        await n.ctl('start_app')
      }
    }
    // Retried: on a loaded machine a just-joined cluster has answered "no such user" to the next command.
    const retry = async (...args: string[]) => {
      for (let i = 1; ; i++) {
        try { return await nodes[0]!.ctl(...args) } catch (err) {
          if (i >= 5) throw err
          await new Promise((r) => setTimeout(r, 2000))
        }
      }
    }
    await retry('add_user', 'gridcare', 'gridcare').catch(async (err) => { if (!(await retry('list_users')).includes('gridcare')) throw err })
    await retry('set_user_tags', 'gridcare', 'administrator')
    await retry('set_permissions', '-p', '/', 'gridcare', '.*', '.*', '.*')
  } catch (err) {
    await cluster.stop()
    throw err
  }
  return cluster
}
