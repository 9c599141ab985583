import { EventEmitter } from 'node:events'
import type { AlertView, CheckinView, TaskView } from './views.ts'

/** A task that moved one level up the address tree because a deadline was missed. */
export interface TaskEscalated {
  task: TaskView
  /** 1 grid leader, 2 community, 3 street command centre. */
  level: number
  levelName: string
  /** The worker now holding it (null when nobody holds that level). */
  holder: string | null
  /** The deadline that was missed: ack, arrive, resolve or review. */
  missed: string
  path: string[]
  id: string
}

/** A deadline about to pass (sent once per deadline). */
export interface TaskReminder { task: TaskView, deadline: string, due: string, path: string[], id: string }

/** A check-in to one of a subject's contacts (delivered by SMS/voice/WeCom webhooks). */
export interface CheckinSent {
  checkin: CheckinView
  contact: { name: string, phone: string, relation?: string }
  subject: { id: string, name: string | null, address: string }
  alert: AlertView
  /** Path of the answer page with the secret: `/checkin/<id>?s=<secret>`. */
  link: string
  /** The same secret, for gateways that send a code rather than a link. */
  code: string
  dueAt: string
  path: string[]
  id: string
}

/** Typed, namespaced events (named like the webhooks): the live feed and webhooks listen, tests await them. */
export interface GridcareEvents {
  'alert.created': [AlertView]
  'alert.updated': [AlertView]
  'task.created': [TaskView]
  'task.updated': [TaskView]
  'task.escalated': [TaskEscalated]
  'task.reminder': [TaskReminder]
  'checkin.sent': [CheckinSent]
  'checkin.answered': [CheckinView & { path: string[] }]
}

export class EventBus extends EventEmitter<GridcareEvents> {
  constructor () {
    super()
    this.setMaxListeners(0)
  }
}
