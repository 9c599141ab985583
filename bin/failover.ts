/**
 * `npm run failover`: the scale-out proof on this machine (scale/proof/run.ts). Takes
 * DATABASE_URL (kept, so its rows can be counted from outside; default a fresh database on
 * the local server, dropped after). Ends with one JSON line.
 */
import { runProof } from '../scale/proof/run.ts'

const num = (name: string, dflt: number) => { const v = Number(process.env[name]); return Number.isFinite(v) && v > 0 ? v : dflt }
const t0 = Date.now()
const result = await runProof({
  nodes: 3,
  workers: 3,
  partitions: num('FAILOVER_PARTITIONS', 12),
  streets: num('FAILOVER_STREETS', 12),
  unitsPerStreet: num('FAILOVER_UNITS', 4),
  phaseMs: num('FAILOVER_PHASE_S', 20) * 1000,
  killNode: true,
  ...(process.env.FAILOVER_LOG_DIR ? { logDir: process.env.FAILOVER_LOG_DIR } : {}),
  ...(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {}),
  log: (line) => process.stderr.write(`[failover ${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}\n`),
})
const { killedPartitions: _k, partitionsAfter: _p, workerPhases: _w, nodeStored: _n, ...figures } = result
process.stderr.write(`acknowledged readings ${result.acked}, lost ${result.lost}; alerts raised twice ${result.duplicateAlerts}; injected falls missed ${result.missedAnomalies}\n`)
process.stderr.write(`every partition consumed again (a reading of each street stored) within ${result.failoverSeconds} s: ${JSON.stringify({ afterWorkerKill: result.workerPhases, afterNodeKill: result.nodeStored })}; readings/s before ${result.readingsPerSecondBefore}, after ${result.readingsPerSecondAfter}\n`)
process.stdout.write(JSON.stringify(figures) + '\n')
const ok = result.lost === 0 && result.duplicateAlerts === 0 && result.missedAnomalies === 0 && result.failoverSeconds <= 10
process.exit(ok ? 0 : 1)
