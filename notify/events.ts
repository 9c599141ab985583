/** The events a webhook may subscribe to: the bus's own names (alerts/events.ts). */
export const WEBHOOK_EVENTS = [
  'alert.created', 'alert.updated',
  'task.created', 'task.updated', 'task.escalated', 'task.reminder',
  'checkin.sent', 'checkin.answered',
] as const
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number]

type Payload = { path?: unknown, alert?: { path?: unknown }, task?: { path?: unknown } } | null | undefined

/** Address path of an event's payload (its own, else its alert's or task's); null when it has none. */
export function pathOf (payload: unknown): string[] | null {
  const p = payload as Payload
  const path = p?.path ?? p?.alert?.path ?? p?.task?.path
  return Array.isArray(path) && path.every((c) => typeof c === 'string') ? path : null
}

/** True when an event at `path` is for a subscriber limited to `scopes` (null: the whole tree). */
export function inScope (scopes: readonly string[] | null, path: readonly string[] | null): boolean {
  if (scopes === null) return true
  return path !== null && scopes.some((s) => path.includes(s))
}
