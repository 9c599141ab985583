import { createGridcare } from '../app/index.ts'
import { createLogger } from '../app/logger.ts'
import { ConfigError, loadConfig, type Config } from '../config/index.ts'
import { preflight } from '../config/problems.ts'

/** Loads config or stops with one clear line per problem. */
export function configOrExit (env = process.env): Readonly<Config> {
  try {
    return loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const p of err.problems) process.stderr.write(`gridcare: bad configuration: ${p}\n`)
      process.exit(2)
    }
    throw err
  }
}

export async function startGridcare (config: Readonly<Config>) {
  const logger = createLogger(config.logLevel)
  const gc = createGridcare({ config, logger })
  try {
    await preflight(config)
    await gc.start()
  } catch (err) {
    // One line: the variable to change and what to do (config/problems.ts, store/place.ts).
    process.stderr.write(`gridcare: cannot start: ${String((err as Error)?.message ?? err).split('\n')[0]}\n`)
    await gc.stop().catch(() => {})
    process.exit(1)
  }
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'stopping')
    gc.stop().then(() => process.exit(0), () => process.exit(1))
  }
  process.once('SIGINT', shutdown)
  process.once('SIGTERM', shutdown)
  const http = `http://localhost:${gc.httpPort}`
  const lines = [
    '',
    'gridcare is running',
    `  store:     ${gc.components.db.kind === 'embedded' ? `embedded (${config.dataDir})` : 'server (DATABASE_URL)'}${gc.components.db.timescale ? ', TimescaleDB' : ', plain PostgreSQL (degraded: no compression, no retention policy)'}`,
    `  mqtt:      ${gc.mqttPort !== undefined ? `embedded broker on port ${gc.mqttPort}` : 'external broker (MQTT_URL)'}`,
    `  http:      ${http}  (port ${gc.httpPort})`,
    `  command centre: ${http}/    worker app: ${http}/worker    API docs: ${http}/docs`,
    gc.adminToken ? `  admin token (shown once, keep it): ${gc.adminToken}` : '  admin token: as created on first start, or ADMIN_TOKEN',
    '',
  ]
  process.stdout.write(lines.join('\n') + '\n')
  return gc
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await startGridcare(configOrExit())
}
