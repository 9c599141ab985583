/**
 * The few MQTT 3.1.1 packets the lean load generator speaks, built and read by hand: a device
 * needs CONNECT, QoS 1 PUBLISH, PINGREQ and DISCONNECT out and CONNACK, PUBACK and PINGRESP in.
 * MQTT.js spends about 30 µs of the generator's CPU per publish (packet objects, a per-client
 * store, callbacks), which capped even Mosquitto's figure on a shared two-core machine; these
 * cost a few microseconds. Only the bench uses them: gridcare's broker is aedes.
 */

const PUBLISH_QOS1 = 0x32
export const PINGREQ = Buffer.from([0xc0, 0x00])
export const DISCONNECT = Buffer.from([0xe0, 0x00])

/** Packet types the generator reads (the high nibble of the first byte). */
export const CONNACK = 2
export const PUBACK = 4
export const PINGRESP = 13

const str = (s: string) => {
  const b = Buffer.from(s, 'utf8')
  const out = Buffer.allocUnsafe(2 + b.length)
  out.writeUInt16BE(b.length, 0)
  b.copy(out, 2)
  return out
}

/** Bytes of the remaining-length varint for n. */
const varintBytes = (n: number) => n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4

function writeVarint (buf: Buffer, at: number, n: number): number {
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    buf[at++] = byte
  } while (n > 0)
  return at
}

/** CONNECT, MQTT 3.1.1, clean session, with username and password. */
export function connectPacket (o: { clientId: string, username: string, password: string, keepaliveS: number }): Buffer {
  const body = Buffer.concat([str('MQTT'), Buffer.from([4, 0x80 | 0x40 | 0x02, o.keepaliveS >> 8, o.keepaliveS & 0xff]), str(o.clientId), str(o.username), str(o.password)])
  const out = Buffer.allocUnsafe(1 + varintBytes(body.length) + body.length)
  out[0] = 0x10
  body.copy(out, writeVarint(out, 1, body.length))
  return out
}

/**
 * QoS 1 PUBLISHes to one topic, written back to back into one buffer (one socket write for all).
 * The topic's bytes are encoded once per device; each packet costs its payload's encoding.
 */
export function publishEncoder (topic: string) {
  const t = str(topic)
  return (ids: ArrayLike<number>, payloads: readonly string[]): Buffer => {
    let size = 0
    for (const p of payloads) { const rem = t.length + 2 + p.length; size += 1 + varintBytes(rem) + rem }
    const out = Buffer.allocUnsafe(size)
    let at = 0
    for (let i = 0; i < payloads.length; i++) {
      const p = payloads[i]!
      out[at++] = PUBLISH_QOS1
      at = writeVarint(out, at, t.length + 2 + p.length)
      at += t.copy(out, at)
      out[at++] = ids[i]! >> 8
      out[at++] = ids[i]! & 0xff
      // Payloads are ASCII JSON: one byte a character (latin1 writes without a UTF-8 pass).
      at += out.write(p, at, 'latin1')
    }
    return out
  }
}

/**
 * Splits a byte stream into packets and hands each one's type and, for PUBACK, its packet id.
 * A packet split across reads waits for the rest; everything but the first bytes is skipped.
 */
export function packetReader (on: (type: number, packetId: number, first: Buffer) => void) {
  let rest: Buffer | undefined
  return (chunk: Buffer) => {
    const buf = rest ? Buffer.concat([rest, chunk]) : chunk
    rest = undefined
    let at = 0
    while (at < buf.length) {
      let len = 0, mul = 1, i = at + 1
      for (;;) {
        if (i >= buf.length) { rest = buf.subarray(at); return }
        const b = buf[i++]!
        len += (b & 0x7f) * mul
        mul *= 128
        if ((b & 0x80) === 0) break
        if (mul > 128 ** 4) throw new Error('malformed remaining length from the broker')
      }
      if (i + len > buf.length) { rest = buf.subarray(at); return }
      const type = buf[at]! >> 4
      on(type, type === PUBACK && len >= 2 ? (buf[i]! << 8) | buf[i + 1]! : 0, buf.subarray(at, i + len))
      at = i + len
    }
  }
}
