/**
 * Plays devices whose messages are a function of time (door cameras, patrol drones) into an
 * MQTT broker on a simulated clock: each device on its own connection with its own credentials;
 * every tick sends what fell due since the last one, QoS 1.
 */
import mqtt from 'mqtt'
import type { MqttClient } from 'mqtt'
import type { Logger } from 'pino'
import type { SimClock } from './clock.ts'

export interface TimedDevice {
  id: string
  username: string
  password: string
  topics: { telemetry: string, events: string }
  /** What the device sends over (fromMs, toMs], in time order. */
  messagesBetween (fromMs: number, toMs: number): Array<{ channel: 'telemetry' | 'events', body: unknown }>
}

export interface TimedPublisherOptions {
  url: string
  devices: TimedDevice[]
  logger: Logger
  clock: SimClock
  /** Real ms between ticks; default 200. */
  tickMs?: number
}

export function createTimedPublisher (opts: TimedPublisherOptions) {
  const log = opts.logger.child({ module: 'timed-publisher' })
  const clients = new Map<string, MqttClient>()
  let last = opts.clock.now()
  let timer: NodeJS.Timeout | undefined
  let sent = 0

  /** Sends what fell due since the last tick; returns how many messages. */
  function tick (): number {
    const now = opts.clock.now()
    if (now <= last) return 0
    let n = 0
    for (const d of opts.devices) {
      const c = clients.get(d.id)
      if (!c) continue
      for (const m of d.messagesBetween(last, now)) {
        c.publishAsync(d.topics[m.channel], JSON.stringify(m.body), { qos: 1 }).catch((err: unknown) => log.warn({ err, deviceId: d.id }, 'message not acknowledged'))
        n++
      }
    }
    last = now
    sent += n
    return n
  }

  return {
    tick,
    get sent () { return sent },
    async start () {
      for (const d of opts.devices) {
        const c = await mqtt.connectAsync(opts.url, { clientId: d.id, username: d.username, password: d.password, reconnectPeriod: 1000 })
        c.on('error', (err) => log.warn({ err, deviceId: d.id }, 'device connection error'))
        clients.set(d.id, c)
      }
      last = opts.clock.now()
      timer = setInterval(tick, opts.tickMs ?? 200)
    },
    async stop () {
      clearInterval(timer)
      await Promise.all([...clients.values()].map((c) => c.endAsync()))
      clients.clear()
    },
  }
}
