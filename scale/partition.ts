/**
 * Streets to partitions, and MQTT topics to RabbitMQ routing keys.
 *
 * All devices of a street go to one partition, so a household's meters and door camera meet in
 * one detector set. A street's partition is a hash of its code: stable, no table to keep, the
 * same in every worker. The partition count is fixed for the life of a cluster (changing it
 * moves streets between queues while messages are in them).
 */
import { TOPIC_ROOT } from '../vocab/index.ts'

/** FNV-1a, 32 bit: small, fast, and the same in every process. */
function fnv1a (s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h >>> 0
}

export const partitionOf = (street: string, partitions: number): number => fnv1a(street) % partitions

export const partitionQueue = (p: number): string => `gc.p.${p}`

/** Never gets a message: every worker consumes it, so its consumer count is the number of workers. */
export const WORKERS_QUEUE = 'gc.workers'

/** Queue of messages that matched no street binding (a street gridcare had not bound yet). */
export const UNROUTED_QUEUE = 'gc.unrouted'
export const UNROUTED_EXCHANGE = 'gc.unrouted'

/**
 * RabbitMQ's MQTT plugin turns `/` into `.` and `.` into `/` between MQTT topics and AMQP
 * routing keys (ids and street codes may hold dots); MQTT `+` is AMQP `*`.
 */
export const swapSeparators = (s: string): string => s.replace(/[./]/g, (c) => c === '.' ? '/' : '.')
export const topicToKey = (topic: string): string => swapSeparators(topic).replace(/\+/g, '*')
export const keyToTopic = (key: string): string => swapSeparators(key).replace(/\*/g, '+')

/** The binding keys that bring a street's device traffic (not its commands) to its partition. */
export function streetKeys (street: string): string[] {
  return ['telemetry', 'events', 'status'].map((c) => topicToKey(`${TOPIC_ROOT}/${street}/+/${c}`))
}
