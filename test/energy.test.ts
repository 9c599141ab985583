import { afterAll, describe, test } from 'vitest'
import assert from 'node:assert/strict'
import { connectDevice, DAY, HOUR, seedStreet, startGridcare, STORES, type Harness } from './helpers.ts'

const MINUTE = 60_000

// GET /api/subjects/:id/energy reads energy_hourly and energy_daily: the open hour and day must be
// there as they are now, not as the housekeeping tick last left them (store/maintenance.ts).
for (const store of STORES) {
  describe(`energy through the API (${store})`, () => {
    let h: Harness | undefined
    afterAll(async () => { await h?.close() })

    test('today\'s daily and the open hour include a reading ten seconds old, written after a housekeeping tick', async () => {
      h = await startGridcare({}, undefined, store)
      await seedStreet(h)
      await h.api('POST', '/api/subjects', { id: 'e1', kind: 'lone_elder', address: 'U101' })
      const dev = (await h.api('POST', '/api/devices', { id: 'm1', kind: 'meter', subject: 'e1' })).body
      // Not close to an hour's edge: the tick on the hour (gridcare's own, by the clock, or the one
      // below) closes the hour before it, and the fresh reading must be in the open one. From here to
      // its write takes seconds: at most 50 s of waiting, in about one run of 60.
      const edge = Date.now() % HOUR
      if (edge < 20_000 || edge > HOUR - 40_000) await new Promise((r) => setTimeout(r, (20_000 - edge + HOUR) % HOUR + 1_000))
      const now = Date.now()
      const yesterday = Math.floor(now / DAY) * DAY - DAY
      const c = await connectDevice(h.mqttUrl, dev)
      const readings = []
      for (let ts = yesterday, kwh = 100; ts < now - 2 * MINUTE; ts += 15 * MINUTE, kwh += 0.25) readings.push({ ts, kwh })
      for (let i = 0; i < readings.length; i += 96) await c.publishAsync(dev.topics.telemetry, JSON.stringify({ readings: readings.slice(i, i + 96) }), { qos: 1 })
      await h.gc.components.maintenance.run(now) // a tick
      const fresh = { ts: now - 10_000, kwh: readings.at(-1)!.kwh + 0.5 } // ten seconds old, after the tick
      await c.publishAsync(dev.topics.telemetry, JSON.stringify({ readings: [fresh] }), { qos: 1 }) // acknowledged once stored
      await c.endAsync()
      const energy = async (bucket: 'hour' | 'day', from: number, to: number) => {
        const r = await h!.api('GET', `/api/subjects/e1/energy?bucket=${bucket}&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`)
        assert.equal(r.status, 200)
        return r.body as Array<{ bucket: string, amount: number, readings: number }>
      }
      const day = Math.floor(fresh.ts / DAY) * DAY
      const hour = Math.floor(fresh.ts / HOUR) * HOUR
      const inDay = readings.filter((r) => r.ts >= day)
      const inHour = readings.filter((r) => r.ts >= hour)
      const [today] = await energy('day', day, day + DAY)
      assert.equal(today!.readings, inDay.length + 1, 'today: every reading stored today, the fresh one included')
      assert.ok(Math.abs(today!.amount - (fresh.kwh - readings.filter((r) => r.ts < day).at(-1)!.kwh)) < 1e-9, 'and its energy')
      const [open] = await energy('hour', hour, hour + HOUR)
      assert.equal(open!.readings, inHour.length + 1, 'the open hour too')
      const days = await energy('day', yesterday, day + DAY)
      if (day > yesterday) assert.equal(days[0]!.readings, 96, 'yesterday whole')
    })
  })
}
