import type { FastifyPluginAsync } from 'fastify'
import type { GridcareEvents } from '../../alerts/events.ts'
import { covers } from '../../registry/index.ts'

// The closed loop's events (escalations, reminders, check-ins) are listened for by name before the bus types them.
const EVENTS = ['alert.created', 'alert.updated', 'task.created', 'task.updated', 'task.escalated', 'task.reminder', 'checkin.sent', 'checkin.answered'] as Array<keyof GridcareEvents>

/** Server-Sent Events: new and changed alerts and tasks in the caller's part of the tree. */
export const feedRoutes: FastifyPluginAsync = async (app) => {
  app.get('/feed', { schema: { tags: ['alerts'], summary: `Live feed (text/event-stream): ${EVENTS.join(', ')}` } }, (req, reply) => {
    const bus = app.deps.alerts.events
    const p = req.principal
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' })
    res.write(': gridcare feed\n\n')
    const listeners = EVENTS.map((event) => {
      const fn = (view: { path?: string[], id: string }) => {
        if (view.path && covers(p, view.path)) res.write(`event: ${event}\nid: ${view.id}\ndata: ${JSON.stringify(view)}\n\n`)
      }
      bus.on(event, fn)
      return () => bus.off(event, fn)
    })
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000)
    const close = () => { clearInterval(ping); listeners.forEach((off) => off()) }
    req.raw.on('close', close)
    app.addHook('onClose', async () => { close(); res.end() })
    return reply
  })
}
