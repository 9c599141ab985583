import type { Logger } from 'pino'

type TaskLike = { id?: string, workerId?: string | null, escalatedTo?: string | null }
type Escalated = { task?: TaskLike, holder?: string | null, level?: number, levelName?: string, missed?: string }
type Reminder = { task?: TaskLike, deadline?: string, due?: string }

/**
 * What a worker's app hears on its MQTT topic beyond the task itself: a task escalated to
 * it (the new holder) and a reminder before one of its deadlines. Both name the event, so an
 * app that also gets `{event: "task"}` for the same change tells them apart.
 */
export function workerMessages (publish: (workerId: string, message: unknown) => Promise<void>, logger: Logger) {
  const log = logger.child({ module: 'notify' })
  const send = (workerId: string | null | undefined, message: unknown) => {
    if (!workerId) return
    publish(workerId, message).catch((err) => log.warn({ err: (err as Error).message, worker: workerId }, 'worker notification failed'))
  }
  return {
    'task.escalated': (e: Escalated) => send(e.holder ?? e.task?.escalatedTo, { event: 'task.escalated', task: e.task, level: e.level, levelName: e.levelName, missed: e.missed }),
    'task.reminder': (e: Reminder) => send(e.task?.escalatedTo ?? e.task?.workerId, { event: 'task.reminder', task: e.task, deadline: e.deadline, due: e.due }),
  }
}
