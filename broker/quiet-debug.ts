import { createRequire } from 'node:module'

/**
 * The MQTT packet parser and writer (mqtt-packet, under aedes and MQTT.js) call `debug` about ten
 * times per packet. A `debug` logger that is off still gathers its arguments into an array
 * before it looks whether it is on: under load that was an eighth of the broker's garbage
 * (allocation profile of `npm run bench -- --only e2e`). Imported before aedes and MQTT.js are,
 * this hands mqtt-packet (and any later user of the same `debug`) a logger that does nothing for every namespace that is off when it is
 * made; one that DEBUG turns on is the real one, as before. (Turning one on later with
 * debug.enable() does not reach these: set DEBUG at start, as one does.)
 */
const here = createRequire(import.meta.url)
let packetRequire: NodeJS.Require | undefined
try { packetRequire = createRequire(here.resolve('mqtt-packet')) } catch { /* not installed: nothing to quiet */ }
const debugPath = packetRequire?.resolve('debug')
// Too late once the parser is loaded: it holds its logger from then on.
const parserLoaded = packetRequire ? packetRequire.resolve('./parser.js') in packetRequire.cache : true
if (debugPath && !parserLoaded) {
  type Factory = ((namespace: string) => ((...args: unknown[]) => void) & { enabled: boolean }) & Record<string, unknown>
  const real = packetRequire!('debug') as Factory
  const off = Object.assign(() => {}, { enabled: false, namespace: '', extend: () => off, destroy: () => true, log: () => {} })
  const quiet = Object.assign((namespace: string) => {
    const d = real(namespace)
    return d.enabled ? d : off
  }, real)
  // What require('debug') answers from now on (loggers made earlier, elsewhere, are as they were).
  packetRequire!.cache[debugPath]!.exports = quiet
}
