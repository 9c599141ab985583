import { accessSync, constants, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { Logger } from 'pino'

/** The embedded store's folder inside DATA_DIR; DATA_DIR may hold other files (a log) beside it. */
export const STORE_FOLDER = 'store'
/** Written into a store once its first start (creation and migrations) is complete. */
export const READY_MARK = 'gridcare-ready'
const INIT_PREFIX = '.store-init-'

/** A problem with DATA_DIR, said in one line with what to do. */
export class DataDirError extends Error {}

export type Placement =
  | { kind: 'ready', path: string }
  /** No complete store yet: create it in `temp`, then finish() moves it to `path`. */
  | { kind: 'fresh', path: string, temp: string, finish: () => void }

/**
 * Where the embedded store lives, made crash-safe: a new store is created and
 * migrated in a temporary folder beside its place and renamed into place only
 * when complete, so a first start killed half-way leaves nothing that later
 * starts trip on (the half-made folder is removed at the next start). A store
 * from an older release, in DATA_DIR itself, is used where it is.
 */
export function placeStore (dataDir: string, log: Logger): Placement {
  const dir = resolve(dataDir)
  try {
    makeDir(dir)
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' })
    accessSync(dir, constants.W_OK)
    const probe = join(dir, `.write-test-${process.pid}`)
    writeFileSync(probe, '')
    rmSync(probe, { force: true })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    throw new DataDirError(`DATA_DIR: cannot use "${dataDir}" as a writable folder (${code}); set DATA_DIR to a folder gridcare may create and write`)
  }
  if (existsSync(join(dir, 'PG_VERSION'))) {
    log.info({ dataDir: dir }, 'store: the embedded store of an older release, in DATA_DIR itself; used where it is')
    return { kind: 'ready', path: dir }
  }
  for (const name of readdirSync(dir)) {
    if (name.startsWith(INIT_PREFIX)) {
      log.warn({ folder: name }, 'store: removing a store whose first start did not finish')
      rmSync(join(dir, name), { recursive: true, force: true })
    }
  }
  const path = join(dir, STORE_FOLDER)
  if (existsSync(join(path, READY_MARK))) return { kind: 'ready', path }
  if (existsSync(path)) {
    // Only this code makes the folder, by a rename after the mark is written: without the
    // mark it is not a store gridcare made. Keep it, aside, rather than delete what is not ours.
    const aside = `${path}.incomplete-${Date.now()}`
    renameSync(path, aside)
    log.warn({ moved: aside }, 'store: DATA_DIR/store was not a complete store; moved aside, a fresh one is made')
  }
  const temp = join(dir, `${INIT_PREFIX}${process.pid}-${Date.now()}`)
  return {
    kind: 'fresh',
    path,
    temp,
    finish () {
      writeFileSync(join(temp, READY_MARK), `created ${new Date().toISOString()}\n`)
      renameSync(temp, path)
    },
  }
}

/**
 * mkdir -p that gives up: Node's recursive mkdir loops for ever where a folder
 * can never be made but its parent exists (/proc/x), so each level is tried once.
 */
function makeDir (dir: string): void {
  try {
    mkdirSync(dir)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return
    if (code !== 'ENOENT' || dirname(dir) === dir) throw err
    makeDir(dirname(dir))
    mkdirSync(dir)
  }
}
