/**
 * The only place that reads process.env: parsed once with zod, every problem
 * listed, frozen, passed down.
 */
import { z } from 'zod'

const port = (name: string, dflt: number) => z.string().optional()
  .transform((v, ctx) => {
    if (v === undefined || v === '') return dflt
    const n = Number(v)
    if (!Number.isInteger(n) || n < 0 || n > 65535) {
      ctx.addIssue({ code: 'custom', message: `${name} must be a port number 0-65535 (0 picks a free one), got "${v}"` })
      return z.NEVER
    }
    return n
  })

const url = (name: string, protocols: string[]) => z.string().optional()
  .transform((v, ctx) => {
    if (v === undefined || v === '') return undefined
    let u: URL
    try { u = new URL(v) } catch {
      ctx.addIssue({ code: 'custom', message: `${name} must be a URL (${protocols.join(', ')}), got "${v}"` })
      return z.NEVER
    }
    if (!protocols.includes(u.protocol.replace(/:$/, ''))) {
      ctx.addIssue({ code: 'custom', message: `${name} must use ${protocols.join(' or ')}, got "${u.protocol}"` })
      return z.NEVER
    }
    return v
  })

const duration = (name: string, dflt: number) => z.string().optional().transform((v, ctx) => {
  if (v === undefined || v === '') return dflt
  const n = Number(v)
  if (!Number.isFinite(n) || n < 0) {
    ctx.addIssue({ code: 'custom', message: `${name} must be a non-negative number, got "${v}"` })
    return z.NEVER
  }
  return n
})

const EnvSchema = z.object({
  MQTT_PORT: port('MQTT_PORT', 1883),
  MQTT_URL: url('MQTT_URL', ['mqtt', 'mqtts', 'tcp', 'ssl', 'ws', 'wss']),
  HTTP_PORT: port('HTTP_PORT', 8080),
  HTTP_HOST: z.string().optional().transform((v) => v || '0.0.0.0'),
  DATABASE_URL: url('DATABASE_URL', ['postgres', 'postgresql']),
  DATA_DIR: z.string().optional().transform((v) => v || './data'),
  ADMIN_TOKEN: z.string().optional().transform((v, ctx) => {
    if (v === undefined || v === '') return undefined
    if (v.length < 16) {
      ctx.addIssue({ code: 'custom', message: 'ADMIN_TOKEN must be at least 16 characters' })
      return z.NEVER
    }
    return v
  }),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional()
    .transform((v) => v ?? 'info'),
  UTC_OFFSET_HOURS: z.string().optional().transform((v, ctx) => {
    if (v === undefined || v === '') return 8
    const n = Number(v)
    if (!Number.isFinite(n) || n < -12 || n > 14) {
      ctx.addIssue({ code: 'custom', message: `UTC_OFFSET_HOURS must be a number of hours from -12 to 14, got "${v}"` })
      return z.NEVER
    }
    return n
  }),
  COMPRESS_AFTER_DAYS: duration('COMPRESS_AFTER_DAYS', 7),
  RETAIN_RAW_DAYS: duration('RETAIN_RAW_DAYS', 0),
  DATABASE_CONNECT_TIMEOUT_S: duration('DATABASE_CONNECT_TIMEOUT_S', 60),
  EMBEDDED_STORE_THREAD: z.string().optional().transform((v, ctx) => {
    if (v === '0') return false
    if (v === undefined || v === '' || v === '1') return true
    ctx.addIssue({ code: 'custom', message: `EMBEDDED_STORE_THREAD must be 0 or 1, got "${v}"` })
    return z.NEVER
  }),
  RABBITMQ_URL: z.string().optional().transform((v, ctx) => {
    if (v === undefined || v === '') return undefined
    // Several nodes, comma-separated: a worker reconnects to the next when its node goes.
    for (const one of v.split(',')) {
      let ok = false
      try { ok = ['amqp:', 'amqps:'].includes(new URL(one.trim()).protocol) } catch {}
      if (!ok) { ctx.addIssue({ code: 'custom', message: `RABBITMQ_URL must be amqp:// or amqps:// URLs, comma-separated, got "${one}"` }); return z.NEVER }
    }
    return v
  }),
  RABBITMQ_PARTITIONS: z.string().optional().transform((v, ctx) => {
    if (v === undefined || v === '') return 16
    const n = Number(v)
    if (!Number.isInteger(n) || n < 1 || n > 1024) { ctx.addIssue({ code: 'custom', message: `RABBITMQ_PARTITIONS must be a whole number 1-1024, got "${v}"` }); return z.NEVER }
    return n
  }),
  RABBITMQ_EXCHANGE: z.string().optional().transform((v) => v || 'gc.mqtt'),
  RABBITMQ_CHECKPOINT_S: z.string().optional().transform((v, ctx) => {
    if (v === undefined || v === '') return 15
    const n = Number(v)
    if (!Number.isFinite(n) || n < 1 || n > 86_400) { ctx.addIssue({ code: 'custom', message: `RABBITMQ_CHECKPOINT_S must be seconds 1-86400, got "${v}"` }); return z.NEVER }
    return n
  }),
  MQTT_AUTH_SECRET: z.string().optional().transform((v, ctx) => {
    if (v === undefined || v === '') return undefined
    if (v.length < 16 || !/^[A-Za-z0-9_-]+$/.test(v)) { ctx.addIssue({ code: 'custom', message: 'MQTT_AUTH_SECRET must be at least 16 of A-Z a-z 0-9 _ -' }); return z.NEVER }
    return v
  }),
  CHECKIN_MINUTES: duration('CHECKIN_MINUTES', 20),
  REOPEN_WITHIN_HOURS: duration('REOPEN_WITHIN_HOURS', 12),
  MQTT_CLIENT_ID: z.string().optional().transform((v) => v || undefined),
  MQTT_SHARE_GROUP: z.string().optional().transform((v, ctx) => {
    if (!v) return 'gridcare'
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(v)) { ctx.addIssue({ code: 'custom', message: `MQTT_SHARE_GROUP must be 1-64 of A-Z a-z 0-9 _ -, got "${v}"` }); return z.NEVER }
    return v
  }),
})

export interface Config {
  /** Embedded broker port; default 1883, 0 picks a free one. Ignored when mqttUrl is set. */
  mqttPort: number
  /** External broker to use instead of the embedded one. */
  mqttUrl: string | undefined
  /** HTTP port; default 8080, 0 picks a free one. */
  httpPort: number
  httpHost: string
  /** PostgreSQL/TimescaleDB server; when absent the embedded store in dataDir is used. */
  databaseUrl: string | undefined
  /** Embedded store directory; default ./data. */
  dataDir: string
  adminToken: string | undefined
  logLevel: string
  /** Local time offset for time-of-day baselines; default +8 (China Standard Time). */
  utcOffsetHours: number
  /** TimescaleDB: compress raw chunks older than this many days; default 7. */
  compressAfterDays: number
  /** TimescaleDB: drop raw readings older than this many days; 0 (default) keeps them. */
  retainRawDays: number
  /** Client id with an external broker; default gridcare-<hostname>. Keep it stable: the broker holds this worker's session. */
  mqttClientId: string | undefined
  /** Shared-subscription group the gridcare workers split device traffic in; default gridcare. */
  mqttShareGroup: string
  /** Scale-out mode: AMQP URLs of the RabbitMQ cluster's nodes, comma-separated (tried in turn); devices connect to its MQTT plugin. */
  rabbitmqUrl: string | undefined
  /** Number of street partitions (quorum queues gc.p.0..P-1); default 16. Fixed for the life of a cluster. */
  rabbitmqPartitions: number
  /** Exchange the MQTT plugin publishes to (mqtt.exchange in rabbitmq.conf); default gc.mqtt, declared by gridcare. */
  rabbitmqExchange: string
  /** Seconds between checkpoints of each partition's changed detector state (a moved partition replays only what came after); default 15. */
  rabbitmqCheckpointS: number
  /** Shared secret RabbitMQ's HTTP auth backend sends as ?key= to /mqtt-auth; without it only loopback callers are answered. */
  mqttAuthSecret: string | undefined
  /** How long start-up keeps retrying a store server that is down, seconds; default 60. */
  dbConnectTimeoutS: number
  /** The embedded store (PGlite) on a thread of its own (store/embedded.ts, EmbeddedOptions.worker); default true (EMBEDDED_STORE_THREAD=0: the main thread). */
  embeddedStoreThread: boolean
  /** How long a subject's contact has to answer a check-in before the worker gets the task, minutes; default 20. */
  checkinMinutes: number
  /** A rise of the same subject and kind within this long after it cleared reopens the same alert and task, hours; default 12. */
  reopenWithinHours: number
}

export class ConfigError extends Error {
  constructor (readonly problems: string[]) {
    super(problems.join('; '))
    this.name = 'ConfigError'
  }
}

/** Parses an environment; throws ConfigError listing every problem. */
export function loadConfig (env: Record<string, string | undefined> = process.env): Readonly<Config> {
  const parsed = EnvSchema.safeParse(env)
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => i.message.startsWith(String(i.path[0])) ? i.message : `${String(i.path[0])}: ${i.message}`))
  }
  const e = parsed.data
  return Object.freeze({
    mqttPort: e.MQTT_PORT,
    mqttUrl: e.MQTT_URL,
    httpPort: e.HTTP_PORT,
    httpHost: e.HTTP_HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    adminToken: e.ADMIN_TOKEN,
    logLevel: e.LOG_LEVEL,
    utcOffsetHours: e.UTC_OFFSET_HOURS,
    compressAfterDays: e.COMPRESS_AFTER_DAYS,
    retainRawDays: e.RETAIN_RAW_DAYS,
    dbConnectTimeoutS: e.DATABASE_CONNECT_TIMEOUT_S,
    embeddedStoreThread: e.EMBEDDED_STORE_THREAD,
    checkinMinutes: e.CHECKIN_MINUTES,
    reopenWithinHours: e.REOPEN_WITHIN_HOURS,
    mqttClientId: e.MQTT_CLIENT_ID,
    mqttShareGroup: e.MQTT_SHARE_GROUP,
    rabbitmqUrl: e.RABBITMQ_URL,
    rabbitmqPartitions: e.RABBITMQ_PARTITIONS,
    rabbitmqExchange: e.RABBITMQ_EXCHANGE,
    rabbitmqCheckpointS: e.RABBITMQ_CHECKPOINT_S,
    mqttAuthSecret: e.MQTT_AUTH_SECRET,
  })
}
