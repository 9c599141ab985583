import { createHash, type Hash } from 'node:crypto'
import type { Socket } from 'node:net'

/** A PUBLISH over the packet limit, as far as gridcare keeps it. */
export interface Oversized {
  topic: string
  /** Size of its payload, bytes. */
  bytes: number
  /** sha256 of the whole payload, hex. */
  sha256: string
  /** The payload's first bytes. */
  excerpt: Buffer
}

/** Bytes of an oversized PUBLISH read before its payload: the topic (up to 64 KiB), the packet id, MQTT 5 properties. */
const HEAD_MAX = 72 * 1024
const EXCERPT = 4096

const varint = (n: number): number[] => {
  const out: number[] = []
  do { let b = n % 128; n = Math.floor(n / 128); if (n > 0) b |= 0x80; out.push(b) } while (n > 0)
  return out
}

/** Reads an MQTT variable byte integer at `at`; null when it is not complete (or longer than 4 bytes). */
const readVarint = (buf: Buffer, at: number): { value: number, size: number } | null => {
  let value = 0
  for (let i = 0, mul = 1; i < 4 && at + i < buf.length; i++, mul *= 128) {
    value += (buf[at + i]! & 0x7f) * mul
    if ((buf[at + i]! & 0x80) === 0) return { value, size: i + 1 }
  }
  return null
}

/**
 * Keeps a PUBLISH over the packet limit from trapping its device. aedes closes the connection
 * on such a packet; the device reconnects and sends it again, as MQTT clients do with what was
 * not acknowledged, and none of its readings arrive ever after. Installed between the socket
 * and aedes' parser, this lets QoS 0/1 PUBLISHes past the limit stream through without being
 * buffered: the payload is hashed and dropped as it arrives, and aedes is handed a small
 * stand-in PUBLISH (same topic, packet id, MQTT 5 properties) whose payload is `marker`; the
 * broker recognises it, takes the record with `take()`, keeps a dead letter and acknowledges.
 * CONNECT (the first packet), other packet types and QoS 2 are left to aedes' own limit.
 */
export function filterOversized (socket: Socket, opts: { maxPacketBytes: number, marker: Buffer, version: () => number | undefined }) {
  const found: Oversized[] = []
  let first = true
  let mode: 'header' | 'pass' | 'skip' | 'raw' = 'header'
  let left = 0
  // The PUBLISH being skipped.
  let flags = 0
  let bodyBytes = 0
  let head: Buffer[] = []
  let headLen = 0
  let parsed: { prefix: Buffer, payloadAt: number } | undefined
  let hash: Hash | undefined
  let excerpt: Buffer[] = []
  let excerptLen = 0

  const keep = (chunk: Buffer) => {
    hash!.update(chunk)
    if (excerptLen < EXCERPT) { const part = chunk.subarray(0, EXCERPT - excerptLen); excerpt.push(part); excerptLen += part.length }
  }
  /** Topic, packet id and properties are in the head: the stand-in's variable header, and where the payload starts. */
  const parseHead = (buf: Buffer) => {
    const qos = (flags >> 1) & 3
    if (buf.length < 2) return undefined
    let at = 2 + buf.readUInt16BE(0) + (qos > 0 ? 2 : 0)
    if (opts.version() === 5) {
      const props = readVarint(buf, at)
      if (!props) return undefined
      at += props.size + props.value
    }
    return at <= buf.length ? { prefix: buf.subarray(0, at), payloadAt: at } : undefined
  }
  const startSkip = () => {
    head = []
    headLen = 0
    parsed = undefined
    hash = createHash('sha256')
    excerpt = []
    excerptLen = 0
  }
  const skip = (chunk: Buffer) => {
    if (parsed) return keep(chunk)
    const want = Math.min(bodyBytes, HEAD_MAX) - headLen
    head.push(chunk.subarray(0, want))
    headLen += Math.min(want, chunk.length)
    if (headLen < Math.min(bodyBytes, HEAD_MAX)) return
    const all = Buffer.concat(head)
    parsed = parseHead(all)
    if (!parsed) return socket.destroy() // a topic or properties too long to be a device's: nothing to answer
    keep(all.subarray(parsed.payloadAt))
    if (chunk.length > want) keep(chunk.subarray(want))
  }
  /** The whole packet has gone by: record it and hand aedes the stand-in. */
  const finish = (out: Buffer[]) => {
    if (!parsed) return
    const topicLen = parsed.prefix.readUInt16BE(0)
    found.push({ topic: parsed.prefix.subarray(2, 2 + topicLen).toString('utf8'), bytes: bodyBytes - parsed.payloadAt, sha256: hash!.digest('hex'), excerpt: Buffer.concat(excerpt) })
    const body = Buffer.concat([parsed.prefix, opts.marker])
    out.push(Buffer.from([0x30 | (flags & 0x06), ...varint(body.length)]), body) // DUP and RETAIN dropped
  }

  // The fixed header being read: its bytes are held back until its packet is judged.
  const hdr = new Uint8Array(5)
  let hdrLen = 0

  /**
   * What aedes is to read of `buf`. Runs on every read: when every packet in it passes (the
   * usual case), `buf` itself, with no copy and nothing allocated; only around an oversized
   * PUBLISH, or a fixed header split between reads, are the pieces put together.
   */
  const filter = (buf: Buffer): Buffer => {
    if (mode === 'raw') return buf
    const out: Buffer[] = []
    /** Start of the bytes of buf passed on as they are, not yet in out; -1 while skipping. */
    let runStart = mode === 'skip' ? -1 : 0
    /** Where the header being read starts in buf; negative when its first bytes came in an earlier read. */
    let hdrAt = -hdrLen
    let i = 0
    while (i < buf.length) {
      if (mode === 'pass' || mode === 'skip') {
        const n = Math.min(left, buf.length - i)
        if (mode === 'skip') skip(buf.subarray(i, i + n))
        i += n
        left -= n
        if (left === 0) {
          if (mode === 'skip') { finish(out); runStart = i }
          mode = 'header'
        }
        continue
      }
      if (hdrLen === 0) hdrAt = i
      hdr[hdrLen++] = buf[i++]!
      if (hdrLen === 1) continue
      if (hdr[hdrLen - 1]! & 0x80) {
        // A length longer than 4 bytes is malformed: aedes says so and closes.
        if (hdrLen === 5) {
          if (hdrAt > runStart) out.push(buf.subarray(runStart, hdrAt))
          if (hdrAt < 0) out.push(Buffer.from(hdr.subarray(0, -hdrAt)))
          out.push(buf.subarray(Math.max(hdrAt, 0)))
          mode = 'raw'
          hdrLen = 0
          return out.length === 1 ? out[0]! : Buffer.concat(out)
        }
        continue
      }
      let length = 0
      for (let k = 1, mul = 1; k < hdrLen; k++, mul *= 128) length += (hdr[k]! & 0x7f) * mul
      const type = hdr[0]! >> 4
      const qos = (hdr[0]! >> 1) & 3
      const oversized = !first && type === 3 && qos < 2 && hdrLen + length > opts.maxPacketBytes
      first = false
      if (oversized) {
        // What went before passes; this header is not: the stand-in will have its own.
        if (hdrAt > runStart) out.push(buf.subarray(runStart, hdrAt))
        runStart = -1
        flags = hdr[0]!
        bodyBytes = length
        startSkip()
        mode = 'skip'
      } else {
        // A header begun in an earlier read: its first bytes go before the rest of it.
        if (hdrAt < 0) out.push(Buffer.from(hdr.subarray(0, -hdrAt)))
        mode = length > 0 ? 'pass' : 'header'
      }
      left = length
      hdrLen = 0
    }
    if (runStart >= 0) {
      // A header not yet judged is held back for the next read.
      const end = mode === 'header' && hdrLen > 0 ? Math.max(hdrAt, 0) : buf.length
      if (out.length === 0 && runStart === 0 && end === buf.length) return buf
      if (end > runStart) out.push(buf.subarray(runStart, end))
    }
    return out.length === 1 ? out[0]! : Buffer.concat(out)
  }

  // aedes reads the socket with read(null) on 'readable' and parses what it gets: filter there.
  const read = socket.read.bind(socket)
  socket.read = (n?: number) => {
    const b = read(n) as Buffer | null
    return b && n !== 0 ? filter(b) : b
  }
  return {
    /** The oversized PUBLISH a stand-in was handed for, in order. */
    take: (): Oversized | undefined => found.shift(),
  }
}
