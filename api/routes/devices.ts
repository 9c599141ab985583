import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { GridcareError } from '../../errors/index.ts'
import { Id } from '../../vocab/index.ts'
import { requireAdmin, requireCovers, requireSupervisor, scopeOf } from '../auth.ts'
import { DeviceIn, DeviceList, DeviceOut, DevicePatch, DeviceView, errors, idParams, Paging } from '../schemas.ts'

const DeviceParams = idParams('m101')

/** Devices: registered, listed within the caller's part of the tree, moved, removed; their MQTT passwords. */
export const deviceRoutes: FastifyPluginAsyncZod = async (app) => {
  const { registry } = app.deps

  app.post('/devices', {
    schema: { tags: ['devices'], summary: 'Register a device; answers its MQTT credentials (password shown once) and topics', body: DeviceIn, response: { 201: DeviceOut, ...errors } },
  }, async (req, reply) => {
    requireAdmin(req)
    return reply.status(201).send(await registry.createDevice(req.body))
  })

  app.get('/devices', {
    schema: {
      tags: ['devices'], summary: 'Devices in your part of the address tree (leaders, command centres, admin)',
      querystring: z.object({ subject: Id.optional(), ...Paging }), response: { 200: DeviceList, ...errors },
    },
  }, async (req) => {
    requireSupervisor(req)
    return registry.listDevices(scopeOf(req), req.query, req.query.subject ? { subject: req.query.subject } : {})
  })

  app.get('/devices/:id', {
    schema: { tags: ['devices'], summary: 'One device (a device with no address: the admin only)', params: DeviceParams, response: { 200: DeviceView, ...errors } },
  }, async (req) => {
    requireSupervisor(req)
    const d = await registry.getDeviceRecord(req.params.id)
    if (!d) throw new GridcareError('NOT_FOUND', `no device "${req.params.id}"`)
    requireCovers(req, d.path)
    const { path: _path, ...out } = d
    return out
  })

  app.patch('/devices/:id', {
    schema: {
      tags: ['devices'], summary: 'Move a device or bind it to another subject (admin); on another street its topics change (in the answer)',
      params: DeviceParams, body: DevicePatch, response: { 200: DeviceView, ...errors },
    },
  }, async (req) => {
    requireAdmin(req)
    const d = await registry.updateDevice(req.params.id, req.body)
    await registry.audit(req.principal.id, 'change_device', d.id)
    return d
  })

  app.post('/devices/:id/password', {
    schema: {
      tags: ['devices'], summary: 'Rotate a device\'s MQTT password (admin): answers the new one (shown once); the broker refuses the old one and closes the device\'s live connections',
      params: DeviceParams, response: { 200: DeviceOut, ...errors },
    },
  }, async (req) => {
    requireAdmin(req)
    const password = await registry.rotateDevicePassword(req.params.id)
    const d = (await registry.getDeviceRecord(req.params.id))!
    await registry.audit(req.principal.id, 'rotate_device_password', d.id)
    return { id: d.id, username: d.username, password, topics: d.topics, commandTopic: d.commandTopic }
  })

  app.delete('/devices/:id', {
    schema: {
      tags: ['devices'], summary: 'Remove a device (admin): the broker refuses it and closes its live connections; its readings and dead letters stay',
      params: DeviceParams, response: { 204: z.null().meta({ examples: [null] }), ...errors },
    },
  }, async (req, reply) => {
    requireAdmin(req)
    await registry.removeDevice(req.params.id)
    await registry.audit(req.principal.id, 'remove_device', req.params.id)
    return reply.status(204).send(null)
  })
}
