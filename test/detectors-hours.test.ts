/**
 * The one spreading loop of the bucketed detectors (detectors/hours.ts): what a sample adds to
 * which local hour, when an hour closes, and what is taken from a sample that overlaps or repeats.
 */
import { test } from 'vitest'
import assert from 'node:assert/strict'
import { HOUR, bucketStart, spread, take, taken, type Spreader } from '../detectors/hours.ts'

interface Bucket { last: number, hour: number, wh: number, cov: number }
interface Closed { phase: 'raise' | 'update' | 'clear', hour: number, wh: number, cov: number, at: number }

/** A bucket that records every hour it closes, at UTC+8. */
function hours () {
  const closed: Closed[] = []
  const sp = {
    size: HOUR,
    offsetMs: 8 * HOUR,
    start: 0,
    end: 0,
    rate: 0,
    move (s: Bucket, k: number, at: number) {
      const out: Closed | null = s.hour < 0 ? null : { phase: 'update', hour: s.hour, wh: Math.round(s.wh * 1000) / 1000, cov: s.cov, at }
      if (out !== null) closed.push(out)
      s.hour = k; s.wh = 0; s.cov = 0
      return out
    },
    add (s: Bucket, dt: number) { s.wh += this.rate * dt; s.cov += dt },
  } satisfies Spreader<Bucket, Closed> & { rate: number }
  const s: Bucket = { last: -Infinity, hour: -1, wh: 0, cov: 0 }
  /** Takes a sample of `wh` over `minutes` ending at local hour `endHour` of a local day. */
  const feed = (endHour: number, minutes: number, wh: number) => {
    const end = bucketStart(sp, 24 * 20_000) + endHour * HOUR
    if (!take(s, end, minutes * 60_000, wh)) return false
    sp.start = taken.start; sp.end = end; sp.rate = taken.amount / (end - taken.start)
    spread(sp, s, s.hour)
    return true
  }
  return { sp, s, closed, feed }
}

test('a sample is spread over the local hours it covers; an hour closes when a sample ends on its end or crosses it', () => {
  const { s, closed, feed } = hours()
  assert.ok(feed(9.5, 30, 100))
  assert.equal(closed.length, 0, 'the first hour is open')
  assert.ok(feed(10, 30, 60))
  assert.equal(closed.length, 1, 'ending on 10:00 closes 09:00-10:00 at once')
  assert.deepEqual({ wh: closed[0]!.wh, cov: closed[0]!.cov / 60_000 }, { wh: 160, cov: 60 })
  // Three hours in one sample (a meter gap): 10:00-11:00 and 11:00-12:00 close, 12:00-12:30 stays open.
  assert.ok(feed(12.5, 150, 300))
  assert.deepEqual(closed.slice(1).map((c) => [c.wh, c.cov / 60_000]), [[120, 60], [120, 60]])
  assert.deepEqual([Math.round(s.wh), s.cov / 60_000], [60, 30])
  assert.equal(closed[1]!.at, closed[2]!.at, 'closed at the data time of the sample that closed them')
})

test('a repeated or late sample adds nothing; one that overlaps what was taken adds only its new part', () => {
  const { s, feed } = hours()
  feed(9.25, 15, 40)
  assert.equal(feed(9.25, 15, 40), false, 'the same sample again')
  assert.equal(feed(9, 15, 40), false, 'an older one')
  assert.ok(feed(9.5, 30, 80), 'half of it is new')
  assert.deepEqual([Math.round(s.wh), s.cov / 60_000], [80, 30])
})
