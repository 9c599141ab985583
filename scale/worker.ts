/**
 * A gridcare worker on a RabbitMQ cluster: consumes every street partition; RabbitMQ's single
 * active consumer makes one worker active per partition and hands the partition to another
 * when that worker's connection goes. A message is acknowledged only after its readings are
 * committed and the anomalies they raised are applied (redelivered otherwise; readings are
 * idempotent). A partition's first delivery to this connection activates it: the street's
 * detector state is rebuilt from the store before its messages are handled.
 */
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib'
import type { Logger } from 'pino'
import type { Broker, DeviceMessage, MessageSink } from '../broker/index.ts'
import { parseDeviceTopic } from '../vocab/index.ts'
import { keyToTopic, partitionQueue, topicToKey, UNROUTED_QUEUE, WORKERS_QUEUE } from './partition.ts'
import { createTopology } from './topology.ts'

export interface RabbitWorkerDeps {
  /** AMQP URLs of the cluster's nodes; tried in turn. */
  urls: string[]
  exchange: string
  partitions: number
  logger: Logger
  sink: MessageSink
  /** Resolves once what the sink handed on (anomalies) is applied; a message is acked after it. */
  settled: () => Promise<void>
  /** Streets to bind: all of the address base and the registry. */
  streets: () => Promise<string[]>
  /** A partition became active here: rebuild its detector state before its messages (`streets`: those bound). */
  activate: (p: number, streets: Iterable<string>) => Promise<void>
  /** Every partition of this worker is gone (connection lost, or stopping). */
  release: () => void | Promise<void>
  /** One partition is handed to another worker (rebalancing): save its state, forget it. */
  handOver?: (p: number) => Promise<void>
  /** Before the connection closes on stop (partitions still held): save state. */
  beforeClose?: () => Promise<void>
  /** How many workers are up (each takes a fair share of the partitions); default: consumers of gc.workers. */
  workers?: () => Promise<number>
  /** Unacked messages per partition consumer; default 100. */
  prefetch?: number
  /** How often new streets are bound, ms; default 5000. */
  bindEveryMs?: number
  /**
   * How often a worker holding more than its share of partitions (those with streets / workers) hands one on,
   * ms; default 3000; 0 never. Single active consumer gives every partition to the worker that
   * subscribed first: without this the first worker would take them all.
   */
  rebalanceEveryMs?: number
}

interface PartitionState {
  tag: string | undefined
  ready: Promise<void> | undefined
  inflight: number
  /** Being handed on: deliveries wait here and go back to the queue after the cancel. */
  held: ConsumeMessage[] | undefined
  idle: Array<() => void>
  /** When it became active here, ms. */
  since: number
}

export function createRabbitWorker (deps: RabbitWorkerDeps): Broker & { readonly active: number[], syncStreets (): Promise<void> } {
  const log = deps.logger.child({ module: 'rabbitmq' })
  const topology = createTopology({ exchange: deps.exchange, partitions: deps.partitions })
  let conn: ChannelModel | undefined
  let pub: ConfirmChannel | undefined
  let ch: Channel | undefined
  let generation = 0
  let urlIndex = 0
  let stopping: Promise<void> | undefined
  let closing = false
  let inflight = 0
  let bindTimer: NodeJS.Timeout | undefined
  let reconnectTimer: NodeJS.Timeout | undefined
  let parts = new Map<number, PartitionState>()
  let rebalanceTimer: NodeJS.Timeout | undefined
  let rebalancing = false
  const drained: Array<() => void> = []
  const part = (p: number) => {
    let st = parts.get(p)
    if (!st) { st = { tag: undefined, ready: undefined, inflight: 0, held: undefined, idle: [], since: 0 }; parts.set(p, st) }
    return st
  }

  async function connect (): Promise<void> {
    const url = deps.urls[urlIndex % deps.urls.length]!
    urlIndex++
    const c = await amqp.connect(withHeartbeat(url), { clientProperties: { connection_name: `gridcare-${process.pid}` } })
    const gen = ++generation
    conn = c
    c.on('error', (err) => log.warn({ err: err.message }, 'rabbitmq connection error'))
    c.on('close', () => { if (gen === generation) lost('connection closed') })
    pub = await c.createConfirmChannel()
    ch = await c.createChannel()
    ch.on('close', () => { if (gen === generation) lost('channel closed') })
    ch.on('error', (err) => log.warn({ err: err.message }, 'rabbitmq channel error'))
    topology.reset()
    await topology.declare(pub)
    await topology.bindStreets(pub, await deps.streets())
    await ch.prefetch(deps.prefetch ?? 100, false)
    const consumeCh = ch
    for (let p = 0; p < deps.partitions; p++) await consumePartition(gen, consumeCh, p)
    await consumeCh.consume(UNROUTED_QUEUE, (m) => onUnrouted(gen, consumeCh, m), { noAck: false })
    await consumeCh.consume(WORKERS_QUEUE, (m) => { if (m) settle(() => consumeCh.ack(m)) }, { noAck: false })
    log.info({ url: redact(url), partitions: deps.partitions }, `rabbitmq: consuming ${deps.partitions} partitions at ${redact(url)}`)
  }

  async function consumePartition (gen: number, c: Channel, p: number) {
    const { consumerTag } = await c.consume(partitionQueue(p), (m) => onPartition(gen, c, p, m), { noAck: false })
    part(p).tag = consumerTag
  }

  /** The connection went: every partition may now be another worker's. */
  function lost (why: string) {
    if (closing) return
    generation++
    parts = new Map()
    conn = undefined
    pub = undefined
    ch = undefined
    Promise.resolve(deps.release()).catch(() => {})
    log.warn({ why }, 'rabbitmq: partitions released; reconnecting')
    scheduleReconnect(500)
  }

  function scheduleReconnect (ms: number) {
    if (closing || reconnectTimer) return
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined
      connect().catch((err) => {
        log.warn({ err: (err as Error).message }, 'rabbitmq: connect failed; trying the next node')
        const c = conn
        generation++
        conn = undefined
        c?.close().catch(() => {})
        scheduleReconnect(1000)
      })
    }, ms)
  }

  function toDeviceMessage (m: ConsumeMessage): DeviceMessage | null {
    const topic = keyToTopic(m.fields.routingKey)
    const parsed = parseDeviceTopic(topic)
    if (!parsed) return null
    return { deviceId: parsed.deviceId, channel: parsed.channel, topic, street: parsed.street, payload: m.content, receivedAt: Date.now() }
  }

  function settle (fn: () => void) {
    try { fn() } catch { /* the channel is gone: the broker redelivers */ }
  }

  async function onPartition (gen: number, c: Channel, p: number, m: ConsumeMessage | null) {
    if (m === null) return lost(`consumer of ${partitionQueue(p)} cancelled by the broker`)
    if (closing || gen !== generation) return // left unacked: redelivered to the next active consumer
    const st = part(p)
    if (st.held) { st.held.push(m); return }
    inflight++
    st.inflight++
    try {
      let r = st.ready
      if (!r) {
        const started = deps.activate(p, topology.streets())
        st.ready = r = started
        st.since = Date.now()
        started.catch(() => { if (st.ready === started) st.ready = undefined })
        log.info({ partition: p, redelivered: m.fields.redelivered }, `partition ${p} active here`)
      }
      await r
      const msg = toDeviceMessage(m)
      if (msg) await deps.sink(msg)
      await deps.settled()
      if (gen === generation) settle(() => c.ack(m))
    } catch (err) {
      log.error({ err: (err as Error).message, partition: p }, 'message not stored; reconnecting so the broker redelivers it')
      if (gen === generation) { const old = conn; lost('store failure'); old?.close().catch(() => {}) }
    } finally {
      if (--st.inflight === 0) st.idle.splice(0).forEach((f) => f())
      if (--inflight === 0) drained.splice(0).forEach((f) => f())
    }
  }

  /**
   * Hands one active partition to the next consumer: hold new deliveries, finish those taken,
   * save its state, cancel (the broker makes the next consumer active), put the held messages
   * back, and subscribe again at the end of the line.
   */
  async function handOver (gen: number, c: Channel, p: number) {
    const st = part(p)
    if (!st.tag || !st.ready || st.held) return
    st.held = []
    try {
      if (st.inflight > 0) await new Promise<void>((r) => st.idle.push(r))
      await deps.handOver?.(p)
      await c.cancel(st.tag)
    } finally {
      const held = st.held
      st.held = undefined
      st.ready = undefined
      st.tag = undefined
      if (gen === generation) for (const m of held) settle(() => c.nack(m, false, true))
    }
    if (gen === generation && !closing) await consumePartition(gen, c, p)
    log.info({ partition: p }, `partition ${p} handed on`)
  }

  /** More than a fair share of partitions here: hand one on per round. */
  async function rebalance () {
    const gen = generation
    const c = ch
    if (rebalancing || closing || !c || !pub) return
    rebalancing = true
    try {
      const active = [...parts.entries()].filter(([, st]) => st.ready && !st.held)
      if (active.length <= 1) return
      const workers = deps.workers ? await deps.workers() : (await pub.checkQueue(WORKERS_QUEUE)).consumerCount
      const share = Math.ceil(Math.max(1, topology.used()) / Math.max(1, workers))
      // Only partitions held a while: a partition that just arrived is not sent straight on.
      const settledFor = Date.now() - (deps.rebalanceEveryMs ?? 3000) * 5
      const candidate = active.filter(([, st]) => st.since <= settledFor).map(([p]) => p).pop()
      if (active.length > share && candidate !== undefined && gen === generation) await handOver(gen, c, candidate)
    } finally {
      rebalancing = false
    }
  }

  /** A device of a street not bound yet: bind it, send the message on to its partition, then ack. */
  async function onUnrouted (gen: number, c: Channel, m: ConsumeMessage | null) {
    if (m === null || closing || gen !== generation) return
    const parsed = parseDeviceTopic(keyToTopic(m.fields.routingKey))
    try {
      if (parsed && pub) {
        await topology.bindStreets(pub, [parsed.street])
        await new Promise<void>((resolve, reject) => pub!.publish(deps.exchange, m.fields.routingKey, m.content, { persistent: true }, (err) => err ? reject(err) : resolve()))
      }
      settle(() => c.ack(m))
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'unrouted message not forwarded; left for redelivery')
    }
  }

  async function syncStreets () {
    if (pub) await topology.bindStreets(pub, await deps.streets())
  }

  return {
    mode: 'rabbitmq',
    port: undefined,
    /** 1 while connected to a node, else 0. */
    get connected () { return conn ? 1 : 0 },
    /** RabbitMQ refuses a device's publish to a topic not its own (the auth backend says deny). */
    refusals () { return {} },
    get active () { return [...parts.entries()].filter(([, st]) => st.ready).map(([p]) => p).sort((a, b) => a - b) },
    syncStreets,
    async start () {
      await connect()
      bindTimer = setInterval(() => { syncStreets().catch((err) => log.warn({ err: (err as Error).message }, 'street bindings not synced')) }, deps.bindEveryMs ?? 5000)
      bindTimer.unref()
      const every = deps.rebalanceEveryMs ?? 3000
      if (every > 0) {
        rebalanceTimer = setInterval(() => { rebalance().catch((err) => log.warn({ err: (err as Error).message }, 'rebalance failed')) }, every)
        rebalanceTimer.unref()
      }
    },
    async publish (topic, payload) {
      const c = pub
      if (!c) throw new Error('rabbitmq not connected')
      await new Promise<void>((resolve, reject) => c.publish(deps.exchange, topicToKey(topic), Buffer.from(payload), { persistent: true }, (err) => err ? reject(err) : resolve()))
    },
    stop () {
      stopping ??= (async () => {
        // Take no more deliveries, finish those taken, save state while still the owner, then
        // close: the broker hands the partitions on, unacked messages first.
        closing = true
        clearInterval(bindTimer)
        clearInterval(rebalanceTimer)
        clearTimeout(reconnectTimer)
        if (inflight > 0) await new Promise<void>((r) => drained.push(r))
        await deps.beforeClose?.().catch((err) => log.warn({ err: (err as Error).message }, 'state not saved before close'))
        generation++
        await conn?.close().catch(() => {})
        await deps.release()
      })()
      return stopping
    },
  }
}

const redact = (url: string) => url.replace(/\/\/[^@/]*@/, '//***@')

/**
 * A worker whose host vanishes without closing its TCP connection (power loss, a cut cable) is
 * noticed by RabbitMQ only through missed heartbeats: with the server's default of 60 s its
 * partitions would wait about that long. 10 s unless the URL says otherwise (`?heartbeat=`).
 * A kill -9 needs none of this: the kernel closes the socket and the broker sees it at once.
 */
export const withHeartbeat = (url: string): string => /[?&]heartbeat=/.test(url) ? url : `${url}${url.includes('?') ? '&' : '?'}heartbeat=10`
