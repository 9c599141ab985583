import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import fastifyStatic from '@fastify/static'
import { hasZodFastifySchemaValidationErrors, jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod'
import type { Logger } from 'pino'
import type { AddressBase } from '../addresses/index.ts'
import type { Alerts } from '../alerts/index.ts'
import { ERRORS, GridcareError } from '../errors/index.ts'
import type { Fleet } from '../fleet/index.ts'
import type { Notify } from '../notify/index.ts'
import type { Registry } from '../registry/index.ts'
import type { Reports } from '../reports/index.ts'
import { isTransient, type Db } from '../store/index.ts'
import { authPlugin } from './auth.ts'
import { guardInput, isDataException } from './guard.ts'
import { withExamples } from './openapi.ts'
import { mqttDocsRoute } from './mqtt-docs.ts'
import { registryRoutes } from './routes/registry.ts'
import { workerRoutes } from './routes/workers.ts'
import { deviceRoutes } from './routes/devices.ts'
import { alertRoutes } from './routes/alerts.ts'
import { feedRoutes } from './routes/feed.ts'
import { droneRoutes } from './routes/drones.ts'
import { overviewRoutes } from './routes/overview.ts'
import { householdRoutes } from './routes/households.ts'
import { caseworkRoutes } from './routes/casework.ts'
import { checkinRoutes } from './routes/checkins.ts'
import { checkinAnswerRoutes } from './routes/checkin-answer.ts'
import { rosterRoutes } from './routes/rosters.ts'
import { webhookRoutes } from './routes/webhooks.ts'
import { statisticsRoutes } from './routes/statistics.ts'
import { safetyIndexRoutes } from './routes/safety-index.ts'

export interface ApiDeps {
  logger: Logger
  db: Db
  addresses: AddressBase
  registry: Registry
  alerts: Alerts
  /** The drone fleet (tracks for the map); without it its routes answer 404. */
  fleet?: Fleet
  notify: Notify
  reports: Reports
  /** Extra route plugins at the root (RabbitMQ's auth backend routes in scale-out mode). */
  plugins?: FastifyPluginAsync[]
  /** True once broker, store and API are ready; /healthz answers 200 only then. */
  ready: () => { ready: boolean, parts: Record<string, string>, status?: string }
  /** Local time of the subjects, hours from UTC, for the pages and daily counts. Default 8. */
  utcOffsetHours?: number
  /** Wall clock. Default Date.now. */
  now?: () => number
}

declare module 'fastify' {
  interface FastifyInstance {
    deps: ApiDeps
    /** Every route as registered (method, url), for the probes that must cover them all. */
    routeList: Array<{ method: string, url: string }>
  }
}

const webDir = fileURLToPath(new URL('../web/', import.meta.url))
// Charts and maps come from the npm package, served by gridcare itself: no CDN on a closed network.
const echartsDir = dirname(createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js'))

/** The HTTP app, not yet listening: tests use inject(), start-up calls listen(). */
export async function buildApp (deps: ApiDeps): Promise<FastifyInstance> {
  const app = fastify({ loggerInstance: deps.logger.child({ module: 'api' }, { level: deps.logger.isLevelEnabled('warn') ? 'warn' : deps.logger.level }) as FastifyBaseLogger, bodyLimit: 20 * 1024 * 1024 }) as unknown as FastifyInstance
  app.decorate('deps', deps)
  const routeList: Array<{ method: string, url: string }> = []
  app.decorate('routeList', routeList)
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) if (method !== 'HEAD' && method !== 'OPTIONS') routeList.push({ method, url: r.url })
  })
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  app.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'string' }, (_req, body, done) => done(null, body))
  app.addContentTypeParser('application/geo+json', { parseAs: 'string' }, (_req, body, done) => {
    try { done(null, JSON.parse(body as string)) } catch (err) { (err as { statusCode?: number }).statusCode = 400; done(err as Error, undefined) }
  })

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof GridcareError) {
      return reply.status(err.statusCode).send({ error: { code: err.code, message: err.message, ...(err.details !== undefined ? { details: err.details } : {}) } })
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      return reply.status(400).send({ error: { code: 'REQUEST_INVALID', message: err.message, details: err.validation.map((v) => ({ path: v.instancePath, message: v.message })) } })
    }
    const e = err as { statusCode?: number, message: string }
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      return reply.status(e.statusCode).send({ error: { code: e.statusCode === 404 ? 'NOT_FOUND' : 'REQUEST_INVALID', message: e.message } })
    }
    if (isDataException(err)) {
      req.log.warn({ err }, 'the store refused a value the schemas let through')
      return reply.status(400).send({ error: { code: 'REQUEST_INVALID', message: `the store refused a value: ${e.message}` } })
    }
    // The store is away (an outage, a restart): a 503 the caller may retry, not a bug's 500.
    if (isTransient(err)) {
      req.log.warn({ err: e.message }, 'store unavailable: answered 503')
      return reply.status(503).header('retry-after', '5').send({ error: { code: 'STORE_UNAVAILABLE', message: ERRORS.STORE_UNAVAILABLE.message } })
    }
    req.log.error({ err }, 'request failed')
    return reply.status(500).send({ error: { code: 'INTERNAL', message: ERRORS.INTERNAL.message } })
  })
  guardInput(app)
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url}` } }))

  await app.register(swagger, {
    openapi: {
      info: { title: 'gridcare', version: '0.1.0', description: 'Meters, cameras and drones -> detectors -> tasks for grid workers. See ../shared/CONTRACT.md. Error codes: docs/errors.md. The MQTT device interface (topics, payloads, QoS, limits, a mosquitto_pub example): [/docs/mqtt](/docs/mqtt).' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: withExamples as never,
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  await app.register(mqttDocsRoute)

  app.get('/healthz', { schema: { hide: true } }, async (_req, reply) => {
    const r = deps.ready()
    return reply.status(r.ready ? 200 : 503).send({ status: r.ready ? 'ok' : (r.status ?? 'starting'), ...r.parts })
  })

  await app.register(async (api) => {
    await api.register(authPlugin)
    await api.register(registryRoutes)
    await api.register(workerRoutes)
    await api.register(deviceRoutes)
    await api.register(alertRoutes)
    await api.register(feedRoutes)
    await api.register(droneRoutes)
    await api.register(overviewRoutes)
    await api.register(householdRoutes)
    await api.register(caseworkRoutes)
    await api.register(checkinRoutes)
    await api.register(rosterRoutes)
    await api.register(webhookRoutes)
    await api.register(statisticsRoutes)
    await api.register(safetyIndexRoutes)
  }, { prefix: '/api' })
  await app.register(checkinAnswerRoutes)

  for (const plugin of deps.plugins ?? []) await app.register(plugin)
  await app.register(fastifyStatic, { root: webDir, prefix: '/', index: ['index.html'] })
  await app.register(fastifyStatic, { root: echartsDir, prefix: '/vendor/echarts/', decorateReply: false, allowedPath: (p) => p === '/echarts.min.js', maxAge: '1d' })
  app.get('/worker', { schema: { hide: true } }, (_req, reply) => reply.sendFile('worker.html'))
  app.get('/favicon.ico', { schema: { hide: true } }, (_req, reply) => reply.status(204).send())
  return app
}
