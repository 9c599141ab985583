import { createDetectors, createDetectorSet } from '../detectors/index.ts'
import { generateReadings } from '../simulators/index.ts'
import type { Consumption } from '../vocab/index.ts'
import type { BenchLine } from './report.ts'

const DAY = 86_400_000

/** CPU time (user and system) since `t0`, ms. */
const cpuMs = (t0: NodeJS.CpuUsage) => { const u = process.cpuUsage(t0); return (u.user + u.system) / 1000 }

/**
 * Detector updates per second on one core: a month of 15-minute samples for many
 * elders, interleaved as they arrive. The reference is the floor any streaming
 * detector pays: one hash lookup and one EWMA per sample over the same samples.
 * Timed by the process's CPU time (process.cpuUsage, the loop is synchronous), not the wall
 * clock: on a shared machine another job's load then slows the figure far less.
 */
export async function benchDetectors ({ progress }: { progress: (m: string) => void }): Promise<BenchLine[]> {
  const subjects = 500
  const from = Date.UTC(2026, 0, 1)
  progress(`detectors: generating a month of readings for ${subjects} elders`)
  const series = Array.from({ length: 20 }, (_, seed) => generateReadings({ subjectKind: 'lone_elder', seed: seed + 1 }, from, from + 30 * DAY))
  const samples: Consumption[] = []
  const steps = series[0]!.length
  for (let i = 1; i < steps; i++) {
    for (let s = 0; s < subjects; s++) {
      const r = series[s % series.length]!
      if (!r[i] || !r[i - 1]) continue
      samples.push({ subjectId: `s${s}`, subjectKind: 'lone_elder', deviceId: `m${s}`, unit: 'kwh', ts: r[i]!.ts, intervalMs: r[i]!.ts - r[i - 1]!.ts, amount: r[i]!.kwh - r[i - 1]!.kwh })
    }
  }
  const ref = () => {
    const state = new Map<string, number>()
    const t0 = process.cpuUsage()
    for (const s of samples) state.set(s.subjectId, (state.get(s.subjectId) ?? 0) * 0.99 + s.amount * 0.01)
    return cpuMs(t0)
  }
  const run = (make: () => { update (s: Consumption): unknown }) => () => {
    const d = make()
    const t0 = process.cpuUsage()
    for (const s of samples) d.update(s)
    return cpuMs(t0)
  }
  const median = (f: () => number) => [f(), f(), f()].sort((a, b) => a - b)[1]!
  progress(`detectors: ${samples.length} samples`)
  const refMs = median(ref)
  const refRate = samples.length / (refMs / 1000)
  const lines: BenchLine[] = [{ section: 'detectors', store: 'memory', path: 'ewma (ref)', batch: 1, rows: samples.length, ms: refMs }]
  // Each detector alone on the same samples, then the whole set as the app runs it (with fusion).
  // The samples are elders' electricity: water, rental and camera only look and pass (their own cost is in their tests' reports).
  for (const name of createDetectors().map((d) => d.name)) {
    const ms = median(run(() => createDetectors({ utcOffsetHours: 8 }).find((d) => d.name === name)!))
    const passes = name === 'water' || name === 'rental' || name === 'camera'
    lines.push({ section: 'detectors', store: 'memory', path: passes ? `${name} (passes)` : name, batch: 1, rows: samples.length, ms, refRowsPerSec: refRate, target: 5_000_000 })
  }
  const ms = median(run(() => createDetectorSet(createDetectors({ utcOffsetHours: 8 }))))
  lines.push({ section: 'detectors', store: 'memory', path: 'all detectors', batch: 1, rows: samples.length, ms, refRowsPerSec: refRate, target: 5_000_000 })
  return lines
}
