/**
 * RabbitMQ's HTTP auth backend asks gridcare who may connect and what they may touch:
 * POST /mqtt-auth/{user,vhost,resource,topic} with form fields, answered `allow` or `deny`
 * in plain text. The same rules as the embedded broker: a device's generated password or a
 * worker's token (registry.verifyMqtt), and the per-device topic ACL (broker/acl.ts).
 *
 * Only the broker should call these: with MQTT_AUTH_SECRET the broker's configured URLs carry
 * `?key=<secret>`, else only loopback callers are answered.
 */
import { timingSafeEqual } from 'node:crypto'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { mayPublish, maySubscribe } from '../broker/acl.ts'
import type { DeviceInfo, MqttIdentity } from '../registry/index.ts'
import { deviceTopics, workerTopic } from '../vocab/index.ts'
import { keyToTopic } from './partition.ts'

export interface MqttAuthDeps {
  verify: (username: string, password: string) => Promise<MqttIdentity | null>
  getDevice: (id: string) => Promise<DeviceInfo | null>
  /** The exchange MQTT publishes to; the only exchange devices may read or write. */
  exchange: string
  secret: string | undefined
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1'])

/** Who a username names, without its password (the broker authenticated it before asking). */
async function identify (deps: MqttAuthDeps, username: string): Promise<MqttIdentity | null> {
  if (username.startsWith('device:')) {
    const d = await deps.getDevice(username.slice('device:'.length))
    return d ? { type: 'device', id: d.id, kind: d.kind, street: d.street, topics: deviceTopics(d.street, d.id) } : null
  }
  if (username.startsWith('worker:')) {
    const id = username.slice('worker:'.length)
    return { type: 'worker', id, topic: workerTopic(id) }
  }
  return null
}

export function mqttAuthRoutes (deps: MqttAuthDeps): FastifyPluginAsync {
  return async (app) => {
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)))
    })
    const fields = (req: FastifyRequest): Record<string, string> =>
      ({ ...(req.query as Record<string, string>), ...((req.body as Record<string, string> | undefined) ?? {}) })
    const trusted = (req: FastifyRequest) => {
      if (!deps.secret) return LOOPBACK.has(req.ip)
      const key = Buffer.from(String((req.query as { key?: string }).key ?? ''))
      const want = Buffer.from(deps.secret)
      return key.length === want.length && timingSafeEqual(key, want)
    }
    const answer = (decide: (f: Record<string, string>) => Promise<boolean>) => async (req: FastifyRequest) => {
      if (!trusted(req)) return 'deny'
      try {
        return (await decide(fields(req))) ? 'allow' : 'deny'
      } catch (err) {
        req.log.error({ err: (err as Error).message }, 'mqtt auth check failed')
        return 'deny'
      }
    }
    const opts = { schema: { hide: true } }
    const routes: Record<string, (f: Record<string, string>) => Promise<boolean>> = {
      user: async (f) => (f.username && f.password ? (await deps.verify(f.username, f.password)) !== null : false),
      vhost: async (f) => f.vhost === '/',
      resource: async (f) => {
        if (f.resource === 'exchange') return f.name === deps.exchange && (f.permission === 'read' || f.permission === 'write')
        // The MQTT plugin's own queue for a client's subscriptions.
        if (f.resource === 'queue') return (f.name ?? '').startsWith('mqtt-subscription-')
        return false
      },
      topic: async (f) => {
        if (f.name !== deps.exchange || !f.username || !f.routing_key) return false
        const id = await identify(deps, f.username)
        if (!id) return false
        const topic = keyToTopic(f.routing_key)
        return f.permission === 'write' ? mayPublish(id, topic) : maySubscribe(id, topic)
      },
    }
    for (const [name, decide] of Object.entries(routes)) {
      app.post(`/mqtt-auth/${name}`, opts, answer(decide))
      app.get(`/mqtt-auth/${name}`, opts, answer(decide))
    }
  }
}
