/**
 * One catalogue of errors with stable codes. Each code maps to one HTTP status
 * and is documented in docs/errors.md (a test keeps the two in step).
 */
export const ERRORS = {
  AUTH_MISSING_TOKEN: { status: 401, message: 'Authorization: Bearer <token> is required' },
  AUTH_BAD_TOKEN: { status: 401, message: 'the bearer token is not valid' },
  AUTH_FORBIDDEN: { status: 403, message: 'this token may not do that' },
  REQUEST_INVALID: { status: 400, message: 'the request does not match the schema' },
  NOT_FOUND: { status: 404, message: 'no such resource' },
  CONFLICT_EXISTS: { status: 409, message: 'a resource with that id already exists' },
  ADDRESS_IMPORT_INVALID: { status: 400, message: 'the address CSV has bad rows; nothing was imported' },
  GRID_IMPORT_INVALID: { status: 400, message: 'the grid GeoJSON has bad features; nothing was imported' },
  ADDRESS_UNKNOWN: { status: 400, message: 'the address code is not in the address base' },
  ADDRESS_WRONG_LEVEL: { status: 400, message: 'the address code is not of the level required here' },
  SUBJECT_UNKNOWN: { status: 400, message: 'the subject is not registered' },
  REPORT_UNROUTABLE: { status: 400, message: 'the report has no address or position inside a known grid' },
  TASK_BAD_TRANSITION: { status: 409, message: 'the task cannot move to that state from its current one' },
  TASK_BAD_OUTCOME: { status: 400, message: 'the outcome is not valid for this task' },
  TASK_BAD_ASSIGNEE: { status: 400, message: 'the worker does not exist, does not cover the task\'s address, or holds it already' },
  TASK_AWAY_TOO_LONG: { status: 400, message: 'awayUntil is more than 180 days ahead' },
  TASK_AWAY_NEEDS_LEADER: { status: 403, message: 'an away longer than 3 days needs a grid leader, community, command centre or the admin' },
  CHECKIN_BAD_SECRET: { status: 403, message: 'no such check-in, or the secret does not match' },
  CHECKIN_CLOSED: { status: 409, message: 'the check-in was answered, expired or cancelled already' },
  DEADLINE_POLICY_INVALID: { status: 400, message: 'the deadline policy is not consistent' },
  ROSTER_INVALID: { status: 400, message: 'the roster names unknown workers or bad times' },
  PHOTO_TOO_LARGE: { status: 413, message: 'the photo is larger than 5 MB' },
  PHOTO_BAD_TYPE: { status: 415, message: 'a photo must be JPEG, PNG or WebP' },
  ABSENCE_INVALID: { status: 400, message: 'the absence must end after it starts, in the future, within 180 days' },
  WEBHOOK_URL_INVALID: { status: 400, message: 'a webhook URL must be an absolute http:// or https:// URL' },
  PERIOD_INVALID: { status: 400, message: 'the period start is not a real date or month' },
  INDEX_SETTINGS_INVALID: { status: 400, message: 'the safety index weights or thresholds are not valid' },
  INGEST_INVALID_PAYLOAD: { status: 400, message: 'the payload does not match the device contract' },
  INGEST_UNKNOWN_DEVICE: { status: 400, message: 'the device is not registered' },
  INGEST_BAD_JSON: { status: 400, message: 'the payload is not JSON' },
  INGEST_TOO_LARGE: { status: 413, message: 'the message carries more readings or bytes than allowed' },
  INGEST_UNSTORABLE: { status: 400, message: 'the store refuses this payload for good' },
  INGEST_TOPIC_REFUSED: { status: 403, message: 'the device published to a topic that is not its own' },
  STORE_UNAVAILABLE: { status: 503, message: 'the store is not reachable; try again' },
  INTERNAL: { status: 500, message: 'internal error' },
} as const satisfies Record<string, { status: number, message: string }>

export type ErrorCode = keyof typeof ERRORS

export class GridcareError extends Error {
  readonly statusCode: number
  constructor (readonly code: ErrorCode, message?: string, readonly details?: unknown) {
    super(message ?? ERRORS[code].message)
    this.name = 'GridcareError'
    this.statusCode = ERRORS[code].status
  }
}

export const fail = (code: ErrorCode, message?: string, details?: unknown): never => {
  throw new GridcareError(code, message, details)
}
