import type { MqttIdentity } from '../registry/index.ts'
import { parseDeviceTopic } from '../vocab/index.ts'

/**
 * The per-device topic rules of the embedded broker (broker/index.ts), as functions, for
 * brokers that ask gridcare (RabbitMQ's HTTP auth backend): a device publishes only to its
 * own telemetry/events/status topics and subscribes only below its own commands topic; a
 * worker app subscribes only to its own tasks topic.
 */
export function mayPublish (id: MqttIdentity, topic: string): boolean {
  const parsed = parseDeviceTopic(topic)
  return id.type === 'device' && parsed !== null && parsed.deviceId === id.id && parsed.street === id.street
}

export function maySubscribe (id: MqttIdentity, filter: string): boolean {
  if (filter.includes('+') || (filter.includes('#') && !filter.endsWith('/#') && filter !== '#')) return false
  if (filter === '#') return false
  if (id.type === 'device') {
    const c = id.topics.commands
    return filter === c || filter === `${c}/#` || filter.startsWith(`${c}/`)
  }
  return filter === id.topic
}
