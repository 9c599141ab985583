// Shared by the command-centre and worker pages: token, API calls, live feed over fetch (EventSource cannot send a bearer token).
export const token = {
  get: () => new URLSearchParams(location.hash.slice(1)).get('token') || localStorage.getItem('gridcare.token') || '',
  set: (t) => localStorage.setItem('gridcare.token', t),
}

export async function api (method, url, body) {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token.get()}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  })
  const data = res.status === 204 ? null : await res.json()
  if (!res.ok) throw new Error(data?.error ? `${data.error.code}: ${data.error.message}` : `HTTP ${res.status}`)
  return data
}

/** Reads /api/feed and calls onEvent(name, data); reconnects after a drop. */
export async function follow (onEvent, onState) {
  for (;;) {
    try {
      const res = await fetch('/api/feed', { headers: { authorization: `Bearer ${token.get()}` } })
      if (!res.ok) throw new Error(`feed: HTTP ${res.status}`)
      onState('live')
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
      let buf = ''
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        buf += value
        let i
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i); buf = buf.slice(i + 2)
          const ev = /^event: (.+)$/m.exec(block)?.[1]
          const data = /^data: (.+)$/m.exec(block)?.[1]
          if (ev && data) onEvent(ev, JSON.parse(data))
        }
      }
    } catch (err) { onState(String(err.message || err)) }
    onState('reconnecting')
    await new Promise((r) => setTimeout(r, 2000))
  }
}

export const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]))
export const when = (iso) => iso ? new Date(iso).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }) : ''
export const ago = (iso) => {
  if (!iso) return ''
  const m = Math.round((Date.now() - Date.parse(iso)) / 60000)
  return m < 1 ? 'now' : m < 60 ? `${m} min ago` : m < 1440 ? `${Math.round(m / 60)} h ago` : `${Math.round(m / 1440)} d ago`
}
