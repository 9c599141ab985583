import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { ALERT_COLUMNS, alertView, TASK_COLUMNS, type AlertRow, type TaskRow } from '../../alerts/views.ts'
import { TRANSITIONS, type TaskAction } from '../../alerts/index.ts'
import { GridcareError } from '../../errors/index.ts'
import { AddressCode, TaskState } from '../../vocab/index.ts'
import { requireCovers, requirePlaceInScope, requireSupervisor } from '../auth.ts'
import { auditAlertContacts } from '../audit.ts'
import { AlertOut, errors, NoteIn, Paging, ReportIn, ResolveIn, ReviewIn, TaskOut } from '../schemas.ts'
import type { Principal } from '../../registry/index.ts'

/** The address codes a principal may see; null for everything. */
const scopeOf = (p: Principal) => p.type === 'admin' ? null : p.scopes

export const alertRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db, alerts } = app.deps

  app.get('/alerts', {
    schema: {
      tags: ['alerts'], summary: 'Alerts in your part of the address tree',
      querystring: z.object({ status: z.enum(['open', 'cleared', 'closed']).optional(), grid: AddressCode.optional(), subject: z.string().optional(), ...Paging }),
      response: { 200: z.array(AlertOut), ...errors },
    },
  }, async (req) => {
    const q = req.query
    const { rows } = await db.query<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts
      WHERE ($1::text[] IS NULL OR path && $1) AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR grid = $3) AND ($4::text IS NULL OR subject = $4)
      ORDER BY created_at DESC, id LIMIT $5 OFFSET $6`, [scopeOf(req.principal), q.status ?? null, q.grid ?? null, q.subject ?? null, q.limit, q.offset])
    const views = rows.map(alertView)
    await auditAlertContacts(app, req, 'read_alert_contact', views)
    return views
  })

  app.get('/tasks', {
    schema: {
      tags: ['tasks'], summary: 'Tasks in your part of the address tree',
      querystring: z.object({ worker: z.string().optional(), status: TaskState.optional(), grid: AddressCode.optional(), ...Paging }),
      response: { 200: z.array(TaskOut), ...errors },
    },
  }, async (req) => {
    const q = req.query
    const { rows } = await db.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks t JOIN alerts a ON a.id = t.alert_id
      WHERE ($1::text[] IS NULL OR t.path && $1) AND ($2::text IS NULL OR t.worker_id = $2) AND ($3::text IS NULL OR t.state = $3) AND ($4::text IS NULL OR t.grid = $4)
      ORDER BY t.created_at DESC, t.id LIMIT $5 OFFSET $6`, [scopeOf(req.principal), q.worker ?? null, q.status ?? null, q.grid ?? null, q.limit, q.offset])
    return alerts.withHistory(rows)
  })

  app.get('/tasks/:id', {
    schema: { tags: ['tasks'], summary: 'One task with its history', params: z.object({ id: z.string() }), response: { 200: TaskOut, ...errors } },
  }, async (req) => {
    const t = await alerts.getTask(req.params.id)
    if (!t) throw new GridcareError('NOT_FOUND', `no task "${req.params.id}"`)
    requireCovers(req, t.path)
    return t.view
  })

  const move = (action: TaskAction, summary: string, body: z.ZodType) => {
    app.post(`/tasks/:id/${action}`, {
      schema: { tags: ['tasks'], summary, params: z.object({ id: z.string() }), body, response: { 200: TaskOut, ...errors } },
    }, async (req) => {
      const t = await alerts.getTask(req.params.id)
      if (!t) throw new GridcareError('NOT_FOUND', `no task "${req.params.id}"`)
      requireCovers(req, t.path)
      if (action === 'review') requireSupervisor(req)
      const p = req.principal
      return alerts.transition(req.params.id, action, p.id, (req.body ?? {}) as Parameters<typeof alerts.transition>[3], { id: p.id, role: p.type === 'admin' ? 'admin' : p.role })
    })
  }
  move('ack', `Acknowledge (${TRANSITIONS.ack.from.join('|')} -> ${TRANSITIONS.ack.to})`, NoteIn)
  move('arrive', `At the door (${TRANSITIONS.arrive.from.join('|')} -> ${TRANSITIONS.arrive.to})`, NoteIn)
  move('resolve', 'Resolve with an outcome; "away" with awayUntil quiets inactivity alerts until then', ResolveIn)
  move('review', 'A leader or command centre reviews a resolved task (with a resident\'s satisfaction on a report\'s task)', ReviewIn)

  app.post('/reports', {
    schema: { tags: ['alerts'], summary: 'A resident\'s report: routed like a sensor alert, becomes a task', body: ReportIn, response: { 201: z.object({ alert: AlertOut, taskId: z.string().nullable() }), ...errors } },
  }, async (req, reply) => {
    await requirePlaceInScope(req, req.body)
    return reply.status(201).send(await alerts.createReport(req.body))
  })
}
