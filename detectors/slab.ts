/**
 * Per-subject detector state cut from shared buffers (chunks) of a Slab. A Slab belongs to one set
 * of detectors (createDetectors' ElectricityHours holds it, and inactivity and night load cut their
 * states from it too) or to one detector built alone; its chunks live as long as it does, so a set
 * that is dropped (the scale-out worker hands a partition over and builds a new set) frees them all.
 * Chunks grow from 16 KiB, doubling, to 1 MiB, so that many small sets alive at once (one per street
 * partition; tests) do not each take 1 MiB; what a 1 MiB chunk costs beside its places (its
 * ArrayBuffer, five views, the tail a place did not fit in) is spread over about 900 subjects:
 * measured, 26 bytes a subject fewer than with 64 KiB chunks.
 *
 * A typed array of its own costs about 200 bytes beside its data (its ArrayBuffer object, and
 * off the V8 heap a backing store), a view on a shared buffer 96 (pointers are 8 bytes here). So a
 * subject's numbers are not given a view of their own: place() hands out a place in a chunk, the
 * chunk's own views (one of each type, shared by every subject cut from it) and the index there,
 * and the state keeps both (two fields, 16 bytes, instead of a view). int32s() still
 * cuts a view of its own, for what is read as an array of its own.
 * A place is also known by one number (its loc: the chunk's number in the slab's `chunks` times
 * 2^17, plus the place's start in 8-byte words), so that a detector can keep a subject's place in a
 * typed column (4 bytes) and read it through one reused object (a cursor: inactivity-state.ts
 * State), not an object per subject (40-80 bytes each). Places are never freed one by one: those of
 * states that were dropped while their slab lives (a subject restored over a fresh one) are not
 * reused, a few hundred bytes per such subject; they go with the slab.
 */
const CHUNK = 1 << 20
/** The first chunk's bytes; each next one twice its predecessor's, up to CHUNK. */
const FIRST = 1 << 14
/** The most chunks a slab has: a loc is then below 2^31 (an Int32 column holds it). */
const MAX_CHUNKS = 0x4000

/** One buffer's views, shared by every state cut from it. */
export interface Chunk {
  readonly i16: Int16Array
  readonly u16: Uint16Array
  readonly i32: Int32Array
  readonly u8: Uint8Array
  readonly f64: Float64Array
}

/** What a cursor points at before it is first moved to a place: no chunk. */
export const EMPTY_CHUNK: Chunk = { i16: new Int16Array(0), u16: new Uint16Array(0), i32: new Int32Array(0), u8: new Uint8Array(0), f64: new Float64Array(0) }

/** A loc's low bits: the place's start in the chunk, in 8-byte words (a chunk holds at most 2^17 of them). */
export const WORDS = 0x1ffff
export const wordOf = (loc: number) => loc & WORDS

/** A place of `bytes` bytes in a chunk: the chunk's views, the byte offset (a multiple of 8), and its loc. Read it before the next place(). */
export interface Placed { chunk: Chunk, byte: number, loc: number }

/** Where states are cut from: chunks, the last of them being filled. */
export class Slab {
  /** Every chunk places were cut from, by number (a loc's high bits). */
  readonly chunks: Chunk[] = []
  private buffer: ArrayBuffer = new ArrayBuffer(0)
  private used = 0
  private readonly placed: Placed = { chunk: null as unknown as Chunk, byte: 0, loc: 0 }

  /** The chunk of place `loc`. */
  chunkOf (loc: number): Chunk { return this.chunks[loc >>> 17]! }

  /** The byte offset of a new slice of `bytes` bytes, aligned to 8, in `buffer` (in a new chunk when the current is full). */
  private cut (bytes: number): number {
    if (this.used + bytes > this.buffer.byteLength) {
      if (bytes > CHUNK) throw new RangeError(`slab: ${bytes} bytes is more than a chunk holds`)
      // Checked before anything changes: a throw leaves the slab as it was, its chunks still readable.
      if (this.chunks.length >= MAX_CHUNKS) throw new RangeError(`slab: more than ${MAX_CHUNKS} chunks of places`)
      let size = Math.min(CHUNK, FIRST * 2 ** this.chunks.length)
      while (size < bytes) size *= 2
      const buffer = new ArrayBuffer(size)
      this.chunks.push({ i16: new Int16Array(buffer), u16: new Uint16Array(buffer), i32: new Int32Array(buffer), u8: new Uint8Array(buffer), f64: new Float64Array(buffer) })
      this.buffer = buffer; this.used = 0
    }
    const at = this.used
    this.used += (bytes + 7) & ~7
    return at
  }

  /** A place of `bytes` bytes in a shared chunk. */
  place (bytes: number): Placed {
    const p = this.placed
    p.byte = this.cut(bytes)
    p.chunk = this.chunks[this.chunks.length - 1]!
    p.loc = (this.chunks.length - 1) * (WORDS + 1) + p.byte / 8
    return p
  }

  /** A view of its own on `n` Int32 numbers. */
  int32s (n: number): Int32Array { const at = this.cut(4 * n); return new Int32Array(this.buffer, at, n) }
}

/** The 10-bit number i of those packed from byte `at` of `u`, four in five bytes: number i at bit 10i (little-endian bits), within bytes at + (10i >> 3) and the next. */
export function get10 (u: Uint8Array, at: number, i: number): number {
  const bit = 10 * i, k = at + (bit >> 3)
  return (u[k]! | u[k + 1]! << 8) >> (bit & 7) & 0x3ff
}

/** Sets the 10-bit number i (an integer in [0, 0x3ff]; only its low 10 bits are kept, never its neighbours' bits) of those packed from byte `at` of `u`. */
export function set10 (u: Uint8Array, at: number, i: number, x: number) {
  const bit = 10 * i, k = at + (bit >> 3), sh = bit & 7
  const w = (u[k]! | u[k + 1]! << 8) & ~(0x3ff << sh) | (x & 0x3ff) << sh
  u[k] = w & 0xff; u[k + 1] = w >> 8 & 0xff
}

/** The 6-bit number i of those packed from byte `at` of `u`, four in three bytes: number i at bit 6i, within bytes at + (6i >> 3) and the next (read, never changed, past the last). */
export function get6 (u: Uint8Array, at: number, i: number): number {
  const bit = 6 * i, k = at + (bit >> 3)
  return ((u[k]! | (u[k + 1] ?? 0) << 8) >> (bit & 7)) & 0x3f
}

/** Sets the 6-bit number i (only its low 6 bits are kept, never its neighbours' bits) of those packed from byte `at` of `u`. */
export function set6 (u: Uint8Array, at: number, i: number, x: number) {
  const bit = 6 * i, k = at + (bit >> 3), sh = bit & 7
  const w = ((u[k]! | (u[k + 1] ?? 0) << 8) & ~(0x3f << sh)) | (x & 0x3f) << sh
  u[k] = w & 0xff
  if (sh > 2) u[k + 1] = w >> 8 & 0xff
}

/**
 * Numbers most places never set (epoch times of away windows, doors, resets), each place's in a
 * record of its own made the first time one is set, by place or device number; a flag in the
 * place says whether it has one. `unset` is what a number reads as before it is set.
 */
export class RareRecords {
  private readonly byNo = new Map<number, Float64Array>()
  constructor (readonly size: number, readonly unset: number) {}
  get (no: number): Float64Array | undefined { return this.byNo.get(no) }
  /** A new record for `no`, every number unset. */
  make (no: number): Float64Array {
    const r = new Float64Array(this.size)
    if (this.unset !== 0) r.fill(this.unset)
    this.byNo.set(no, r)
    return r
  }
  delete (no: number): void { this.byNo.delete(no) }
}
