/**
 * The RabbitMQ side of partitioning, declared by every worker (idempotent):
 * - the MQTT exchange (`mqtt.exchange` in rabbitmq.conf), a topic exchange whose unroutable
 *   messages go to `gc.unrouted` instead of being dropped after their PUBACK;
 * - P quorum queues `gc.p.<n>` with single active consumer: replicated by Raft, one worker
 *   at a time consumes each, another takes over when it goes;
 * - per street three bindings (telemetry, events, status) to the street's partition.
 */
import type { Channel } from 'amqplib'
import { partitionOf, partitionQueue, streetKeys, UNROUTED_EXCHANGE, UNROUTED_QUEUE, WORKERS_QUEUE } from './partition.ts'

const QUEUE_ARGS = { 'x-queue-type': 'quorum', 'x-single-active-consumer': true }

export interface Topology {
  /** Declares exchanges and queues. */
  declare (ch: Channel): Promise<void>
  /** Binds streets not bound yet by this process (binding twice is harmless). */
  bindStreets (ch: Channel, streets: Iterable<string>): Promise<number>
  /** Forgets what was bound (after a reconnect, the cluster may be a new one). */
  reset (): void
  /** How many partitions have a street bound: the ones there is work in. */
  used (): number
  /** The streets bound so far. */
  streets (): Iterable<string>
}

export function createTopology ({ exchange, partitions }: { exchange: string, partitions: number }): Topology {
  const bound = new Set<string>()
  return {
    async declare (ch) {
      await ch.assertExchange(UNROUTED_EXCHANGE, 'fanout', { durable: true })
      await ch.assertExchange(exchange, 'topic', { durable: true, alternateExchange: UNROUTED_EXCHANGE })
      await ch.assertQueue(UNROUTED_QUEUE, { durable: true, arguments: QUEUE_ARGS })
      await ch.bindQueue(UNROUTED_QUEUE, UNROUTED_EXCHANGE, '')
      // Not single-active: its consumer count is how many workers are up (a waiting single
      // active consumer is not counted in a partition's).
      await ch.assertQueue(WORKERS_QUEUE, { durable: true, arguments: { 'x-queue-type': 'quorum' } })
      for (let p = 0; p < partitions; p++) await ch.assertQueue(partitionQueue(p), { durable: true, arguments: QUEUE_ARGS })
    },
    async bindStreets (ch, streets) {
      let n = 0
      for (const s of streets) {
        if (bound.has(s)) continue
        const q = partitionQueue(partitionOf(s, partitions))
        for (const key of streetKeys(s)) await ch.bindQueue(q, exchange, key)
        bound.add(s)
        n++
      }
      return n
    },
    reset () { bound.clear() },
    streets () { return bound },
    used () { return new Set([...bound].map((s) => partitionOf(s, partitions))).size },
  }
}
