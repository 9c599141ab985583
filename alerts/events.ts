import { EventEmitter } from 'node:events'
import type { AlertView, TaskView } from './views.ts'

/** Typed, namespaced events: the live feed listens, tests await them instead of sleeping. */
export interface GridcareEvents {
  'alert.created': [AlertView]
  'alert.updated': [AlertView]
  'task.created': [TaskView]
  'task.updated': [TaskView]
}

export class EventBus extends EventEmitter<GridcareEvents> {
  constructor () {
    super()
    this.setMaxListeners(0)
  }
}
