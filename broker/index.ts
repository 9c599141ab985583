// First, before aedes and MQTT.js load the packet parser: its debug calls, made quiet.
import './quiet-debug.ts'
import { randomBytes } from 'node:crypto'
import { createServer, type Server, type AddressInfo } from 'node:net'
import { hostname } from 'node:os'
import { Aedes, type Client, type PublishPacket, type Subscription } from 'aedes'
import mqtt from 'mqtt'
import type { Logger } from 'pino'
import type { Config } from '../config/index.ts'
import type { MqttIdentity } from '../registry/index.ts'
import { parseDeviceTopic, TOPIC_ROOT } from '../vocab/index.ts'
import { listenProblem } from '../config/problems.ts'
import { createGuard, DEFAULT_LIMITS, type BrokerLimits } from './guard.ts'
import { filterOversized, type Oversized } from './oversize.ts'
import { createAckWriter, type AckWriter } from './acks.ts'

export { DEFAULT_LIMITS, type BrokerLimits } from './guard.ts'

/** One message from a device, as the broker hands it to ingest. */
export interface DeviceMessage {
  deviceId: string
  channel: 'telemetry' | 'events' | 'status'
  topic: string
  /** The topic's street, when the broker has parsed the topic already (ingest then need not again). */
  street?: string
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
  /**
   * The sink for a caller that takes a callback, used by the embedded broker when given (ingest's
   * handleWith): no promise per message, which every scavenge would copy until the ack.
   */
  sinkWith?: (msg: DeviceMessage, done: (err: Error | null) => void) => void
  /** Host for the embedded listener; default 0.0.0.0. */
  host?: string
  /** Packet size, refusal rate and cache limits; defaults in DEFAULT_LIMITS. */
  limits?: Partial<BrokerLimits>
  /** Told of each publish a device made to a topic not its own (acknowledged and dropped). */
  /** Keeps a refused publish (a dead letter); its acknowledgement waits for this. */
  onRefused?: (r: { deviceId: string, topic: string, payload: Buffer }) => Promise<void> | void
  /** Keeps a publish of a device's own topic that was over the packet limit (a dead letter); it is acknowledged once this resolves. */
  onTooLarge?: (r: Oversized & { deviceId: string, reason: string }) => Promise<void>
}

export interface Broker {
  start (): Promise<void>
  stop (): Promise<void>
  /** Publishes to subscribers (worker apps); QoS 1, not retained. */
  publish (topic: string, payload: string): Promise<void>
  /** The embedded broker's port once started; undefined with an external broker. */
  readonly port: number | undefined
  readonly mode: 'embedded' | 'external' | 'rabbitmq'
  /** Clients connected now (embedded), or 1/0 for the link to an external broker. */
  readonly connected: number
  /** Refused publishes per identity since start (embedded). */
  refusals (): Record<string, number>
  /**
   * Closes every live session of a device or worker whose credentials were rotated or
   * revoked, or which was removed, and forgets its cached credentials; answers how many
   * connections were closed. Embedded broker only: elsewhere the broker holding the
   * sessions is not gridcare's.
   */
  closeSessions? (who: { type: 'device' | 'worker', id: string }): number
}

/** Where a refused publish goes once acknowledged: a topic nobody may subscribe to. */
const REFUSED_TOPIC = '$gridcare/refused'
/** Closes a client's connection after what was written to it (earlier PUBACKs) has gone out; nothing written later is sent. */
const hangUp = (acks: AckWriter, client: GcClient) => {
  acks.flushClient(client)
  client.conn.end()
  setTimeout(() => client.conn.destroy(), 2000).unref()
}
const payloadOf = (packet: PublishPacket) => Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload)

/**
 * Marks a device's publish to its own topic, which authorizePublish hands to the store before
 * it is acknowledged (acks.ts), and a refused one acknowledged and dropped. Nobody may subscribe
 * to a device topic (authorizeSubscribe), so aedes' delivery of it after the PUBACK (retained
 * store, offline queues, subscriber match) would find no one: the broker's publish skips it for
 * packets so marked (about a tenth of the main thread's CPU under load, in profiles of the bench).
 */
const STORED = Symbol('gridcare: stored, not delivered')
type Stored = PublishPacket & { [STORED]?: true }

/** A publish whose ack waits for the store: the packet, and aedes' callback for it. */
interface Awaiting {
  done: (err?: Error | null) => void, packet: PublishPacket, seq: number
  /** A refused or oversized publish's own answer (ackAndDrop, refuseV5), made in its turn; a stored one's is its PUBACK. */
  answer?: () => void
}
type GcClient = Client & {
  gc?: MqttIdentity, oversize?: ReturnType<typeof filterOversized>, gcWaiting?: Set<Awaiting>
  /** PUBACKs gathered for this client and not yet written: packet ids, and aedes' callbacks for them (acks.ts). */
  gcAckIds?: number[], gcAckDone?: Array<(err?: Error | null) => void>
  /** The publishes numbered so far, the first of them not yet answered, and those ready before it, by number (answerInTurn). */
  gcSeq?: number, gcNextAnswer?: number, gcEarly?: Map<number, Awaiting>
}
const usernameOf = (who: { type: 'device' | 'worker', id: string }) => `${who.type}:${who.id}`
/**
 * Which of its own topics a device published to, or null: anything else a client publishes is
 * refused. Its parts are the identity's own strings, not slices of each message's topic: they live
 * with the message until its ack (~120 bytes a reading in flight that every scavenge copied).
 */
const ownTopic = (id: MqttIdentity | undefined, topic: string): { deviceId: string, street: string, channel: 'telemetry' | 'events' | 'status' } | null => {
  if (id?.type !== 'device') return null
  const t = id.topics
  const channel = topic === t.telemetry ? 'telemetry' : topic === t.events ? 'events' : topic === t.status ? 'status' : null
  return channel && { deviceId: id.id, street: id.street, channel }
}

/**
 * The publishes of a client whose acks wait for the store. One 'close' listener
 * per connection answers them all when it goes, rather than one listener per
 * message (a concentrator with 256 in flight tripped Node's listener-leak warning
 * and paid an O(n) removal per ack).
 */
function awaitingStore (client: GcClient): Set<Awaiting> {
  if (client.gcWaiting) return client.gcWaiting
  const waiting = new Set<Awaiting>()
  client.gcWaiting = waiting
  client.conn.once('close', () => {
    const err = new Error('connection closed while the message was being stored')
    for (const a of [...waiting]) answerOnce(waiting, a, err)
    client.gcEarly = undefined // answered just now
  })
  return waiting
}

/** A publish of `client` from now on waiting for its answer, numbered in the order the client's publishes came. */
function enter (client: GcClient, packet: PublishPacket, done: (err?: Error | null) => void): Awaiting {
  client.gcSeq ??= client.gcNextAnswer = 0
  const a: Awaiting = { done, packet, seq: client.gcSeq++ }
  awaitingStore(client).add(a)
  return a
}

/**
 * Answers a publish once: by the store, or by its connection closing, whichever comes first.
 * A plain function over a record, not a closure named per message: tsx compiles with
 * esbuild's keepNames, which renames each named closure with Object.defineProperty (about
 * 3% of the CPU at 30k messages a second, in CPU profiles of the bench).
 */
function answerOnce (waiting: Set<Awaiting>, a: Awaiting, err: Error | null) {
  if (waiting.delete(a)) a.done(err)
}

/**
 * Answers a publish that is stored (or refused, and its dead letter kept): its PUBACK goes out with
 * the others of this turn (QoS 1), or aedes goes on (QoS 0 and 2), in the order the client's
 * publishes came, as MQTT asks of PUBACKs (3.1.1 and 5.0, 4.6): one ready before a publish ahead of
 * it (a device's first message waits for its device to be looked up, the next may not; a refused
 * one waits only for its dead letter) waits for it. Publishes are numbered as they come (`seq`); in
 * the usual case the one ready is the next to answer and goes at once. A publish that fails hangs
 * up its connection, whose 'close' answers whatever still waits (awaitingStore).
 */
function answerInTurn (acks: AckWriter, client: GcClient, a: Awaiting) {
  const waiting = client.gcWaiting!
  if (!waiting.has(a)) return
  // Once the connection is gone there is no order to keep (its will, published by aedes after the
  // close, comes after publishes the close answered): acks.ack fails it, as aedes did.
  if (a.seq !== client.gcNextAnswer && !client.conn.destroyed) {
    (client.gcEarly ??= new Map()).set(a.seq, a)
    return
  }
  let next: Awaiting | undefined = a
  while (next !== undefined) {
    if (waiting.delete(next)) {
      if (next.answer) next.answer()
      else acks.ack(client, next.packet, next.done)
    }
    const seq: number = client.gcNextAnswer = next.seq + 1
    next = client.gcEarly?.get(seq)
    if (next !== undefined) client.gcEarly!.delete(seq)
  }
}

/** MQTT: the embedded aedes broker, or a client of an external one when MQTT_URL is set. */
export function createBroker (deps: BrokerDeps): Broker {
  return deps.config.mqttUrl ? createExternal(deps, deps.config.mqttUrl) : createEmbedded(deps)
}

function createEmbedded ({ config, logger, verify, sink, sinkWith, host, limits: given, onRefused, onTooLarge }: BrokerDeps): Broker {
  const log = logger.child({ module: 'broker' })
  const limits = { ...DEFAULT_LIMITS, ...given }
  const guard = createGuard(limits)
  let aedes: Aedes | undefined
  let server: Server | undefined
  let port: number | undefined
  let stopping: Promise<void> | undefined
  let connected = 0
  /** The payload of the stand-in for a PUBLISH over the packet limit (broker/oversize.ts); no device can know it. */
  const marker = Buffer.from(`gridcare-oversized:${randomBytes(16).toString('hex')}`)
  /** Accepted connections by username, from the CONNACK decision on: what closeSessions closes. */
  const live = new Map<string, Set<GcClient>>()
  const acks = createAckWriter()
  const deliver = sinkWith ?? ((msg: DeviceMessage, done: (err: Error | null) => void) => { sink(msg).then(() => done(null), (err) => done(err as Error)) })

  type Done = (err: (Error & { returnCode: number }) | null, ok: boolean | null) => void
  const refuse = (client: GcClient, username: string | undefined, done: Done, returnCode = 4, why = 'bad username or password') => {
    log.info({ clientId: client.id, username, returnCode }, `mqtt connect refused: ${why}`)
    done(Object.assign(new Error(why), { returnCode }), false)
  }
  const accept = (client: GcClient, username: string, id: MqttIdentity, done: Done) => {
    if (!guard.claim(client.id, username, id.id)) return refuse(client, username, done, 2, `client id "${client.id}" belongs to another device`)
    client.gc = id
    if (client.conn.destroyed) return refuse(client, username, done, 3, 'connection closed during authentication')
    let mine = live.get(username)
    if (!mine) live.set(username, mine = new Set())
    mine.add(client)
    client.conn.once('close', () => { mine.delete(client); if (mine.size === 0 && live.get(username) === mine) live.delete(username) })
    const wait = guard.penalty(username)
    if (wait > 0) {
      log.warn({ clientId: client.id, username, waitMs: wait }, 'mqtt connect held: too many refused publishes')
      setTimeout(() => done(null, true), wait).unref()
    } else done(null, true)
  }

  // While the store cannot answer, a device whose exact credentials were
  // verified before is let in from the cache, and its acks wait for the store.
  // An unknown one is held, then dropped without an answer: MQTT clients retry
  // a dropped connection, not a refused one (MQTT.js gives up on return code 3).
  const authenticate = (client: GcClient, username: string | undefined, password: Buffer | undefined, done: Done) => {
    if (!username || !password) return refuse(client, username, done)
    const pass = password.toString()
    const deadline = Date.now() + limits.holdConnectMs
    const attempt = (): Promise<void> => {
      // A rotation or removal while the store was read may make its answer stale: ask again.
      const revocations = guard.revocations
      return verify(username, pass).then((id) => {
        if (guard.revocations !== revocations) return attempt()
        if (!id) { guard.forget(username, pass); return refuse(client, username, done) }
        guard.remember(username, pass, id)
        accept(client, username, id, done)
      }, onStoreError)
    }
    const onStoreError = (err: unknown) => {
      const hit = guard.cached(username, pass)
      if (hit) {
        log.warn({ clientId: client.id, username, err: (err as Error).message }, 'store unavailable: known device let in from the credential cache')
        return accept(client, username, hit, done)
      }
      if (Date.now() < deadline && !client.closed) { setTimeout(attempt, 1000).unref(); return }
      log.warn({ clientId: client.id, username, err: (err as Error).message }, 'store unavailable: connection dropped so the client retries')
      client.conn.destroy()
    }
    void attempt()
  }

  /**
   * A device may publish only to its own topics. Anything else is acknowledged
   * and dropped (MQTT 3.1.1: a positive PUBACK, as Mosquitto does; MQTT 5: reason
   * code 0x87 Not authorized), so one stray message never traps a device that
   * resends what was not acknowledged. A device that keeps doing it is disconnected
   * and held at its next CONNECT.
   */
  const refusePublish = (client: GcClient, packet: PublishPacket, done: (err?: Error | null) => void) => {
    const who = client.gc ? usernameOf(client.gc) : client.id
    const tooMany = guard.refused(who)
    log.warn({ clientId: client.id, who, topic: packet.topic.slice(0, 200) }, 'publish refused: not this client\'s topic; acknowledged and dropped')
    const kept = client.gc?.type === 'device' ? onRefused?.({ deviceId: client.gc.id, topic: packet.topic, payload: payloadOf(packet) }) : undefined
    // Acknowledged once its dead letter is kept, like any other message, and in its turn (answerInTurn).
    const a = enter(client, packet, done)
    Promise.resolve(kept).then(() => {
      if (tooMany) {
        log.warn({ clientId: client.id, who }, `publish refused more than ${limits.refusalsPerMinute} times a minute: disconnected for ${limits.penaltyMs} ms`)
        return dropFor(client, a, new Error('too many refused publishes'))
      }
      refuseInTurn(client, a, new Error('not authorized to publish to ' + packet.topic))
    }, (err) => {
      // Its dead letter not kept (ingest's hook logs and never rejects; a hook that does): as a store failure.
      log.warn({ err: (err as Error).message, clientId: client.id }, 'refused publish not recorded; connection dropped so the device retries')
      dropFor(client, a, err as Error)
    })
  }
  /** A refused publish's answer, in its turn: MQTT 5 a PUBACK with `why` (0x87), MQTT 3.1.1 a positive one. */
  const refuseInTurn = (client: GcClient, a: Awaiting, why: Error) => {
    a.answer = client.version === 5 ? () => refuseV5(client, a.done, why) : () => ackAndDrop(client, a.packet, a.done)
    answerInTurn(acks, client, a)
  }
  /** A publish that could not be kept: the connection dropped (so the device resends), then the publish failed. */
  const dropFor = (client: GcClient, a: Awaiting, err: Error) => {
    hangUp(acks, client)
    answerOnce(client.gcWaiting!, a, err)
  }
  // v3.1.1: a positive PUBACK, in turn with the client's others; aedes would then deliver it: send it nowhere.
  const ackAndDrop = (client: GcClient, packet: PublishPacket, done: (err?: Error | null) => void) => {
    packet.topic = REFUSED_TOPIC
    packet.payload = Buffer.alloc(0)
    packet.retain = false
    ;(packet as Stored)[STORED] = true
    acks.ack(client, packet, done)
  }
  // MQTT 5: aedes writes the PUBACK with its reason at once, so the client's acks gathered before it go first.
  const refuseV5 = (client: GcClient, done: (err?: Error | null) => void, err: Error) => {
    acks.flushClient(client)
    done(err)
  }

  /**
   * The stand-in for a PUBLISH over the packet limit: kept as a dead letter (its start, size
   * and sha256) and acknowledged, as Mosquitto does with what is over message_size_limit, so
   * the device does not resend it for ever (MQTT 5: a PUBACK with reason 0x87 and why).
   */
  const tooLarge = (client: GcClient, packet: PublishPacket, done: (err?: Error | null) => void) => {
    const found = client.oversize!.take()
    if (found) packet.payload = found.excerpt
    const own = ownTopic(client.gc, packet.topic)
    if (!found || !own) return refusePublish(client, packet, done)
    const reason = `a ${found.bytes}-byte message; at most ${limits.maxPacketBytes} bytes a packet`
    log.warn({ deviceId: own.deviceId, topic: packet.topic, bytes: found.bytes }, 'publish over the packet limit: kept as a dead letter and acknowledged')
    const a = enter(client, packet, done)
    Promise.resolve(onTooLarge?.({ ...found, deviceId: own.deviceId, reason })).then(() => refuseInTurn(client, a, new Error(`packet too large: ${reason}`)), (err) => {
      log.warn({ err: (err as Error).message, deviceId: own.deviceId }, 'dead letter not stored; connection dropped so the device retries')
      dropFor(client, a, err as Error)
    })
  }

  // The reading is stored before the PUBACK is written (acks.ts) and the callback
  // returns; while the store is away the ack waits, and so does the device's next
  // packet (aedes reads a client's packets one read at a time).
  const authorizePublish = (client: GcClient | null, packet: PublishPacket, done: (err?: Error | null) => void) => {
    if (!client) return done(null) // messages published by gridcare itself
    if (client.oversize && payloadOf(packet).equals(marker)) return tooLarge(client, packet, done)
    const parsed = ownTopic(client.gc, packet.topic)
    if (!parsed) return refusePublish(client, packet, done)
    const deviceId = parsed.deviceId
    packet.retain = false // nobody may subscribe to device topics: keep no copy
    ;(packet as Stored)[STORED] = true
    // A device that goes while its ack waits (the store is away) lets go of its
    // connection at once, so it can come back: it resends what was not acknowledged,
    // and the store keeps the first copy of whatever was written meanwhile.
    const awaiting = enter(client, packet, done)
    deliver({ deviceId, channel: parsed.channel, topic: packet.topic, street: parsed.street, payload: payloadOf(packet), receivedAt: Date.now() }, (err) => {
      if (!err) return answerInTurn(acks, client, awaiting)
      log.warn({ err: err.message, deviceId }, 'message not stored; connection dropped so the device retries')
      // Drop the connection before aedes answers: MQTT 5 would otherwise get a
      // "not authorized" PUBACK and never resend the reading.
      dropFor(client, awaiting, err)
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
    get connected () { return connected },
    refusals: () => guard.refusalCounts(),
    closeSessions (who) {
      const username = usernameOf(who)
      guard.revoke(username)
      const clients = [...live.get(username) ?? []]
      live.delete(username)
      for (const c of clients) c.conn.destroy()
      if (clients.length > 0) log.info({ username, connections: clients.length }, 'credentials rotated or revoked: live sessions closed')
      return clients.length
    },
    async start () {
      aedes = await Aedes.createBroker({ authenticate, authorizePublish, authorizeSubscribe, maximumPacketSize: limits.maxPacketBytes })
      // aedes publishes a packet (client.broker.publish) once it is acknowledged: a device
      // reading, stored already and for no subscriber, is done there (see STORED).
      const deliver = aedes.publish
      aedes.publish = function (this: Aedes, packet: Stored, client?: Client | null | ((err?: Error) => void), done?: (err?: Error) => void) {
        if (packet[STORED] === true && typeof done === 'function') return done()
        return (deliver as (...a: unknown[]) => void).call(this, packet, client, done)
      } as Aedes['publish']
      aedes.on('client', () => { connected++ })
      aedes.on('clientDisconnect', () => { connected-- })
      aedes.on('clientError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'mqtt client error'))
      server = createServer((socket) => {
        const client: GcClient = aedes!.handle(socket)
        client.oversize = filterOversized(socket, { maxPacketBytes: limits.maxPacketBytes, marker, version: () => client.version })
      })
      await new Promise<void>((resolve, reject) => {
        server!.once('error', (err) => reject(listenProblem({ portVar: 'MQTT_PORT', port: config.mqttPort, err, portHint: config.mqttPort === 1883 ? '(1883 is the MQTT default: another broker such as Mosquitto may hold it)' : '' })))
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
    get connected () { return client?.connected ? 1 : 0 },
    refusals: () => ({}),
    async start () {
      // Ack (PUBACK) to the external broker only after the message is stored.
      // A stable client id: the broker keeps this worker's persistent session across restarts.
      client = mqtt.connect(url, { clientId: config.mqttClientId ?? `gridcare-${hostname()}`, clean: false, reconnectPeriod: 2000 })
      await firstConnect(client, url)
      client.handleMessage = (packet, done) => {
        const parsed = parseDeviceTopic(packet.topic)
        if (!parsed) return done()
        sink({ deviceId: parsed.deviceId, channel: parsed.channel, topic: packet.topic, street: parsed.street, payload: payloadOf(packet), receivedAt: Date.now() })
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

/** Waits for the first connection to an external broker; fails in one line naming MQTT_URL. */
function firstConnect (client: mqtt.MqttClient, url: string, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let last = 'no answer'
    const fail = () => { cleanup(); client.end(true); reject(new Error(`MQTT_URL: cannot connect to the broker at ${redact(url)} (${last}); check that it runs and the URL, user and password, or unset MQTT_URL to use the embedded broker`)) }
    const timer = setTimeout(fail, timeoutMs)
    const onError = (err: Error) => { last = err.message.split('\n')[0]!; if (/Not authorized|Bad username|Identifier rejected/i.test(err.message)) fail() }
    let closes = 0
    // A broker that is not there: give up after three tries (about 4 s) rather than wait out the timeout.
    const onClose = () => { if (last === 'no answer') last = 'connection closed'; if (++closes >= 3) fail() }
    const onConnect = () => { cleanup(); resolve() }
    const cleanup = () => { clearTimeout(timer); client.off('error', onError); client.off('close', onClose); client.off('connect', onConnect) }
    if (client.connected) return onConnect()
    client.on('error', onError)
    client.on('close', onClose)
    client.on('connect', onConnect)
  })
}
