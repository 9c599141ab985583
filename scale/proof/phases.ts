/**
 * Where the failover time goes, read from what the processes logged: when a RabbitMQ node saw
 * the killed worker's connection close (the nodes' logs), and when each partition was first
 * delivered to another worker and its detector state rebuilt there (the workers' pino logs).
 * The proof adds when a reading of each street was stored again (the database).
 */
import { readFileSync } from 'node:fs'

const read = (file: string) => { try { return readFileSync(file, 'utf8') } catch { return '' } }

/** `2026-12-01 07:38:55.130412+00:00 [warning] ...` -> epoch ms; NaN when not a log line's start. */
export function rabbitLogTime (line: string): number {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(\.\d{1,3})?\d*([+-]\d\d:\d\d|Z)/.exec(line)
  return m ? Date.parse(`${m[1]}T${m[2]}${m[3] ?? ''}${m[4]}`) : NaN
}

/**
 * When a node first logged closing the AMQP connection a client named `name` (amqplib's
 * `connection_name`), at or after `after` (ms); null if none did. RabbitMQ logs an abrupt
 * close (the client killed) as a warning, so the nodes' warning-level logs have it.
 */
export function connectionClosedAt (logFiles: string[], name: string, after: number): number | null {
  let first: number | null = null
  const needle = new RegExp(`closing AMQP connection .* - ${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[,):]`)
  for (const file of logFiles) {
    for (const line of read(file).split('\n')) {
      if (!needle.test(line)) continue
      const t = rabbitLogTime(line)
      if (t >= after && (first === null || t < first)) first = t
    }
  }
  return first
}

export interface PartitionTimes {
  /** Partition -> first "active here" after `after` on any of the workers, ms. */
  delivered: Map<number, number>
  /** Partition -> first "detector state rebuilt" after `after`, ms. */
  rebuilt: Map<number, number>
}

/** Partition moves logged by the workers (pino JSON lines) at or after `after`. */
export function partitionTimes (logFiles: string[], after: number): PartitionTimes {
  const delivered = new Map<number, number>()
  const rebuilt = new Map<number, number>()
  const keep = (m: Map<number, number>, p: number, t: number) => {
    const had = m.get(p)
    if (t >= after && (had === undefined || t < had)) m.set(p, t)
  }
  for (const file of logFiles) {
    for (const line of read(file).split('\n')) {
      if (!line.startsWith('{') || !line.includes('"partition"')) continue
      let rec: { time?: number, partition?: number, msg?: string }
      try { rec = JSON.parse(line) } catch { continue }
      if (typeof rec.time !== 'number' || typeof rec.partition !== 'number') continue
      if (rec.msg?.endsWith('active here')) keep(delivered, rec.partition, rec.time)
      else if (rec.msg?.endsWith('detector state rebuilt')) keep(rebuilt, rec.partition, rec.time)
    }
  }
  return { delivered, rebuilt }
}

/** Seconds after `t0` of the latest of `ms` (Infinity when one is missing), 2 decimals. */
export function latest (t0: number, ms: Array<number | undefined | null>): number {
  if (ms.length === 0) return 0
  if (ms.some((x) => x === undefined || x === null)) return Infinity
  return Math.round((Math.max(...(ms as number[])) - t0) / 10) / 100
}
