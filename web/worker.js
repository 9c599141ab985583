// The grid worker's phone: my open tasks, most urgent first; act on them with one thumb, offline too.
import { t, setLang, getLang, translatePage, kindLabel, sevLabel, stateLabel, outcomeLabel, actionLabel, historyNote, OUTCOMES } from './lib/i18n.js'
import { api, ApiError, NetworkError, session, follow, setOffset, describe, dueOf, countdown, dayTime, hhmm, esc, SEV_RANK, ACTIVE, chime, unlockSound } from './lib/core.js'
import { chartIn, usageOption, registerGrids, miniMapOption, disposeIn } from './lib/charts.js'

const $ = (id) => document.getElementById(id)
const tasks = new Map()
const alerts = new Map()
const households = new Map() // subject -> masked household
const unmasked = new Map() // subject -> full details, once the task is mine
const places = new Map()
const fresh = new Set()
let me = null
let feed = null
let openId = null // the task shown in detail
let resolving = false
let mapReady = false
let liveState = ''

// ---------------------------------------------------------------- offline queue

const QKEY = 'gridcare.queue'
const queue = {
  all: () => { try { return JSON.parse(localStorage.getItem(QKEY) || '[]') } catch { return [] } },
  save: (q) => localStorage.setItem(QKEY, JSON.stringify(q)),
}
const NEXT = { ack: 'acknowledged', arrive: 'on_site', resolve: 'resolved' }

function applyLocally (item) {
  const tk = tasks.get(item.id)
  if (!tk) return
  if (tk.history.some((h) => h.queuedAt === item.at)) return
  tasks.set(tk.id, { ...tk, state: NEXT[item.action] ?? tk.state, ...(item.body?.outcome ? { outcome: item.body.outcome } : {}), history: [...tk.history, { at: new Date(item.at).toISOString(), actor: me?.id, action: item.action, note: item.body?.note ?? null, queuedAt: item.at }] })
}

async function act (id, action, body) {
  try {
    if (!navigator.onLine) throw new NetworkError('offline')
    const tk = await api('POST', `/api/tasks/${encodeURIComponent(id)}/${action}`, body)
    tasks.set(tk.id, tk)
    say('')
  } catch (err) {
    if (err instanceof NetworkError) {
      const item = { id, action, body, at: Date.now() }
      queue.save([...queue.all(), item])
      applyLocally(item)
    } else { say(err.message) }
  }
  render()
}

let flushing = false
async function flush () {
  if (flushing) return
  flushing = true
  try {
    let q = queue.all()
    const had = q.length
    while (q.length > 0) {
      const item = q[0]
      try {
        const tk = await api('POST', `/api/tasks/${encodeURIComponent(item.id)}/${item.action}`, item.body)
        tasks.set(tk.id, tk)
      } catch (err) {
        if (err instanceof NetworkError) break
        say(t('rejected', { msg: err.message }))
      }
      q = q.slice(1)
      queue.save(q)
    }
    if (had > 0 && q.length === 0) banner(t('sent'), 'ok')
  } finally { flushing = false }
  render()
}

// ---------------------------------------------------------------- view

function say (msg) { $('error').textContent = msg }
function banner (msg, kind = 'warn') {
  const b = $('banner')
  b.hidden = !msg; b.textContent = msg; b.className = 'banner ' + kind
  if (kind === 'ok') setTimeout(() => { if (b.textContent === msg) b.hidden = true }, 4000)
}
function setLive (s) {
  const changed = s !== liveState
  liveState = s
  const el = $('state')
  el.dataset.state = s
  el.textContent = s === 'live' ? t('live') : s === 'offline' ? t('offline') : s === 'denied' ? '' : t('connecting')
  el.className = 'state ' + s
  if (s === 'denied') signedOut(t('badToken'))
  if (s === 'live' && changed) flush().then(reload)
}

const mine = (tk) => me?.type === 'admin' || tk.workerId === me?.id || (me?.role !== 'grid_worker' && !tk.workerId)
const isActive = (tk) => ACTIVE.includes(tk.state)
const dueMs = (tk) => { const d = dueOf(tk); return d ? Date.parse(d) : Infinity }
const urgency = (a, b) => SEV_RANK[b.severity] - SEV_RANK[a.severity] || dueMs(a) - dueMs(b) || a.createdAt.localeCompare(b.createdAt)
const placeAt = (tk, level) => tk.path.map((c) => places.get(c)).find((p) => p?.level === level)
const arrived = (tk) => tk.state === 'on_site' || tk.history.some((h) => h.action === 'arrive' || h.to === 'on_site')
const taken = (tk) => tk.workerId === me?.id && tk.state !== 'open'

function alertOf (tk) {
  return alerts.get(tk.alertId) ?? { kind: tk.kind, startedAt: tk.createdAt, lastSeenAt: tk.createdAt, evidence: {} }
}
/** The resident's full details, only on a task I have taken: another open task for the same home stays masked. */
const fullOf = (tk) => taken(tk) ? unmasked.get(tk.subject) : undefined
function whoOf (tk) {
  const full = fullOf(tk)
  return full?.name ?? households.get(tk.subject)?.name ?? null
}
function whereOf (tk) {
  const full = fullOf(tk)
  const flat = full?.flat ?? households.get(tk.subject)?.flat ?? ''
  return [placeAt(tk, 'community')?.name, placeAt(tk, 'building')?.name, flat].filter(Boolean).join(' · ') || tk.address
}
function dueHtml (tk) {
  const c = countdown(dueOf(tk))
  return c ? `<span class="due ${c.overdue ? 'overdue' : ''}" data-due="${esc(dueOf(tk))}">${esc(c.text)}</span>` : ''
}
function primaryAction (tk) {
  if (!mine(tk)) return ''
  if (tk.state === 'open') return `<button class="primary big" data-act="ack" data-id="${esc(tk.id)}">${t('ack')}</button>`
  if (tk.state === 'acknowledged') return `<button class="primary big" data-act="arrive" data-id="${esc(tk.id)}">${t('arrive')}</button><button class="secondary big" data-act="resolve" data-id="${esc(tk.id)}">${t('resolve')}</button>`
  if (tk.state === 'on_site') return `<button class="primary big" data-act="resolve" data-id="${esc(tk.id)}">${t('resolve')}</button>`
  return ''
}
const stageOf = (tk) => stateLabel(tk.state)

function card (tk) {
  const queued = tk.history.some((h) => h.queuedAt)
  return `<article class="card sev-${tk.severity} ${fresh.has(tk.id) ? 'flash' : ''}" data-task="${esc(tk.id)}" data-state="${esc(tk.state)}">
    <div class="card-head"><span class="sev ${tk.severity}">${esc(sevLabel(tk.severity))}</span><b>${esc(kindLabel(tk.kind))}</b><span class="stage">${esc(stageOf(tk))}${queued ? '（待发送）' : ''}</span></div>
    <p class="what">${esc(describe(alertOf(tk), whoOf(tk)))}</p>
    <p class="where">${esc(whereOf(tk))}</p>
    <div class="card-foot">${dueHtml(tk)}<span class="muted">${esc(dayTime(tk.createdAt))}</span></div>
    <div class="actions">${primaryAction(tk)}</div>
  </article>`
}

function render () {
  const all = [...tasks.values()].filter(mine)
  const active = all.filter(isActive).sort(urgency)
  $('tasks').innerHTML = active.map(card).join('') || `<p class="empty">${t('noTasks')}</p>`
  $('done').innerHTML = all.filter((x) => !isActive(x)).sort((a, b) => b.updatedAt.localeCompare(a.updatedAt)).slice(0, 10)
    .map((x) => `<div class="done-row" data-task="${esc(x.id)}"><span>${esc(kindLabel(x.kind))} · ${esc(whereOf(x))}</span><span class="muted">${esc(outcomeLabel(x.outcome ?? '') || stateLabel(x.state))} ${esc(hhmm(x.updatedAt))}</span></div>`).join('')
  const n = queue.all().length
  if (n > 0) banner(t('queued', { n }))
  else if ($('banner').classList.contains('warn')) $('banner').hidden = true
  fresh.clear()
  if (openId && !resolving) renderDetail()
  else if (openId) refreshDetailHead()
}

function refreshDetailHead () {
  const tk = tasks.get(openId); const head = document.querySelector('#detail .detail-head')
  if (tk && head) head.querySelector('.stage').textContent = stageOf(tk)
}


function historyItem (h) {
  const note = historyNote(h, dayTime)
  return `<li><span class="muted">${esc(dayTime(h.at))}</span> ${esc(actionLabel(h.action))}${h.to ? ' → ' + esc(stateLabel(h.to)) : ''}${note ? ' · ' + esc(note) : ''}${h.queuedAt ? '（待发送）' : ''}</li>`
}
function renderDetail () {
  const tk = tasks.get(openId)
  if (!tk) { closeDetail(); return }
  const full = fullOf(tk)
  const contacts = full
    ? `<p>${esc(full.name ?? '')} ${full.phone ? `<a class="tel" href="tel:${esc(full.phone)}">${esc(full.phone)}</a>` : ''}</p>${full.contacts.map((c) => `<p class="muted">${esc(c.relation ?? t('contacts'))}：${esc(c.name ?? '')} ${c.phone ? `<a class="tel" href="tel:${esc(c.phone)}">${esc(c.phone)}</a>` : ''}</p>`).join('')}`
    : `<p class="muted">${esc(households.get(tk.subject)?.name ?? '')} ${esc(households.get(tk.subject)?.phone ?? '')} · ${t('afterAck')}</p>`
  disposeIn($('detail'))
  $('detail').innerHTML = `
    <button class="ghost back" type="button" id="back">${t('back')}</button>
    <div class="detail-head"><span class="sev ${tk.severity}">${esc(sevLabel(tk.severity))}</span><b>${esc(kindLabel(tk.kind))}</b><span class="stage">${esc(stageOf(tk))}</span></div>
    <p class="what big-text">${esc(describe(alertOf(tk), whoOf(tk)))}</p>
    <div class="card-foot">${dueHtml(tk)}</div>
    <h3>${t('where')}</h3><p>${esc(whereOf(tk))}</p>
    <div class="minimap" id="minimap"></div>
    ${tk.subject ? `<h3>${t('resident')}</h3>${contacts}<h3>${t('use24h')}</h3><div class="usage" id="usage"></div>` : ''}
    <div class="actions">${primaryAction(tk)}</div>
    <div id="resolve-form"></div>
    <h3>${t('history')}</h3>
    <ol class="history">${tk.history.map(historyItem).join('')}</ol>`
  drawMiniMap(tk)
  if (tk.subject) drawUsage(tk)
}

function drawMiniMap (tk) {
  const el = $('minimap')
  const b = placeAt(tk, 'building')
  if (!el || !mapReady || !tk.grid) { if (el) el.hidden = true; return }
  chartIn(el).setOption(miniMapOption('worker-grids-' + tk.grid, b && b.lon !== null ? [b.lon, b.lat] : null, b?.name ?? ''), true)
}

/** The last 24 h chart fetched per resident: offline, the card keeps showing it rather than a blank. */
const usageSeen = new Map()

async function drawUsage (tk) {
  const el = $('usage')
  let u
  try {
    u = await api('GET', `/api/subjects/${encodeURIComponent(tk.subject)}/usage?hours=24`)
    usageSeen.set(tk.subject, u)
  } catch (err) {
    if (!(err instanceof NetworkError)) { el.textContent = err.message; return }
    u = usageSeen.get(tk.subject)
    if (!u) return
  }
  if (!el.isConnected) return
  if (u.points.length === 0) { el.innerHTML = `<p class="muted">${t('noData')}</p>`; el.classList.add('empty'); return }
  chartIn(el).setOption(usageOption(u))
  el.dataset.points = String(u.points.filter((p) => p.amount !== null).length)
}

function openResolve (tk) {
  resolving = true
  const needReason = !arrived(tk)
  $('resolve-form').innerHTML = `<form class="resolve" id="resolve">
    <fieldset><legend>${t('outcome')}</legend>${OUTCOMES.map((o) => `<label class="chip"><input type="radio" name="outcome" value="${o}"><span>${esc(outcomeLabel(o))}</span></label>`).join('')}</fieldset>
    <label class="away" hidden>${t('awayUntil')} <input type="datetime-local" name="awayUntil"></label>
    ${needReason ? `<label>${t('noArrival')}<input name="reason"><button type="button" class="ghost chip-btn" id="by-phone">${t('byPhone')}</button></label>` : ''}
    <label>${t('note')}<textarea name="note" rows="2"></textarea></label>
    <p class="error" id="resolve-error"></p>
    <div class="actions"><button class="primary big" type="submit">${t('submitResolve')}</button><button class="ghost big" type="button" id="resolve-cancel">${t('cancel')}</button></div>
  </form>`
  const f = $('resolve')
  f.addEventListener('change', () => { f.querySelector('.away').hidden = f.outcome.value !== 'away' })
  $('by-phone')?.addEventListener('click', () => { f.reason.value = t('byPhone') })
  $('resolve-cancel').onclick = () => { resolving = false; renderDetail() }
  f.onsubmit = async (e) => {
    e.preventDefault()
    const outcome = f.outcome.value
    if (!outcome) { $('resolve-error').textContent = t('needOutcome'); return }
    const reason = f.reason?.value.trim()
    if (needReason && !reason) { $('resolve-error').textContent = t('needReason'); return }
    const note = [reason ? `${t('noArrival').split(/[（(]/)[0]}：${reason}` : '', f.note.value.trim()].filter(Boolean).join('；')
    const away = f.awayUntil.value
    resolving = false
    await act(tk.id, 'resolve', { outcome, ...(note ? { note } : {}), ...(outcome === 'away' && away ? { awayUntil: new Date(Date.parse(away + 'Z') - offsetMs()).toISOString() } : {}) })
  }
  f.scrollIntoView({ block: 'center' })
}
let offsetHours = 8
const offsetMs = () => offsetHours * 3_600_000

function openDetail (id) {
  openId = id; resolving = false
  $('list').hidden = true; $('detail').hidden = false
  renderDetail(); scrollTo(0, 0)
  const tk = tasks.get(id)
  if (tk && taken(tk) && tk.subject && !unmasked.has(tk.subject)) loadContacts(tk)
}
function closeDetail () {
  openId = null; resolving = false
  disposeIn($('detail'))
  $('detail').hidden = true; $('detail').innerHTML = ''; $('list').hidden = false
}

async function loadContacts (tk) {
  try { unmasked.set(tk.subject, await api('POST', `/api/subjects/${encodeURIComponent(tk.subject)}/unmask`)); render() } catch {}
}

document.addEventListener('click', async (e) => {
  unlockSound()
  if (e.target.closest('#back')) { closeDetail(); render(); return }
  const b = e.target.closest('button[data-act]')
  if (b) {
    const tk = tasks.get(b.dataset.id)
    if (!tk) return
    if (b.dataset.act === 'resolve') { if (openId !== tk.id) openDetail(tk.id); openResolve(tasks.get(tk.id)); return }
    b.disabled = true
    await act(tk.id, b.dataset.act)
    const now = tasks.get(tk.id)
    if (b.dataset.act === 'ack' && now && taken(now)) loadContacts(now)
    return
  }
  const c = e.target.closest('[data-task]')
  if (c && !openId && !e.target.closest('a')) openDetail(c.dataset.task)
})

// ---------------------------------------------------------------- data

function onFeed (ev, data) {
  if (ev.startsWith('alert')) { alerts.set(data.id, data); render(); return }
  const before = tasks.get(data.id)
  tasks.set(data.id, data)
  if (ev === 'task.created' && mine(data)) {
    fresh.add(data.id)
    chime(data.severity === 'critical' || data.severity === 'high')
    notify(data)
  }
  if (!before && data.subject && !households.has(data.subject)) loadHouseholds()
  render()
}

function notify (tk) {
  if (!('Notification' in window) || Notification.permission !== 'granted') return
  const body = `${kindLabel(tk.kind)} · ${whereOf(tk)}`
  navigator.serviceWorker?.ready.then((r) => r.showNotification(t('newTask'), { body, tag: tk.id, icon: '/icon.svg' })).catch(() => {})
}

async function loadHouseholds () {
  const roots = me?.grids ?? []
  for (const code of roots) {
    try { for (const h of await api('GET', `/api/households?under=${encodeURIComponent(code)}`)) households.set(h.subject, h) } catch {}
  }
}

async function reload () {
  try {
    const [ts, as] = await Promise.all([api('GET', '/api/tasks?limit=500'), api('GET', '/api/alerts?limit=500')])
    tasks.clear(); ts.forEach((x) => tasks.set(x.id, x))
    as.forEach((x) => alerts.set(x.id, x))
    queue.all().forEach(applyLocally)
    saveCopy()
    render()
  } catch (err) { if (!(err instanceof NetworkError)) say(err.message) }
}

// What this device last knew, for opening the page without a connection.
const CKEY = 'gridcare.worker.copy'
function saveCopy () {
  try {
    const mineNow = [...tasks.values()].filter(mine)
    localStorage.setItem(CKEY, JSON.stringify({ me, offsetHours, tasks: mineNow, alerts: mineNow.map((x) => alerts.get(x.alertId)).filter(Boolean), places: [...places.values()], households: [...households.values()] }))
  } catch { /* storage full: the page still works online */ }
}
function loadCopy () {
  try {
    const c = JSON.parse(localStorage.getItem(CKEY) || 'null')
    if (!c) return
    me ??= c.me; offsetHours = c.offsetHours ?? offsetHours; setOffset(offsetHours)
    c.tasks.forEach((x) => tasks.set(x.id, x)); c.alerts.forEach((x) => alerts.set(x.id, x))
    c.places.forEach((p) => places.set(p.code, p)); c.households.forEach((h) => households.set(h.subject, h))
    queue.all().forEach(applyLocally)
  } catch {}
}

async function start () {
  try {
    me = await api('GET', '/api/me')
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return signedOut(t('badToken'))
    if (err instanceof NetworkError) { setLive('offline'); restoreOffline(); return }
    return signedOut(err.message)
  }
  $('signin').hidden = true; $('list').hidden = false
  $('signin-error').textContent = ''
  $('who').textContent = `${t('appWorker')} · ${me.id}`
  const [cfg, ov, grids] = await Promise.all([api('GET', '/api/ui/config'), api('GET', '/api/overview'), api('GET', '/api/grids')]).catch(() => [null, null, null])
  if (cfg) { setOffset(cfg.utcOffsetHours); offsetHours = cfg.utcOffsetHours }
  ov?.places.forEach((p) => places.set(p.code, p))
  if (grids) {
    for (const f of grids.features) registerGrids('worker-grids-' + f.properties.code, { type: 'FeatureCollection', features: [f] })
    mapReady = true
  }
  await loadHouseholds()
  await reload()
  for (const tk of tasks.values()) if (taken(tk) && isActive(tk) && tk.subject) loadContacts(tk)
  feed?.stop()
  feed = follow(onFeed, setLive)
}

/** Offline at start: show what this device last knew, with the queue. */
function restoreOffline () {
  $('signin').hidden = true; $('list').hidden = false
  loadCopy()
  render()
  addEventListener('online', () => start(), { once: true })
}

function signedOut (msg) {
  feed?.stop(); feed = null
  $('list').hidden = true; $('detail').hidden = true; $('signin').hidden = false
  $('signin-error').textContent = msg ?? ''
  setLiveText('')
}
function setLiveText (s) { $('state').textContent = s; $('state').className = 'state' }

$('signin').onsubmit = (e) => {
  e.preventDefault()
  const tok = $('token').value.trim()
  if (!tok) return
  session.set(tok); $('token').value = ''
  start()
}
$('signout').onclick = () => { session.clear(); signedOut('') }
$('lang').onclick = () => { setLang(getLang() === 'zh' ? 'en' : 'zh'); translatePage(); if (me) $('who').textContent = `${t('appWorker')} · ${me.id}`; setLive(liveState); render() }
$('alerts-on').onclick = async () => {
  unlockSound()
  if ('Notification' in window && Notification.permission === 'default') await Notification.requestPermission().catch(() => null)
  $('alerts-on').textContent = t('alertsOn')
}
setInterval(() => document.querySelectorAll('[data-due]').forEach((el) => {
  const c = countdown(el.dataset.due); el.textContent = '' + c.text; el.classList.toggle('overdue', c.overdue)
}), 15_000)

translatePage()
if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js').catch(() => {})
if (session.take()) start()
else signedOut('')
window.gridcare = { tasks, queue, state: () => liveState }
