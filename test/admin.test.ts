/**
 * An administrator lists, changes and removes workers, subjects and devices, rotates a
 * device's MQTT password and revokes or rotates a worker's token; leaders see the lists of
 * their own part of the tree (issue 11).
 */
import { afterAll, beforeAll, describe, test } from 'vitest'
import assert from 'node:assert/strict'
import { STORES, connectDevice, seedStreet, startGridcare, type Harness } from './helpers.ts'

for (const store of STORES) describe(store, () => {
  let h: Harness
  let t: Awaited<ReturnType<typeof seedStreet>>
  let gl1 = ''

  beforeAll(async () => {
    h = await startGridcare({}, undefined, store)
    t = await seedStreet(h)
    gl1 = (await h.api('POST', '/api/workers', { id: 'gl1', name: 'Gao Jie', role: 'grid_leader', grids: ['G1'] })).body.token
    for (const [id, unit] of [['e101', 'U101'], ['e201', 'U201']]) await h.api('POST', '/api/subjects', { id, kind: 'lone_elder', address: unit, name: `Elder ${id}`, phone: '13900000000' })
  })
  afterAll(async () => { await h?.close() })

  const ids = (list: Array<{ id: string }>) => list.map((x) => x.id).sort()

  test('workers: the admin lists all, a grid leader its grid\'s; each listed person audited; changed; taken off duty only within scope', async () => {
    assert.deepEqual(ids((await h.api('GET', '/api/workers')).body), ['gl1', 'lead', 'w1', 'w2'])
    assert.deepEqual(ids((await h.api('GET', '/api/workers', undefined, gl1)).body), ['gl1', 'w1'])
    assert.deepEqual(ids((await h.api('GET', '/api/workers', undefined, t.lead)).body), ['gl1', 'lead', 'w1', 'w2'])
    const { rows } = await h.gc.components.db.query<{ target: string }>("SELECT target FROM audit_log WHERE actor = 'gl1' AND action = 'list_workers' ORDER BY target")
    assert.deepEqual(rows.map((r) => r.target), ['gl1', 'w1'])

    assert.equal((await h.api('PUT', '/api/workers/w2/duty', { onDuty: false }, gl1)).status, 403)
    assert.equal((await h.api('PUT', '/api/workers/w1/duty', { onDuty: false }, gl1)).status, 204)
    assert.equal((await h.api('PUT', '/api/workers/w2/duty', { onDuty: false }, t.lead)).status, 204)
    assert.equal((await h.api('GET', '/api/workers/w2')).body.onDuty, false)
    assert.equal((await h.api('GET', '/api/workers/w2', undefined, gl1)).status, 403)

    const changed = await h.api('PATCH', '/api/workers/w1', { phone: '13800000011', grids: ['G1', 'G2'] })
    assert.equal(changed.status, 200)
    assert.deepEqual([changed.body.phone, changed.body.grids], ['13800000011', ['G1', 'G2']])
    assert.equal((await h.api('PATCH', '/api/workers/w1', { grids: ['C1'] })).body.error.code, 'ADDRESS_WRONG_LEVEL', 'a grid worker covers grids')
    assert.equal((await h.api('PATCH', '/api/workers/w1', { phone: '1' }, gl1)).status, 403, 'only the admin changes workers')
    // w1 now spans G1 and G2: the leader of G1 alone may not take it off duty
    assert.equal((await h.api('PUT', '/api/workers/w1/duty', { onDuty: true }, gl1)).status, 403)
    assert.equal((await h.api('PATCH', '/api/workers/w1', {})).status, 400)
  })

  test('a worker\'s token: rotated (the old one gets 401, the new one works), revoked, and the worker removed', async () => {
    assert.equal((await h.api('GET', '/api/me', undefined, t.w2)).status, 200)
    const rotated = await h.api('POST', '/api/workers/w2/token')
    assert.equal(rotated.status, 200)
    assert.equal((await h.api('GET', '/api/me', undefined, t.w2)).status, 401)
    assert.equal((await h.api('GET', '/api/me', undefined, rotated.body.token)).body.id, 'w2')

    assert.equal((await h.api('DELETE', '/api/workers/w2/token')).status, 204)
    assert.equal((await h.api('GET', '/api/me', undefined, rotated.body.token)).status, 401)
    const again = await h.api('POST', '/api/workers/w2/token')
    assert.equal((await h.api('GET', '/api/me', undefined, again.body.token)).status, 200)

    assert.equal((await h.api('DELETE', '/api/workers/w2', undefined, t.lead)).status, 403)
    assert.equal((await h.api('DELETE', '/api/workers/w2')).status, 204)
    assert.equal((await h.api('GET', '/api/me', undefined, again.body.token)).status, 401, 'a removed worker\'s token no longer works')
    assert.equal((await h.api('GET', '/api/workers/w2')).status, 404)
    assert.ok(!ids((await h.api('GET', '/api/workers')).body).includes('w2'))
    assert.equal((await h.api('DELETE', '/api/workers/w2')).status, 404)
    assert.equal((await h.api('POST', '/api/workers', { id: 'w2', name: 'Again', role: 'grid_worker', grids: ['G2'] })).status, 409, 'the id stays taken: tasks and history name it')
    const { rows } = await h.gc.components.db.query<{ action: string }>("SELECT action FROM audit_log WHERE actor = 'admin' AND target = 'w2' AND action NOT IN ('read_worker', 'list_workers') ORDER BY id")
    assert.deepEqual(rows.map((r) => r.action), ['rotate_worker_token', 'revoke_worker_token', 'rotate_worker_token', 'remove_worker'])
  })

  test('devices: listed within scope, moved, password rotated (the old one is refused over MQTT), removed (refused too)', async () => {
    const reg = await h.api('POST', '/api/devices', { id: 'm101', kind: 'meter', subject: 'e101' })
    await h.api('POST', '/api/devices', { id: 'm201', kind: 'meter', subject: 'e201' })
    assert.deepEqual(ids((await h.api('GET', '/api/devices')).body), ['m101', 'm201'])
    assert.deepEqual(ids((await h.api('GET', '/api/devices', undefined, gl1)).body), ['m101'])
    assert.equal((await h.api('GET', '/api/devices/m201', undefined, gl1)).status, 403)
    assert.equal((await h.api('GET', '/api/devices?subject=e101')).body[0].address, 'U101')

    const c1 = await connectDevice(h.mqttUrl, reg.body)
    await c1.endAsync()
    const rotated = await h.api('POST', '/api/devices/m101/password')
    assert.equal(rotated.status, 200)
    assert.notEqual(rotated.body.password, reg.body.password)
    await assert.rejects(connectDevice(h.mqttUrl, reg.body), 'the old password is refused')
    const c2 = await connectDevice(h.mqttUrl, rotated.body)
    await c2.publishAsync(rotated.body.topics.telemetry, JSON.stringify({ ts: '2026-03-01T00:00:00Z', kwh: 1 }), { qos: 1 })
    await c2.endAsync()

    const moved = await h.api('PATCH', '/api/devices/m101', { subject: 'e201' })
    assert.deepEqual([moved.body.subject, moved.body.address], ['e201', 'U201'])
    assert.deepEqual(ids((await h.api('GET', '/api/devices', undefined, gl1)).body), [], 'moved out of the leader\'s grid')
    assert.equal((await h.api('PATCH', '/api/devices/m101', { subject: 'nobody' })).body.error.code, 'SUBJECT_UNKNOWN')
    assert.equal((await h.api('PATCH', '/api/devices/m101', { subject: 'e101' }, gl1)).status, 403)

    assert.equal((await h.api('DELETE', '/api/devices/m101')).status, 204)
    await assert.rejects(connectDevice(h.mqttUrl, rotated.body), 'a removed device is refused')
    assert.equal((await h.api('GET', '/api/devices/m101')).status, 404)
    assert.equal((await h.api('POST', '/api/devices/m101/password')).status, 404)
  })

  test('subjects: listed within scope (audited); removing one with alerts keeps its history and detaches its devices', async () => {
    assert.deepEqual(ids((await h.api('GET', '/api/subjects')).body), ['e101', 'e201'])
    assert.deepEqual(ids((await h.api('GET', '/api/subjects', undefined, gl1)).body), ['e101'])
    assert.deepEqual(ids((await h.api('GET', '/api/subjects?under=G2', undefined, t.lead)).body), ['e201'])
    const { rows: audited } = await h.gc.components.db.query<{ target: string }>("SELECT target FROM audit_log WHERE actor = 'gl1' AND action = 'list_subjects'")
    assert.deepEqual(audited.map((r) => r.target), ['e101'])

    await h.gc.components.alerts.handleAnomaly({ subjectId: 'e201', detector: 'inactivity', kind: 'inactivity', phase: 'raise', severity: 'medium', startedAt: Date.UTC(2026, 2, 1), observedAt: Date.UTC(2026, 2, 1, 6), evidence: {} })
    assert.equal((await h.api('GET', '/api/alerts?subject=e201')).body.length, 1)
    assert.equal((await h.api('DELETE', '/api/subjects/e201', undefined, t.lead)).status, 403)
    const removed = await h.api('DELETE', '/api/subjects/e201')
    assert.equal(removed.status, 200)
    assert.deepEqual(removed.body, { id: 'e201', removed: true, detachedDevices: ['m201'] })
    assert.equal((await h.api('GET', '/api/subjects/e201')).status, 404)
    assert.deepEqual(ids((await h.api('GET', '/api/subjects')).body), ['e101'])
    assert.equal((await h.api('GET', '/api/alerts?subject=e201')).body.length, 1, 'its alerts stay as history')
    assert.equal((await h.api('GET', '/api/devices/m201')).body.subject, null, 'its meter stays registered at the flat, detached')
    assert.equal((await h.api('DELETE', '/api/subjects/e201')).status, 404)
  })
})
