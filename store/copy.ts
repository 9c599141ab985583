import type { CopyColumn, CopyRow, CopyRows, EncodedRows } from './types.ts'

/*
 * COPY's binary format: a signature, then per row a field count and per field
 * a length (-1 for NULL) and the value in the type's send format. Cheaper to
 * make than text (no number or date printing) and cheaper for the server to
 * read. The format carries no types: each column's type must be the table's.
 */

const PG_EPOCH_MS = Date.UTC(2000, 0, 1)
const TWO32 = 2 ** 32
/** Signature, flags, header extension length. */
const HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)])
const TRAILER = Buffer.from([0xff, 0xff])
/** Rows per piece, so a large load never sits in memory as one buffer. */
const PIECE_ROWS = 5000

/** Postgres' SQLSTATE for a unique key broken: a duplicate row. */
export const UNIQUE_VIOLATION = '23505'
/** The savepoint a COPY of rows that may already be stored runs under (Transaction.copyNewRows), on both stores. */
export const COPY_SAVEPOINT = 'gridcare_copy_new'

/** Byte arrays one after another in one. */
export function concat (parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

/** Rows in COPY's binary format, in pieces: the header, the rows, the trailer. */
export function * encodeBinary (columns: readonly CopyColumn[], rows: readonly CopyRow[]): Generator<Buffer> {
  yield HEADER
  for (let i = 0; i < rows.length; i += PIECE_ROWS) {
    const to = Math.min(rows.length, i + PIECE_ROWS)
    const buf = Buffer.allocUnsafe(rowsSize(columns, rows, i, to))
    yield buf.subarray(0, writeRows(buf, 0, columns, rows, i, to))
  }
  yield TRAILER
}

/**
 * Rows in COPY's binary format, header to trailer, in one buffer of its own (never Node's shared
 * pool): it can be transferred to another thread, which then reads it without copying.
 */
export function encodeCopy (columns: readonly CopyColumn[], rows: readonly CopyRow[]): EncodedRows {
  const buf = Buffer.from(new ArrayBuffer(HEADER.length + rowsSize(columns, rows, 0, rows.length) + TRAILER.length))
  HEADER.copy(buf, 0)
  let o = writeRows(buf, HEADER.length, columns, rows, 0, rows.length)
  TRAILER.copy(buf, o)
  o += TRAILER.length
  return { encoded: buf.subarray(0, o), length: rows.length }
}

const isEncoded = (rows: CopyRows): rows is EncodedRows => !Array.isArray(rows)

/** A COPY's data in pieces: rows encoded already as they are, else encodeBinary's. */
export const copyPieces = (columns: readonly CopyColumn[], rows: CopyRows): Iterable<Uint8Array> =>
  isEncoded(rows) ? [rows.encoded] : encodeBinary(columns, rows)

/** A COPY's data in one piece (rows encoded already: their own buffer). */
export const copyData = (columns: readonly CopyColumn[], rows: CopyRows): Uint8Array =>
  isEncoded(rows) ? rows.encoded : encodeCopy(columns, rows).encoded

/** Bytes rows[from, to) take at most (text counted at 3 bytes a character). */
function rowsSize (columns: readonly CopyColumn[], rows: readonly CopyRow[], from: number, to: number): number {
  const n = columns.length
  let size = 0
  for (let r = from; r < to; r++) {
    const row = rows[r]!
    if (row.length !== n) throw new TypeError(`COPY row has ${row.length} values for ${n} columns`)
    size += 2
    for (let i = 0; i < n; i++) size += 4 + byteSize(columns[i]!.type, row[i])
  }
  return size
}

/** Writes rows[from, to) into buf from offset o; returns the offset after them. */
function writeRows (buf: Buffer, o: number, columns: readonly CopyColumn[], rows: readonly CopyRow[], from: number, to: number): number {
  const types = columns.map((c) => c.type)
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  for (let r = from; r < to; r++) {
    const row = rows[r]!
    view.setInt16(o, types.length)
    o += 2
    for (let i = 0; i < types.length; i++) o = writeField(buf, view, o, types[i]!, row[i], columns[i]!.name)
  }
  return o
}

/** Bytes a value takes, at most: exact for fixed-width types, an upper bound for text. */
function byteSize (type: CopyColumn['type'], v: unknown): number {
  if (v === null || v === undefined) return 0
  switch (type) {
    case 'bool': return 1
    case 'int4': return 4
    case 'int8': case 'float8': case 'timestamptz': return 8
    case 'text': return typeof v === 'string' ? v.length * 3 : 0
    case 'jsonb': return 1 + JSON.stringify(v).length * 3
  }
}

function writeField (buf: Buffer, view: DataView, o: number, type: CopyColumn['type'], v: unknown, name: string): number {
  if (v === null || v === undefined) {
    view.setInt32(o, -1)
    return o + 4
  }
  switch (type) {
    case 'text': {
      if (typeof v !== 'string') throw badValue(name, type, v)
      const n = buf.write(v, o + 4, 'utf8')
      view.setInt32(o, n)
      return o + 4 + n
    }
    case 'float8':
      if (typeof v !== 'number') throw badValue(name, type, v)
      view.setInt32(o, 8)
      view.setFloat64(o + 4, v)
      return o + 12
    case 'int8':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw badValue(name, type, v)
      return writeInt64(view, o, v)
    case 'int4':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) throw badValue(name, type, v)
      view.setInt32(o, 4)
      view.setInt32(o + 4, v)
      return o + 8
    case 'bool':
      if (typeof v !== 'boolean') throw badValue(name, type, v)
      view.setInt32(o, 1)
      buf[o + 4] = v ? 1 : 0
      return o + 5
    case 'timestamptz': {
      // Microseconds since 2000-01-01 UTC; from epoch ms or a Date.
      const ms = v instanceof Date ? v.getTime() : v
      if (typeof ms !== 'number' || !Number.isFinite(ms)) throw badValue(name, type, v)
      return writeInt64(view, o, Math.round((ms - PG_EPOCH_MS) * 1000))
    }
    case 'jsonb': {
      // Version 1, then the JSON text.
      const n = buf.write(JSON.stringify(v), o + 5, 'utf8')
      view.setInt32(o, n + 1)
      buf[o + 4] = 1
      return o + 5 + n
    }
  }
}

// Not a closure in writeField: one made per field costs more than the encoding.
const badValue = (name: string, type: string, v: unknown) =>
  new TypeError(`COPY column ${name} (${type}) cannot take ${typeof v} ${String(v).slice(0, 40)}`)

/** A safe integer as a big-endian int64, without BigInt. */
function writeInt64 (view: DataView, o: number, v: number): number {
  const hi = Math.floor(v / TWO32)
  view.setInt32(o, 8)
  view.setInt32(o + 4, hi)
  view.setUint32(o + 8, v - hi * TWO32)
  return o + 12
}

/** A quoted SQL identifier, so table and column names never need trusting. */
export const ident = (name: string) => '"' + name.replace(/"/g, '""') + '"'

/** `COPY table (a, b) FROM source (FORMAT binary)`; a dotted table name is schema-qualified. */
export const copySql = (table: string, columns: readonly CopyColumn[], source: string) =>
  `COPY ${table.split('.').map(ident).join('.')} (${columns.map((c) => ident(c.name)).join(', ')}) FROM ${source} (FORMAT binary)`
