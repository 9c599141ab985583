import { readFileSync } from 'node:fs'
import type { FastifyPluginAsync } from 'fastify'
import { marked } from 'marked'

const source = new URL('../docs/mqtt.md', import.meta.url)

/** GET /docs/mqtt: the MQTT device interface (docs/mqtt.md) as a page, no token needed. */
export const mqttDocsRoute: FastifyPluginAsync = async (app) => {
  const body = await marked.parse(readFileSync(source, 'utf8'))
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>gridcare: the MQTT device interface</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
pre{background:#f4f4f4;padding:.8rem;overflow-x:auto}code{font-size:.92em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}</style>
</head><body>${body}<p><a href="/docs">The HTTP API (OpenAPI)</a></p></body></html>`
  app.get('/docs/mqtt', { schema: { hide: true } }, (_req, reply) => reply.type('text/html; charset=utf-8').send(html))
}
