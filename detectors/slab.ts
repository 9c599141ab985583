/**
 * Small typed arrays for per-subject detector state, cut from shared 64 KiB buffers.
 *
 * A typed array of its own costs about 200 bytes beside its data (its ArrayBuffer object, and
 * off the V8 heap a backing store), a view on a shared buffer about 100; a plain array of small
 * integers 48 plus 8 bytes an element. A view pays for itself from about ten elements of 16 bits.
 * A buffer lives while any view on it does: the slices of states that were dropped (a subject
 * restored over a fresh one) are not reused, which is a few hundred bytes per subject at most.
 */
const CHUNK = 1 << 16

let buffer = new ArrayBuffer(CHUNK)
let used = 0

/** The byte offset of a new slice of `bytes` bytes, aligned to 8, in `buffer` (a fresh one when the current is full). */
function cut (bytes: number): number {
  if (bytes > CHUNK) throw new RangeError(`slab: ${bytes} bytes is more than a slab holds`)
  if (used + bytes > CHUNK) { buffer = new ArrayBuffer(CHUNK); used = 0 }
  const at = used
  used += (bytes + 7) & ~7
  return at
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
