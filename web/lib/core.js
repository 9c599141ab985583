// Sign-in, API calls, the live feed and local time, shared by both pages.
import { t, locale, kindLabel, getLang } from './i18n.js'

const KEY = 'gridcare.token'

/**
 * The token lives in this device's localStorage, never in the address: a link that carries one
 * (#token=... or ?token=...) is exchanged for the stored token and dropped from the address and history.
 */
export const session = {
  take () {
    const hash = new URLSearchParams(location.hash.slice(1))
    const query = new URLSearchParams(location.search)
    const fromLink = hash.get('token') || query.get('token')
    if (fromLink !== null) {
      if (fromLink) localStorage.setItem(KEY, fromLink)
      hash.delete('token'); query.delete('token')
      const q = query.toString(); const h = hash.toString()
      history.replaceState(history.state, '', location.pathname + (q ? '?' + q : '') + (h ? '#' + h : ''))
    }
    return localStorage.getItem(KEY) || ''
  },
  get: () => localStorage.getItem(KEY) || '',
  set: (tok) => localStorage.setItem(KEY, tok),
  clear: () => localStorage.removeItem(KEY),
}

export class ApiError extends Error {
  constructor (status, code, message) { super(message); this.status = status; this.code = code }
}
/** A call that never reached the server (offline, connection dropped). */
export class NetworkError extends Error {}

export async function api (method, url, body) {
  let res
  try {
    res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${session.get()}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    })
  } catch (err) { throw new NetworkError(String(err.message || err)) }
  const data = res.status === 204 ? null : await res.json().catch(() => null)
  if (!res.ok) throw new ApiError(res.status, data?.error?.code ?? `HTTP_${res.status}`, data?.error?.message ?? `HTTP ${res.status}`)
  return data
}

/**
 * Follows /api/feed (Server-Sent Events) over fetch, since EventSource cannot send the bearer
 * header. onState('live' | 'connecting' | 'offline' | 'denied'). Returns { stop(), restart() }.
 */
export function follow (onEvent, onState) {
  let ctrl = null
  let stopped = false
  let timer = null
  async function run () {
    clearTimeout(timer)
    if (stopped) return
    if (!navigator.onLine) { onState('offline'); return }
    ctrl = new AbortController()
    onState('connecting')
    try {
      const res = await fetch('/api/feed', { headers: { authorization: `Bearer ${session.get()}` }, signal: ctrl.signal })
      if (res.status === 401 || res.status === 403) { onState('denied'); return }
      if (!res.ok) throw new Error(`HTTP ${res.status}`)
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
          if (ev && data) { try { onEvent(ev, JSON.parse(data)) } catch (err) { console.warn('feed event', err) } }
        }
      }
    } catch { /* dropped: reconnect below */ }
    if (stopped) return
    onState(navigator.onLine ? 'connecting' : 'offline')
    timer = setTimeout(run, 2000)
  }
  const onOffline = () => { ctrl?.abort(); onState('offline') }
  const onOnline = () => { ctrl?.abort(); run() }
  addEventListener('offline', onOffline)
  addEventListener('online', onOnline)
  run()
  return {
    stop () { stopped = true; clearTimeout(timer); ctrl?.abort(); removeEventListener('offline', onOffline); removeEventListener('online', onOnline) },
    restart () { ctrl?.abort() },
  }
}

// ---------------------------------------------------------------- local time of the subjects

let offsetHours = 8
export const setOffset = (h) => { if (typeof h === 'number') offsetHours = h }
const shifted = (iso) => new Date((typeof iso === 'number' ? iso : Date.parse(iso)) + offsetHours * 3_600_000)
const fmt = (iso, opts) => iso ? new Intl.DateTimeFormat(locale(), { timeZone: 'UTC', hour12: false, ...opts }).format(shifted(iso)) : ''
/** "06:30" in the subjects' local time (the configured UTC offset, not the browser's). */
export const hhmm = (iso) => fmt(iso, { hour: '2-digit', minute: '2-digit' })
/** "3月10日 06:30" / "10 Mar, 06:30". */
export const dayTime = (iso) => fmt(iso, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })
export const dayOnly = (isoOrDay) => fmt(isoOrDay.length === 10 ? Date.parse(isoOrDay) - offsetHours * 3_600_000 : isoOrDay, { month: 'numeric', day: 'numeric' })
export const num = (n, digits = 0) => new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(n)

/** "2 小时 5 分" / "12 分钟". */
export function span (ms) {
  const m = Math.max(0, Math.round(Math.abs(ms) / 60000))
  return m < 60 ? t('min', { n: num(m) }) : t('hm', { h: num(Math.floor(m / 60)), m: num(m % 60) })
}
export function ago (iso) {
  if (!iso) return ''
  const ms = Date.now() - Date.parse(iso)
  return ms < 60000 ? t('justNow') : t('ago', { t: span(ms) })
}
/** The deadline that matters in this state, counting down (or how late). */
export function dueOf (task) {
  const d = task.deadlines ?? {}
  const order = { open: ['ackBy'], acknowledged: ['arriveBy', 'resolveBy'], on_site: ['resolveBy'], resolved: ['reviewBy'] }[task.state] ?? []
  for (const k of order) if (d[k]) return d[k]
  return null
}
export function countdown (iso) {
  if (!iso) return null
  const ms = Date.parse(iso) - Date.now()
  return { overdue: ms < 0, text: ms < 0 ? t('overdue', { t: span(ms) }) : t('left', { t: span(ms) }) }
}

// ---------------------------------------------------------------- what happened, in plain words

const hours = (a, b) => Math.max(0, (Date.parse(b) - Date.parse(a)) / 3_600_000)
const h1 = (x) => num(Math.round(x * 10) / 10, 1)

/** One sentence a worker can act on, from the alert's kind and evidence: "王*家 06:30 起 7 小时无用电，平时 07:00 起床". */
export function describe (alert, who) {
  if (!alert) return ''
  const zh = getLang() === 'zh'
  const e = alert.evidence ?? {}
  const home = who ? t('home', { who }) : t('him')
  const since = hhmm(alert.startedAt)
  const long = h1(hours(alert.startedAt, alert.lastSeenAt ?? alert.raisedAt))
  switch (alert.kind) {
    case 'inactivity': {
      const usual = typeof e.usualFirstActivity === 'string' ? e.usualFirstActivity : null
      const water = alert.detector === 'water' || e.waterQuietSince
      // A missed routine is no use at all; a low run is some use, far below this home's usual.
      const some = !usual && typeof e.actualKwh === 'number' && e.actualKwh > 0
      const figures = typeof e.usualKwh === 'number' ? (zh ? `（平时约 ${h1(e.usualKwh)} 度，实际 ${h1(e.actualKwh ?? 0)} 度）` : ` (usually ${h1(e.usualKwh)} kWh, now ${h1(e.actualKwh ?? 0)})`) : ''
      // Raised again after a false alarm: whoever answered saw the person then, not since.
      if (e.quietSinceFalseAlarm) {
        const at = hhmm(e.quietSinceFalseAlarm), after = h1(hours(e.quietSinceFalseAlarm, alert.lastSeenAt ?? alert.raisedAt))
        return zh ? `${home}已于 ${at} 按误报办结，此后又 ${after} 小时${water ? '无用水' : '无用电'}，请再次确认` : `${home}: closed as a false alarm at ${at}, yet no ${water ? 'water' : 'electricity'} used for ${after} h since; please check again`
      }
      if (zh) return `${home} ${since} 起 ${long} 小时${some ? '用电很少' : water ? '无用水' : '无用电'}${usual ? `，平时 ${usual} 起床` : figures}`
      return `${home}: ${some ? 'very little electricity' : `no ${water ? 'water' : 'electricity'}`} used for ${long} h since ${since}${usual ? `; usually up by ${usual}` : figures}`
    }
    case 'fall': return zh ? `${home}门口摄像头 ${since} 看到有人摔倒` : `${home}: the door camera saw someone fall at ${since}`
    case 'smoke': return zh ? `${home}门口摄像头 ${since} 看到烟雾` : `${home}: the door camera saw smoke at ${since}`
    case 'night_load': return zh ? `${home}夜间 ${since} 起持续大功率用电${e.loadW ? `（约 ${num(e.loadW)} 瓦）` : ''}，注意用电安全` : `${home}: heavy load at night since ${since}${e.loadW ? ` (about ${num(e.loadW)} W)` : ''}`
    case 'water_leak': return zh ? `${home} ${since} 起持续用水 ${long} 小时，疑似漏水` : `${home}: water running for ${long} h since ${since}, possible leak`
    case 'crowding': return zh ? `出租屋夜间用电明显多于登记人数，疑似群租` : 'Rental flat uses far more at night than its registered tenants would: possibly crowded'
    case 'vacancy': return zh ? `出租屋 ${since} 起几乎无用电，疑似空置` : `Rental flat nearly unused since ${since}: possibly vacant`
    case 'ebike_charging': return zh ? `夜间出现电动车充电特征用电，疑似入户充电` : 'A night-time charging pattern: possibly an e-bike charged indoors'
    case 'meter_offline': return zh ? `电表 ${since} 起无数据，请检查设备或网络` : `The meter has sent nothing since ${since}`
    case 'meter_stuck': return zh ? `电表读数 ${since} 起停止变化，请检查设备` : `The meter register has not moved since ${since}`
    case 'meter_fault': return zh ? `电表读数异常（${e.reason ?? '读数跳变'}），需要技术人员检查` : `The meter misbehaves (${e.reason ?? 'implausible readings'}): a technician is needed`
    default:
      if (alert.source === 'report') return `${kindLabel(alert.kind)}：${e.text ?? ''}`
      return `${kindLabel(alert.kind)} · ${since}`
  }
}

export const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]))
export const SEV_RANK = { low: 0, medium: 1, high: 2, critical: 3 }
export const ACTIVE = ['open', 'acknowledged', 'on_site']

// ---------------------------------------------------------------- a sound for something new

let audio = null
/** Browsers play sound only after a tap: call from a click handler once. */
export function unlockSound () {
  try { audio ??= new AudioContext(); audio.resume() } catch { audio = null }
}
export function chime (urgent = false) {
  try { navigator.vibrate?.(urgent ? [200, 100, 200, 100, 400] : [200, 100, 200]) } catch {}
  if (!audio || audio.state !== 'running') return
  const now = audio.currentTime
  for (const [i, f] of (urgent ? [880, 660, 880, 660] : [660, 880]).entries()) {
    const o = audio.createOscillator(); const g = audio.createGain()
    o.frequency.value = f; o.connect(g); g.connect(audio.destination)
    g.gain.setValueAtTime(0.0001, now + i * 0.18); g.gain.exponentialRampToValueAtTime(0.3, now + i * 0.18 + 0.02); g.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.18 + 0.16)
    o.start(now + i * 0.18); o.stop(now + i * 0.18 + 0.17)
  }
}
