import { schedule, setLogger, type ScheduledTask } from 'node-cron'
import { createAbsences } from './absences.ts'
import { createCasework } from './casework.ts'
import { createCheckins } from './checkins.ts'
import { createContext, type AlertsDeps } from './context.ts'
import { createDeadlines } from './deadlines.ts'
import { createEpisodes } from './episodes.ts'
import { createEscalation } from './escalation.ts'
import { EventBus } from './events.ts'
import { createLifecycle } from './lifecycle.ts'
import { createPlaces } from './places.ts'
import { createRosters } from './rosters.ts'
import { createRouting } from './routing.ts'

export { EventBus } from './events.ts'
export type { AlertView, TaskView, CheckinView, Contact } from './views.ts'
export { TRANSITIONS, type TaskAction } from './policy.ts'
export type { AlertsDeps, OutcomeFeedback } from './context.ts'
export type { AbsenceView } from './absences.ts'
export type { DeadlinePolicy } from './deadlines.ts'
export type { Roster } from './rosters.ts'

/**
 * Alert episodes (one per subject and kind while open), answered by the subject's contacts or
 * routed by roster to a grid worker as tasks with stage deadlines, escalation up the address
 * tree and history. Each part lives in its own file; this wires them and runs the sweep.
 */
export function createAlerts (deps: AlertsDeps) {
  const events = deps.events ?? new EventBus()
  const ctx = createContext(deps, events)
  const { log, clock } = ctx
  const absences = createAbsences(ctx)
  const deadlines = createDeadlines(ctx)
  const rosters = createRosters(ctx)
  const routing = createRouting(ctx, rosters)
  const lifecycle = createLifecycle(ctx, routing, deadlines)
  const checkins = createCheckins(ctx, lifecycle)
  const episodes = createEpisodes(ctx, { lifecycle, checkins, deadlines })
  const escalation = createEscalation(ctx, routing, deadlines)
  const casework = createCasework(ctx, lifecycle)
  // Drone sightings and fleet trouble: subject-less alerts placed by position (places.ts).
  const places = createPlaces({
    db: ctx.db, log, addresses: ctx.addresses,
    createAlert: (x) => episodes.createAlert({ source: 'detector', subject: null, confidence: null, ...x }),
    updateAlert: episodes.updateAlert,
  })
  let job: ScheduledTask | undefined

  /**
   * Acts on what is due at `now`: ended absences, unanswered check-ins (to a worker), reminders
   * before deadlines, missed deadlines (one level up the tree). Safe to call at any time.
   */
  async function sweep (now = clock.now()): Promise<{ escalated: number, reminded: number, checkinsExpired: number }> {
    await absences.sweep(now)
    const checkinsExpired = await checkins.sweep(now)
    const escalated = await escalation.escalate(now)
    const reminded = await escalation.remind(now)
    return { escalated, reminded, checkinsExpired }
  }

  return {
    events,
    handleAnomaly: episodes.handleAnomaly,
    /** Takes a drone sighting or a fleet alert: placed by position, one alert per episode. */
    handlePlace: places.handle,
    createReport: episodes.createReport,
    declareAbsence: absences.declareAbsence,
    listAbsences: absences.listAbsences,
    cancelAbsence: absences.cancelAbsence,
    /** Sends a subject's absence window to the detectors (a partition that arrives on this worker). */
    syncAway: absences.syncAway,
    transition: lifecycle.transition,
    reassign: lifecycle.reassign,
    handBack: lifecycle.handBack,
    comment: casework.comment,
    addPhoto: casework.addPhoto,
    getPhoto: casework.getPhoto,
    bulk: casework.bulk,
    getTask: ctx.getTask,
    getAlert: ctx.getAlert,
    withHistory: ctx.withHistory,
    answerCheckin: checkins.answer,
    listCheckins: checkins.list,
    visitsAvoided: checkins.visitsAvoided,
    listDeadlinePolicies: deadlines.listPolicies,
    putDeadlinePolicies: deadlines.putPolicies,
    getRoster: rosters.getRoster,
    putRoster: rosters.putRoster,
    /** Who would get a new task in a grid at `now` (for the roster page). */
    whoWouldGet: (grid: string, path: string[], now = clock.now()) => routing.route(ctx.db, { grid, path, kind: 'inactivity', category: 'welfare', source: 'detector', subject: null }, now),
    /** Routing rules, tried in order: add one to route a kind of alert elsewhere. */
    routingRules: routing.rules,
    overdue: (scope: string[] | null, level?: number, now = clock.now()) => escalation.overdue(scope, now, level),
    sweep,
    /** Waits for anomalies already handed over. */
    idle: async () => { await episodes.idle(); await places.idle() },
    async start () {
      await absences.start()
      // A sweep missed while the process was busy is harmless: the next tick catches up.
      setLogger({ info: (m) => log.debug(m), warn: (m) => log.debug(m), error: (m) => log.error(String(m)), debug: (m) => log.debug(String(m)) })
      job = schedule(deps.sweepSchedule ?? '* * * * *', () => {
        sweep().catch((err) => log.error({ err: (err as Error).message }, 'deadline sweep failed'))
      })
    },
    async stop () {
      await job?.destroy()
      job = undefined
      await episodes.idle()
      await places.idle()
    },
  }
}

export type Alerts = ReturnType<typeof createAlerts>
