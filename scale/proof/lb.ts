/**
 * A stand-in for the load balancer in front of the gridcare workers (RabbitMQ's HTTP auth
 * backend calls through it): round robin over live workers, the next one when a worker
 * does not answer. For the failover proof only.
 */
import { createServer, request, type Server } from 'node:http'

export interface Balancer { port: number, targets: number[], close (): Promise<void> }

export async function startBalancer (targets: number[]): Promise<Balancer> {
  let next = 0
  const forward = (port: number, method: string, url: string, headers: Record<string, unknown>, body: Buffer) =>
    new Promise<{ status: number, headers: Record<string, unknown>, body: Buffer }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path: url, headers: headers as Record<string, string>, timeout: 3000 }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers as Record<string, unknown>, body: Buffer.concat(chunks) }))
        res.on('error', reject)
      })
      req.on('timeout', () => req.destroy(new Error('timeout')))
      req.on('error', reject)
      req.end(body)
    })
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', async () => {
      const body = Buffer.concat(chunks)
      for (let i = 0; i < lb.targets.length; i++) {
        const port = lb.targets[next++ % lb.targets.length]!
        try {
          const r = await forward(port, req.method ?? 'GET', req.url ?? '/', req.headers, body)
          res.writeHead(r.status, r.headers as Record<string, string>)
          res.end(r.body)
          return
        } catch { /* that worker is gone: the next */ }
      }
      res.writeHead(502).end('deny')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const lb: Balancer = {
    port: (server.address() as { port: number }).port,
    targets,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }),
  }
  return lb
}
