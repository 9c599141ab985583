import pino, { type Logger } from 'pino'

/** The one logger; components take `child({ module })`. */
export function createLogger (level = 'info'): Logger {
  return pino({ level, base: { app: 'gridcare' } })
}
