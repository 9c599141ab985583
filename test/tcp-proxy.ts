import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { freshDatabase } from './helpers.ts'

/**
 * A TCP proxy on a port of its own in front of a server, that a test can cut
 * (every connection dropped, new ones refused) and restore: an outage of the
 * shared PostgreSQL without stopping it.
 */
export async function startProxy (target: { host: string, port: number }) {
  const open = new Set<Socket>()
  let cut = false
  const server = createServer((inbound) => {
    if (cut) { inbound.destroy(); return }
    const outbound = connect(target)
    open.add(inbound)
    open.add(outbound)
    const drop = () => { inbound.destroy(); outbound.destroy(); open.delete(inbound); open.delete(outbound) }
    inbound.on('error', drop).on('close', drop)
    outbound.on('error', drop).on('close', drop)
    inbound.pipe(outbound)
    outbound.pipe(inbound)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    cut () { cut = true; for (const s of open) s.destroy(); open.clear() },
    restore () { cut = false },
    close () { this.cut(); return new Promise<void>((resolve) => server.close(() => resolve())) },
  }
}

/** A fresh database reached through a proxy of its own: `url` goes through it, `proxy.cut()` makes the outage. */
export async function proxiedDatabase () {
  const db = await freshDatabase()
  const u = new URL(db.url)
  const proxy = await startProxy({ host: u.hostname, port: Number(u.port || 5432) })
  u.host = `127.0.0.1:${proxy.port}`
  return { url: u.toString(), proxy, drop: async () => { await proxy.close(); await db.drop() } }
}
