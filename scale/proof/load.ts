/**
 * Device load for the failover proof: simulated meters (simulators/), each on its own MQTT
 * connection with its own credentials, publishing batches of 15-minute readings at QoS 1; a
 * reading counts as acknowledged only when the broker's PUBACK came. A connection that drops
 * (its node was killed) is replaced by one to the next node and the unacknowledged batch sent
 * again, as a real device would. Door cameras inject falls: each one acknowledged must become
 * one alert.
 */
import mqtt from 'mqtt'
import { createMeterModel } from '../../simulators/index.ts'

export interface LoadDevice { id: string, username: string, password: string, topic: string, subject: string }

export interface LoadOptions {
  /** MQTT URLs of the broker nodes; device i starts on node i mod n. */
  nodes: string[]
  meters: LoadDevice[]
  /** Event time of the first reading, epoch ms (15-minute aligned). */
  startTs: number
  /** Readings per message; default 4. */
  perMessage?: number
  /** Real ms between a meter's messages; default 250. */
  intervalMs?: number
}

const STEP = 15 * 60_000
const PUBACK_TIMEOUT_MS = 8000

/** One publish with its PUBACK, or an error when the connection goes or the PUBACK is late. */
async function publishAcked (c: mqtt.MqttClient, topic: string, payload: string): Promise<void> {
  let onClose: (() => void) | undefined
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      c.publishAsync(topic, payload, { qos: 1 }),
      new Promise((_, reject) => { onClose = () => reject(new Error('connection closed')); c.once('close', onClose) }),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('no PUBACK')), PUBACK_TIMEOUT_MS) }),
    ])
  } finally {
    if (onClose) c.off('close', onClose)
    clearTimeout(timer)
  }
}

/** A device's connection that moves to the next node when its node goes. */
function deviceLink (dev: LoadDevice, nodes: string[], first: number) {
  let i = first
  let client: mqtt.MqttClient | undefined
  const connect = async () => {
    for (;;) {
      const url = nodes[i % nodes.length]!
      try {
        const c = await mqtt.connectAsync(url, { clientId: dev.id, username: dev.username, password: dev.password, reconnectPeriod: 0, connectTimeout: 4000, protocolVersion: 4 })
        c.on('error', () => {})
        return c
      } catch {
        i++
        await new Promise((r) => setTimeout(r, 300))
      }
    }
  }
  return {
    /** Publishes until acknowledged; returns how many attempts it took. */
    async send (payload: string, stopped: () => boolean): Promise<boolean> {
      for (let attempt = 0; attempt < 50 && !stopped(); attempt++) {
        client ??= await connect()
        try {
          await publishAcked(client, dev.topic, payload)
          return true
        } catch {
          client.end(true)
          client = undefined
          i++
        }
      }
      return false
    },
    close () { client?.end(true) },
  }
}

export function createLoad (o: LoadOptions) {
  const per = o.perMessage ?? 4
  const every = o.intervalMs ?? 250
  const acked = new Map<string, number[]>()
  const ackTimes: number[] = []
  let stopped = false
  let loops: Promise<void>[] = []
  const links: Array<ReturnType<typeof deviceLink>> = []

  async function meterLoop (dev: LoadDevice, n: number) {
    const model = createMeterModel({ subjectKind: 'lone_elder', seed: 1000 + n })
    const link = deviceLink(dev, o.nodes, n)
    links.push(link)
    const mine: number[] = []
    acked.set(dev.id, mine)
    let ts = o.startTs
    while (!stopped) {
      const t0 = Date.now()
      const readings = []
      for (let k = 0; k < per; k++, ts += STEP) {
        const r = model.readingAt(ts)
        if (r) readings.push({ ts: r.ts, kwh: Math.round(r.kwh * 1000) / 1000, w: Math.round(r.w) })
      }
      if (readings.length > 0 && await link.send(JSON.stringify({ readings }), () => stopped)) {
        const now = Date.now()
        for (const r of readings) { mine.push(r.ts); ackTimes.push(now) }
      }
      const wait = every - (Date.now() - t0)
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    }
  }

  return {
    start () { loops = o.meters.map((d, n) => meterLoop(d, n)) },
    /** Stops publishing and waits for every meter's last batch to be acknowledged or given up. */
    async stop () {
      stopped = true
      await Promise.all(loops)
      links.forEach((l) => l.close())
    },
    /** Readings acknowledged by the broker, per device: event times. */
    acked,
    /** Acknowledged readings in a wall-clock window. */
    ackedBetween (from: number, to: number) { return ackTimes.filter((t) => t >= from && t < to).length },
    get ackedTotal () { return ackTimes.length },
  }
}

/** A door camera reports a fall; true when the broker acknowledged it. */
export async function injectFall (dev: LoadDevice, nodes: string[], first: number, ts: number): Promise<boolean> {
  const link = deviceLink(dev, nodes, first)
  try {
    return await link.send(JSON.stringify({ ts, event: 'fall', confidence: 0.95 }), () => false)
  } finally {
    link.close()
  }
}
