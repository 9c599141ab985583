import { createServer, type Server, type AddressInfo } from 'node:net'
import { hostname } from 'node:os'
import { Aedes, type Client, type PublishPacket, type Subscription } from 'aedes'
import mqtt from 'mqtt'
import type { Logger } from 'pino'
import type { Config } from '../config/index.ts'
import type { MqttIdentity } from '../registry/index.ts'
import { parseDeviceTopic, TOPIC_ROOT } from '../vocab/index.ts'

/** One message from a device, as the broker hands it to ingest. */
export interface DeviceMessage {
  deviceId: string
  channel: 'telemetry' | 'events' | 'status'
  topic: string
  payload: Buffer
  /** Wall clock when the broker received it, epoch ms. */
  receivedAt: number
}

/** Resolves once the message is stored (or kept as a dead letter); only then is a QoS 1 message acknowledged. */
export type MessageSink = (msg: DeviceMessage) => Promise<void>

export interface BrokerDeps {
  config: Pick<Config, 'mqttPort' | 'mqttUrl' | 'mqttClientId' | 'mqttShareGroup'>
  logger: Logger
  verify: (username: string, password: string) => Promise<MqttIdentity | null>
  sink: MessageSink
  /** Host for the embedded listener; default 0.0.0.0. */
  host?: string
}

export interface Broker {
  start (): Promise<void>
  stop (): Promise<void>
  /** Publishes to subscribers (worker apps); QoS 1, not retained. */
  publish (topic: string, payload: string): Promise<void>
  /** The embedded broker's port once started; undefined with an external broker. */
  readonly port: number | undefined
  readonly mode: 'embedded' | 'external' | 'rabbitmq'
}

type GcClient = Client & { gc?: MqttIdentity }

/** MQTT: the embedded aedes broker, or a client of an external one when MQTT_URL is set. */
export function createBroker (deps: BrokerDeps): Broker {
  return deps.config.mqttUrl ? createExternal(deps, deps.config.mqttUrl) : createEmbedded(deps)
}

function createEmbedded ({ config, logger, verify, sink, host }: BrokerDeps): Broker {
  const log = logger.child({ module: 'broker' })
  let aedes: Aedes | undefined
  let server: Server | undefined
  let port: number | undefined
  let stopping: Promise<void> | undefined

  const authenticate = (client: GcClient, username: string | undefined, password: Buffer | undefined, done: (err: (Error & { returnCode: number }) | null, ok: boolean | null) => void) => {
    const refuse = () => {
      const err = Object.assign(new Error('bad username or password'), { returnCode: 4 })
      log.info({ clientId: client.id, username }, 'mqtt connect refused')
      done(err, false)
    }
    if (!username || !password) return refuse()
    verify(username, password.toString()).then((id) => {
      if (!id) return refuse()
      client.gc = id
      done(null, true)
    }, (err) => {
      log.error({ err: (err as Error).message }, 'mqtt authentication failed')
      done(Object.assign(new Error('server unavailable'), { returnCode: 3 }), false)
    })
  }

  // A device may publish only to its own topics. The reading is stored before the
  // callback returns, so aedes sends PUBACK only for stored readings.
  const authorizePublish = (client: GcClient | null, packet: PublishPacket, done: (err?: Error | null) => void) => {
    const id = client?.gc
    if (!client) return done(null) // messages published by gridcare itself
    const parsed = parseDeviceTopic(packet.topic)
    if (id?.type !== 'device' || !parsed || parsed.deviceId !== id.id || parsed.street !== id.street) {
      log.warn({ clientId: client.id, topic: packet.topic }, 'publish refused: not this client\'s topic')
      return done(new Error('not authorized to publish to ' + packet.topic))
    }
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload)
    sink({ deviceId: id.id, channel: parsed.channel, topic: packet.topic, payload, receivedAt: Date.now() })
      .then(() => done(null), (err) => {
        log.error({ err: (err as Error).message, deviceId: id.id }, 'message not stored; connection dropped so the device retries')
        // Drop the connection before aedes answers: MQTT 5 would otherwise get a
        // "not authorized" PUBACK and never resend the reading.
        client.conn.destroy()
        done(err as Error)
      })
  }

  const authorizeSubscribe = (client: GcClient, sub: Subscription, done: (err: Error | null, sub?: Subscription | null) => void) => {
    const id = client.gc
    const allowed = id?.type === 'device'
      ? sub.topic === id.topics.commands || sub.topic === `${id.topics.commands}/#` || sub.topic.startsWith(`${id.topics.commands}/`)
      : id?.type === 'worker' && sub.topic === id.topic
    if (!allowed || sub.topic.includes('+') || (sub.topic.includes('#') && !sub.topic.endsWith('/#'))) {
      log.info({ clientId: client.id, topic: sub.topic }, 'subscribe refused')
      return done(null, null)
    }
    done(null, sub)
  }

  return {
    mode: 'embedded',
    get port () { return port },
    async start () {
      aedes = await Aedes.createBroker({ authenticate, authorizePublish, authorizeSubscribe })
      aedes.on('clientError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'mqtt client error'))
      server = createServer(aedes.handle)
      await new Promise<void>((resolve, reject) => {
        server!.once('error', (err) => reject(new Error(`MQTT_PORT: cannot listen on ${config.mqttPort}: ${err.message}`)))
        server!.listen(config.mqttPort, host ?? '0.0.0.0', () => resolve())
      })
      port = (server.address() as AddressInfo).port
      log.info({ port }, `mqtt: embedded broker listening on ${port}`)
    },
    publish (topic, payload) {
      return new Promise((resolve, reject) => {
        if (!aedes) return reject(new Error('broker not started'))
        aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: false, dup: false }, (err) => err ? reject(err) : resolve())
      })
    },
    stop () {
      stopping ??= (async () => {
        if (server) {
          const s = server
          await new Promise<void>((resolve) => { s.close(() => resolve()); if (aedes) aedes.close() })
        }
        if (aedes && !aedes.closed) await new Promise<void>((resolve) => aedes!.close(() => resolve()))
      })()
      return stopping
    },
  }
}

function createExternal ({ config, logger, sink }: BrokerDeps, url: string): Broker {
  const log = logger.child({ module: 'broker' })
  let client: mqtt.MqttClient | undefined
  let stopping: Promise<void> | undefined
  const filters = ['telemetry', 'events', 'status'].map((c) => `$share/${config.mqttShareGroup}/${TOPIC_ROOT}/+/+/${c}`)
  return {
    mode: 'external',
    port: undefined,
    async start () {
      // Ack (PUBACK) to the external broker only after the message is stored.
      // A stable client id: the broker keeps this worker's persistent session across restarts.
      client = mqtt.connect(url, { clientId: config.mqttClientId ?? `gridcare-${hostname()}`, clean: false, reconnectPeriod: 2000 })
      client.handleMessage = (packet, done) => {
        const parsed = parseDeviceTopic(packet.topic)
        if (!parsed) return done()
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload)
        sink({ deviceId: parsed.deviceId, channel: parsed.channel, topic: packet.topic, payload, receivedAt: Date.now() })
          .then(() => done(), (err) => {
            log.error({ err: (err as Error).message }, 'message not stored; reconnecting so the broker redelivers')
            client?.stream.destroy()
          })
      }
      await client.subscribeAsync(filters, { qos: 1 })
      log.info({ url: redact(url) }, `mqtt: external broker ${redact(url)}`)
    },
    async publish (topic, payload) {
      if (!client) throw new Error('broker not started')
      await client.publishAsync(topic, payload, { qos: 1 })
    },
    stop () {
      stopping ??= client ? client.endAsync() : Promise.resolve()
      return stopping
    },
  }
}

const redact = (url: string) => url.replace(/\/\/[^@/]*@/, '//***@')
