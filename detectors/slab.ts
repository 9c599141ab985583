/**
 * Per-subject detector state cut from shared 1 MiB buffers (chunks). What a chunk costs beside its
 * places (its ArrayBuffer, five views, the tail a place did not fit in) is then spread over about
 * 900 subjects of the set: measured, 26 bytes a subject fewer than with 64 KiB chunks.
 *
 * A typed array of its own costs about 200 bytes beside its data (its ArrayBuffer object, and
 * off the V8 heap a backing store), a view on a shared buffer 96 (pointers are 8 bytes here). So a
 * subject's numbers are not given a view of their own: place() hands out a place in a chunk, the
 * chunk's own views (one of each type, shared by every subject cut from it) and the index there,
 * and the state keeps both (two fields, 16 bytes, instead of a view). int16s() and the like still
 * cut a view of its own, for what is read as an array of its own.
 * A place is also known by one number (its loc: the chunk's number in `chunks` times 2^17, plus the
 * place's start in 8-byte words), so that a detector can keep a subject's place in a typed column
 * (4 bytes) and read it through one reused object (a cursor: inactivity-state.ts State), not an
 * object per subject (40-80 bytes each). So chunks are kept in `chunks` for the process's life:
 * the places of states that were dropped (a subject restored over a fresh one) are not reused,
 * which is a few hundred bytes per subject at most.
 */
const CHUNK = 1 << 20

/** One buffer's views, shared by every state cut from it. */
export interface Chunk {
  readonly i16: Int16Array
  readonly u16: Uint16Array
  readonly i32: Int32Array
  readonly u8: Uint8Array
  readonly f64: Float64Array
}

let buffer = new ArrayBuffer(CHUNK)
let chunk: Chunk | null = null
let used = 0

/** Every chunk places were cut from, by number (a loc's high bits). */
export const chunks: Chunk[] = []
/** A loc's low bits: the place's start in the chunk, in 8-byte words (a chunk holds 2^17 of them). */
export const WORDS = 0x1ffff
/** The chunk of place `loc`, and where the place begins in its Float64 view. */
export const chunkOf = (loc: number): Chunk => chunks[loc >>> 17]!
export const wordOf = (loc: number) => loc & WORDS

/** The byte offset of a new slice of `bytes` bytes, aligned to 8, in `buffer` (a fresh one when the current is full). */
function cut (bytes: number): number {
  if (bytes > CHUNK) throw new RangeError(`slab: ${bytes} bytes is more than a slab holds`)
  if (used + bytes > CHUNK) { buffer = new ArrayBuffer(CHUNK); chunk = null; used = 0 }
  const at = used
  used += (bytes + 7) & ~7
  return at
}

/** A place of `bytes` bytes in a shared chunk: the chunk's views, the byte offset (a multiple of 8), and its loc. Read it before the next call. */
export const placed = { chunk: null as unknown as Chunk, byte: 0, loc: 0 }

export function place (bytes: number): typeof placed {
  placed.byte = cut(bytes)
  if (chunk === null) {
    chunk = { i16: new Int16Array(buffer), u16: new Uint16Array(buffer), i32: new Int32Array(buffer), u8: new Uint8Array(buffer), f64: new Float64Array(buffer) }
    chunks.push(chunk)
    if (chunks.length > 0x4000) throw new RangeError('slab: more than 16 GiB of places')
  }
  placed.chunk = chunk
  placed.loc = (chunks.length - 1) * (WORDS + 1) + placed.byte / 8
  return placed
}

/** The 12-bit number i of those packed from byte `at` of `u`, two in three bytes: 2j in byte 3j and the low half of 3j + 1, 2j + 1 in its high half and 3j + 2. */
export function get12 (u: Uint8Array, at: number, i: number): number {
  const k = at + ((3 * i) >> 1)
  return (i & 1) === 0 ? u[k]! | (u[k + 1]! & 0x0f) << 8 : u[k]! >> 4 | u[k + 1]! << 4
}

/** Sets the 12-bit number i (an integer in [0, 0xfff]; only its low 12 bits are kept, never its neighbour's) of those packed from byte `at` of `u`. */
export function set12 (u: Uint8Array, at: number, i: number, x: number) {
  const k = at + ((3 * i) >> 1)
  if ((i & 1) === 0) { u[k] = x & 0xff; u[k + 1] = (u[k + 1]! & 0xf0) | (x >> 8 & 0x0f) } else { u[k] = (u[k]! & 0x0f) | (x & 0x0f) << 4; u[k + 1] = x >> 4 }
}

export function int16s (n: number): Int16Array {
  const at = cut(2 * n)
  return new Int16Array(buffer, at, n)
}

export function uint16s (n: number): Uint16Array {
  const at = cut(2 * n)
  return new Uint16Array(buffer, at, n)
}

export function int32s (n: number): Int32Array {
  const at = cut(4 * n)
  return new Int32Array(buffer, at, n)
}

export function uint8s (n: number): Uint8Array {
  const at = cut(n)
  return new Uint8Array(buffer, at, n)
}
