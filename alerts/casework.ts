import { randomUUID } from 'node:crypto'
import { GridcareError } from '../errors/index.ts'
import { iso, type AlertsContext } from './context.ts'
import type { Lifecycle, TransitionBody } from './lifecycle.ts'
import type { TaskAction } from './policy.ts'
import type { TaskView } from './views.ts'

/** Largest photo kept, bytes. */
export const MAX_PHOTO_BYTES = 5 * 1024 * 1024

/** JPEG, PNG or WebP by their first bytes; null for anything else. */
export function photoType (b: Buffer): string | null {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg'
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png'
  if (b.length >= 12 && b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp'
  return null
}

/** Working a case: comments and photos on a task, and bulk moves for a command centre. */
export function createCasework (ctx: AlertsContext, lifecycle: Lifecycle) {
  const { db, clock, history } = ctx

  async function comment (id: string, text: string, actor: string): Promise<TaskView> {
    await db.transaction(async (tx) => {
      await lifecycle.lockTask(tx, id)
      await history(tx, id, { actor, action: 'comment', note: text, at: clock.now() })
    })
    return ctx.publishTask(id, 'task.updated')
  }

  async function addPhoto (id: string, bytes: Buffer, actor: string, note?: string): Promise<{ id: string, mime: string, size: number }> {
    if (bytes.length > MAX_PHOTO_BYTES) throw new GridcareError('PHOTO_TOO_LARGE', `a photo is at most ${MAX_PHOTO_BYTES} bytes; this one is ${bytes.length}`)
    const mime = photoType(bytes)
    if (!mime) throw new GridcareError('PHOTO_BAD_TYPE')
    const photoId = randomUUID()
    const now = clock.now()
    await db.transaction(async (tx) => {
      await lifecycle.lockTask(tx, id)
      await tx.query('INSERT INTO task_photos (id, task_id, at, actor, mime, size, bytes) VALUES ($1,$2,$3,$4,$5,$6,$7)', [photoId, id, iso(now), actor, mime, bytes.length, bytes])
      await history(tx, id, { actor, action: 'photo', note: note ?? null, data: { photoId, mime, size: bytes.length }, at: now })
    })
    await ctx.publishTask(id, 'task.updated')
    return { id: photoId, mime, size: bytes.length }
  }

  async function getPhoto (taskId: string, photoId: string): Promise<{ mime: string, bytes: Buffer }> {
    const r = (await db.query<{ mime: string, bytes: Buffer | Uint8Array }>('SELECT mime, bytes FROM task_photos WHERE id = $1 AND task_id = $2', [photoId, taskId])).rows[0]
    if (!r) throw new GridcareError('NOT_FOUND', `no photo "${photoId}" on task "${taskId}"`)
    return { mime: r.mime, bytes: Buffer.from(r.bytes) }
  }

  /** The same move on many tasks; each succeeds or fails on its own. */
  async function bulk (ids: string[], action: TaskAction, actor: string, body: TransitionBody = {}) {
    const results: Array<{ id: string, ok: boolean, state?: string, error?: { code: string, message: string } }> = []
    for (const id of ids) {
      try {
        const v = await lifecycle.transition(id, action, actor, body)
        results.push({ id, ok: true, state: v.state })
      } catch (err) {
        if (!(err instanceof GridcareError)) throw err
        results.push({ id, ok: false, error: { code: err.code, message: err.message } })
      }
    }
    return results
  }

  return { comment, addPhoto, getPhoto, bulk }
}
