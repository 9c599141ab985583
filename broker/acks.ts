import type { Client, PublishPacket } from 'aedes'

type Done = (err?: Error | null) => void
/** A client with the PUBACKs gathered for it (packet ids and aedes' callbacks, in the order they came). */
type Acked = Client & { gcAckIds?: number[], gcAckDone?: Done[] }
/** aedes' Client.waitForDrain (not in its types): calls back once the socket drains, or fails the connection after its drainTimeout. */
type Draining = { waitForDrain (cb: () => void): void }

/**
 * An MQTT PUBACK, the bytes aedes (mqtt-packet) wrote: 0x40, remaining length 2, the packet id;
 * MQTT 5 adds reason code 0x00 (success) and an empty property length.
 */
const PUBACK = 0x40

export type AckWriter = ReturnType<typeof createAckWriter>

/**
 * The PUBACKs of stored QoS 1 publishes, written by gridcare rather than aedes: one write per
 * connection for all the acks it was given in one turn (a committed batch acks about four
 * readings of each meter at once), made once that turn's callbacks have run.
 *
 * aedes wrote each PUBACK on its own: a packet object, two writes into the socket corked until
 * the next tick, and a setImmediate per message before it read the client's next packet. Here a
 * message costs a packet id and its callback in two arrays; the ack is one record of one buffer
 * per connection, and aedes' callbacks for the turn (which let it read on) are called in
 * one setImmediate, after the writes, as aedes did. A socket that cannot take more holds them
 * until it drains (aedes' own waitForDrain), so a device that does not read its acks is not
 * read either.
 *
 * The packet is then a QoS 0 one to aedes: acknowledged, with nothing more to send.
 */
export function createAckWriter () {
  let due: Acked[] = []
  let flushing = false
  let released: Done[] = []
  let releasing = false
  let closed: Error | undefined

  /**
   * Acknowledges a QoS 1 `packet` with the others of this turn; `done` (aedes' callback) is called
   * after the write. A QoS 0 or 2 packet is aedes' to answer: `done` at once.
   */
  function ack (client: Acked, packet: PublishPacket, done: Done) {
    if (packet.qos !== 1) return done(null)
    packet.qos = 0
    let ids = client.gcAckIds
    if (ids === undefined) { ids = client.gcAckIds = []; client.gcAckDone = [] }
    if (ids.length === 0) due.push(client)
    ids.push(packet.messageId!)
    client.gcAckDone!.push(done)
    if (!flushing) { flushing = true; process.nextTick(flush) }
  }

  function flush () {
    flushing = false
    const clients = due
    due = []
    for (const c of clients) flushClient(c)
  }

  /** Writes what is gathered for one client now (before its connection is ended, or another ack is written past these). */
  function flushClient (c: Acked) {
    const ids = c.gcAckIds
    if (ids === undefined || ids.length === 0) return
    const dones = c.gcAckDone!
    const conn = c.conn
    if (conn.destroyed || !conn.writable) {
      // As aedes: a PUBACK for a connection that has gone is an error to its callback; the device resends.
      closed ??= new Error('connection closed')
      for (const d of dones) released.push(failed.bind(null, d))
    } else {
      const size = c.version === 5 ? 6 : 4
      const buf = Buffer.allocUnsafe(size * ids.length)
      for (let i = 0; i < ids.length; i++) {
        const at = size * i
        buf[at] = PUBACK
        buf[at + 1] = size - 2
        buf[at + 2] = ids[i]! >> 8
        buf[at + 3] = ids[i]! & 0xff
        if (size === 6) { buf[at + 4] = 0; buf[at + 5] = 0 }
      }
      if (conn.write(buf)) {
        for (const d of dones) released.push(d)
      } else {
        const held = dones.slice()
        ;(c as unknown as Draining).waitForDrain(() => { for (const d of held) d(null) })
      }
    }
    ids.length = 0
    dones.length = 0
    if (!releasing && released.length > 0) { releasing = true; setImmediate(release) }
  }

  function release () {
    releasing = false
    const list = released
    released = []
    for (const d of list) d(null)
  }

  const failed = (d: Done) => d(closed)

  return { ack, flushClient }
}
