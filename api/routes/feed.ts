import type { ServerResponse } from 'node:http'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { GridcareEvents } from '../../alerts/events.ts'
import { covers } from '../../registry/index.ts'
import { auditAlertContacts } from '../audit.ts'

const EVENTS: Array<keyof GridcareEvents> = ['alert.created', 'alert.updated', 'task.created', 'task.updated', 'task.escalated', 'task.reminder', 'checkin.sent', 'checkin.answered']
/** A comment line this often keeps proxies and browsers from closing an idle stream. */
const PING_MS = 15_000

/**
 * Server-Sent Events: new and changed alerts and tasks in the caller's part of the tree.
 * The reply is hijacked and answered once, by hand; open streams are ended in `preClose`, so
 * app.close() (and SIGTERM) finishes while command-centre screens are open.
 */
export const feedRoutes: FastifyPluginAsyncZod = async (app) => {
  const open = new Set<() => void>()
  app.addHook('preClose', async () => { for (const end of [...open]) end() })

  app.get('/feed', {
    schema: {
      tags: ['alerts'],
      summary: `Live feed (text/event-stream): ${EVENTS.join(', ')}`,
      description: 'Each event is `event: <name>`, `id: <alert or task id>`, `data: <the alert or task as JSON>`; a comment line every 15 s. ' +
        'Only what lies in the caller\'s part of the address tree; an alert carrying a resident\'s contact is written to the audit log for the caller.',
      produces: ['text/event-stream'],
      response: {
        200: z.string().describe('text/event-stream').meta({ examples: ['event: task.created\nid: 5f0c2a9e-6b1d-4f3e-9a57-2c1d0e4b7a10\ndata: {"id":"5f0c2a9e-6b1d-4f3e-9a57-2c1d0e4b7a10","state":"open","grid":"G1",...}\n\n'] }),
      },
    },
  }, (req, reply) => {
    const bus = app.deps.alerts.events
    const p = req.principal
    reply.hijack()
    const res: ServerResponse = reply.raw
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' })
    res.write(': gridcare feed\n\n')
    // In order, each alert event only once its audit row (if it carries a contact) is written.
    let queue = Promise.resolve()
    let ended = false
    const listeners = EVENTS.map((event) => {
      const fn = (view: { path: string[], id: string, evidence?: unknown }) => {
        if (!covers(p, view.path)) return
        queue = queue
          .then(() => event.startsWith('alert.') ? auditAlertContacts(app, req, 'read_alert_contact', [view]) : undefined)
          .then(() => { if (!ended) res.write(`event: ${event}\nid: ${view.id}\ndata: ${JSON.stringify(view)}\n\n`) })
          .catch((err: Error) => req.log.error({ err }, 'feed event not sent: its audit row could not be written'))
      }
      bus.on(event, fn)
      return () => bus.off(event, fn)
    })
    const ping = setInterval(() => res.write(': ping\n\n'), PING_MS)
    ping.unref()
    // A worker whose token is rotated or revoked, or who is removed, loses the stream now; one
    // whose grids or role change too: its browser reconnects and is let in with the new scope.
    const offWorker = p.type === 'worker' ? app.deps.registry.onWorkerChange((id) => { if (id === p.id) end() }) : undefined
    const end = () => {
      if (ended) return
      ended = true
      clearInterval(ping)
      listeners.forEach((off) => off())
      offWorker?.()
      open.delete(end)
      if (!res.writableEnded) res.end()
    }
    open.add(end)
    req.raw.on('close', end)
    res.on('close', end)
  })
}
