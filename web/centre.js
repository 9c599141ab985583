// The command centre's wall: the street on a map, live feed, task board, counts, drill-down to a household.
import { t, setLang, getLang, translatePage, kindLabel, sevLabel, stateLabel, stageLabel, STAGES } from './lib/i18n.js'
import { api, ApiError, NetworkError, session, follow, setOffset, describe, dueOf, countdown, dayOnly, hhmm, num, esc, SEV_RANK, ACTIVE, chime, unlockSound } from './lib/core.js'
import { chartIn, usageOption, registerGrids, FONT, disposeIn, calm } from './lib/charts.js'

/* global echarts */
const $ = (id) => document.getElementById(id)
const places = new Map()
const kids = new Map()
const alerts = new Map()
const tasks = new Map()
const workers = new Map()
const feedItems = []
let me = null
let overview = null
let gridsFC = null
let indexColours = null // grid -> colour from the monthly safety index, when the API has one
let rootCode = null
let focus = null // address code, or { subject } for a household
let household = null
let feed = null
let liveState = ''
const registered = new Set()

const scale = () => Math.min(2.6, Math.max(1, innerWidth / 1600))
const TEXT = '#c9d6e3'
const AXIS = { axisLabel: { color: TEXT }, axisLine: { lineStyle: { color: '#2a3a4d' } }, splitLine: { lineStyle: { color: '#22344a' } } }
const name = (code) => places.get(code)?.name ?? code
const placeAt = (x, level) => (x.path ?? []).map((c) => places.get(c)).find((p) => p?.level === level)
const isLate = (tk) => tk.escalationLevel > 0 || (ACTIVE.includes(tk.state) && dueOf(tk) && Date.parse(dueOf(tk)) < Date.now())

// ---------------------------------------------------------------- map

function mapNameFor (code) {
  const p = places.get(code)
  const gridOf = p?.level === 'building' ? p.parent : code
  const key = rootCode === code || !p ? 'gc-all' : `gc-${gridOf}`
  if (!registered.has(key)) {
    const feats = key === 'gc-all' ? gridsFC.features : gridsFC.features.filter((f) => f.properties.code === gridOf || f.properties.community === gridOf || places.get(f.properties.code)?.parent === gridOf)
    registerGrids(key, { type: 'FeatureCollection', features: feats.length ? feats : gridsFC.features })
    registered.add(key)
  }
  return key
}

const ALERT_COLOURS = ['#1c5a43', '#7a6a12', '#9a4f18', '#8f2a2a']
const INDEX_COLOURS = { green: '#1c5a43', yellow: '#7a6a12', orange: '#9a4f18', red: '#8f2a2a' }
function gridColour (code, open) {
  const c = indexColours?.get(code)
  if (c) return INDEX_COLOURS[c] ?? c
  return ALERT_COLOURS[Math.min(3, open)]
}

function drawMap () {
  if (!gridsFC) return
  const s = scale()
  const openBy = new Map()
  for (const a of alerts.values()) if (a.status === 'open' && a.grid) openBy.set(a.grid, (openBy.get(a.grid) ?? 0) + 1)
  const byBuilding = new Map()
  for (const a of alerts.values()) {
    if (a.status !== 'open') continue
    const b = placeAt(a, 'building')
    if (!b || b.lat === null) continue
    const m = byBuilding.get(b.code) ?? { code: b.code, name: b.name, value: [b.lon, b.lat], n: 0, sev: 'low' }
    m.n++; if (SEV_RANK[a.severity] > SEV_RANK[m.sev]) m.sev = a.severity
    byBuilding.set(b.code, m)
  }
  const taskAt = new Map()
  for (const tk of tasks.values()) {
    if (!ACTIVE.includes(tk.state)) continue
    const b = placeAt(tk, 'building')
    if (!b || b.lat === null) continue
    const m = taskAt.get(b.code) ?? { code: b.code, name: b.name, value: [b.lon, b.lat], n: 0, late: false }
    m.n++; m.late ||= isLate(tk)
    taskAt.set(b.code, m)
  }
  const focusCode = typeof focus === 'string' ? focus : household?.building
  const mapName = mapNameFor(focusCode ?? rootCode)
  const inView = (b) => mapName === 'gc-all' || `gc-${b.parent}` === mapName || `gc-${places.get(b.parent)?.parent}` === mapName
  const buildings = [...places.values()].filter((p) => p.level === 'building' && p.lat !== null && inView(p)).map((b) => ({ code: b.code, name: b.name, value: [b.lon, b.lat] }))
  const marks = [...byBuilding.values()]
  const sevColour = { low: '#3b82f6', medium: '#e0a21b', high: '#ff7a3a', critical: '#ff4d4f' }
  const chart = chartIn($('map'))
  chart.setOption({
    animation: false,
    textStyle: { fontFamily: FONT },
    tooltip: { trigger: 'item', textStyle: { fontSize: 12 * s } },
    geo: {
      map: mapName, nameProperty: 'code', roam: true,
      ...mapBox(s),
      label: { show: true, color: '#e8eef5', fontSize: 13 * s, fontWeight: 'bold', backgroundColor: 'rgba(13,21,32,0.7)', padding: [2 * s, 6 * s], borderRadius: 4 * s, offset: [0, -22 * s], formatter: (p) => `${name(p.name)} · ${openBy.get(p.name) ?? 0}` },
      itemStyle: { borderColor: '#7fb2e0', borderWidth: 1.5 * s },
      emphasis: { label: { color: '#fff' }, itemStyle: { areaColor: '#2f5d8c' } },
      regions: gridsFC.features.map((f) => ({ name: f.properties.code, itemStyle: { areaColor: gridColour(f.properties.code, openBy.get(f.properties.code) ?? 0) } })),
      tooltip: { formatter: (p) => `${esc(name(p.name))}<br>${t('openAlerts')} ${openBy.get(p.name) ?? 0}` },
    },
    series: [
      { id: 'buildings', type: 'scatter', coordinateSystem: 'geo', data: buildings, symbol: 'rect', symbolSize: 9 * s, itemStyle: { color: '#9fb6cc', opacity: 0.8 }, label: { show: mapName !== 'gc-all', position: 'bottom', formatter: '{b}', color: '#aebfd0', fontSize: 11 * s }, tooltip: { formatter: (p) => esc(p.name) }, z: 3 },
      { id: 'tasks', type: 'scatter', coordinateSystem: 'geo', data: [...taskAt.values()], symbol: 'pin', symbolSize: 30 * s, symbolOffset: [12 * s, -14 * s], itemStyle: { color: (p) => p.data.late ? '#ff4d4f' : '#3aa0ff' }, label: { show: true, formatter: (p) => String(p.data.n), color: '#fff', fontSize: 11 * s }, tooltip: { formatter: (p) => `${esc(p.name)}<br>${t('openTasks')} ${p.data.n}` } },
      { id: 'alerts', type: calm() ? 'scatter' : 'effectScatter', coordinateSystem: 'geo', data: marks, symbolSize: (v, p) => (12 + 4 * Math.min(4, p.data.n)) * s, rippleEffect: { scale: 3, brushType: 'stroke' }, itemStyle: { color: (p) => sevColour[p.data.sev] }, tooltip: { formatter: (p) => `${esc(p.name)}<br>${t('openAlerts')} ${p.data.n}` }, zlevel: 1 },
      { id: 'drones', type: 'lines', coordinateSystem: 'geo', polyline: true, data: (overview?.drones ?? []).map((d) => ({ name: d.id, coords: d.track.map((p) => [p[0], p[1]]) })), lineStyle: { color: '#b48cff', width: 2 * s, opacity: 0.9 }, effect: { show: !calm(), symbolSize: 6 * s, color: '#e0ccff', trailLength: 0.1 } },
    ],
  }, { replaceMerge: ['series'] })
  const el = $('map')
  el.dataset.grids = String(gridsFC.features.length)
  el.dataset.alertMarkers = String(marks.reduce((n, m) => n + m.n, 0))
  el.dataset.taskMarkers = String([...taskAt.values()].reduce((n, m) => n + m.n, 0))
  $('legend').innerHTML = indexColours
    ? `<span>${t('colourByIndex')}</span>`
    : ALERT_COLOURS.map((c, i) => `<span><i style="background:${c}"></i>${i === 0 ? t('legendNone') : i === 3 ? `≥3 ${t('legendSome')}` : `${i} ${t('legendSome')}`}</span>`).join('')
}

/** Where the map goes: beside the drill-down panel, under the crumbs, its own shape kept. */
function mapBox (s) {
  const el = $('map'); const w = el.clientWidth; const h = el.clientHeight
  const right = $('drill').childElementCount ? 21 * 14 * s + 24 * s : 24 * s
  const availW = Math.max(100, w - right - 32 * s); const availH = Math.max(100, h - 100 * s)
  return { layoutCenter: [32 * s + availW / 2, 52 * s + availH / 2], layoutSize: Math.min(availW, availH) }
}

function onMapClick (p) {
  if (p.componentType === 'geo' && places.has(p.name)) setFocus(p.name)
  else if (p.componentType === 'series' && p.data?.code) setFocus(p.data.code)
}

// ---------------------------------------------------------------- drill-down

function pathTo (code) {
  const out = []
  for (let c = code; c && places.has(c); c = places.get(c).parent) { out.unshift(c); if (c === rootCode) break }
  return out
}

function setFocus (code) {
  focus = code; household = null
  renderCrumbs(); renderDrill(); drawMap()
}

function renderCrumbs () {
  const codes = pathTo(typeof focus === 'string' ? focus : household?.building ?? rootCode)
  const items = codes.map((c) => `<button class="crumb" data-focus="${esc(c)}">${esc(name(c))}</button>`)
  if (household) items.push(`<span class="crumb current">${esc(household.flat)}</span>`)
  $('crumbs').innerHTML = items.join('<span class="sep">›</span>')
}

function countsOf (code) {
  return overview?.grids.find((g) => g.code === code) ?? overview?.communities.find((g) => g.code === code) ?? null
}
function openUnder (code) { let n = 0; for (const a of alerts.values()) if (a.status === 'open' && a.path.includes(code)) n++; return n }

async function renderDrill () {
  const el = $('drill')
  if (household) return renderHousehold()
  disposeIn(el)
  const p = places.get(focus)
  if (!p) { el.innerHTML = ''; return }
  if (p.level === 'building') {
    el.innerHTML = `<h3>${esc(p.name)} · ${t('households')}</h3><p class="muted">…</p>`
    let hs = []
    try { hs = await api('GET', `/api/households?under=${encodeURIComponent(p.code)}`) } catch (err) { el.innerHTML = `<p class="error">${esc(err.message)}</p>`; return }
    if (focus !== p.code) return
    el.innerHTML = `<h3>${esc(p.name)} · ${t('households')}</h3>` + (hs.map((h) => `<button class="row" data-household="${esc(h.subject)}">
      <span>${esc(h.flat)} · ${esc(h.name ?? '')}</span><span>${h.open.map((a) => `<span class="sev ${a.severity}">${esc(kindLabel(a.kind))}</span>`).join(' ')}</span></button>`).join('') || `<p class="muted">${t('noHouseholds')}</p>`)
    el._households = hs
    return
  }
  const children = (kids.get(p.code) ?? []).map((c) => places.get(c)).filter(Boolean)
  const title = { street: t('communities'), district: t('communities'), community: t('grids'), grid: t('buildings') }[p.level] ?? ''
  el.innerHTML = `<h3>${esc(p.name)} · ${title}</h3>` + children.map((c) => {
    const k = countsOf(c.code)
    return `<button class="row" data-focus="${esc(c.code)}"><span>${esc(c.name)}</span><span class="muted">${t('openAlerts')} <b>${num(k?.open ?? openUnder(c.code))}</b>${k ? ` · ${t('today')} ${num(k.today)} · ${t('week')} ${num(k.week)}` : ''}</span></button>`
  }).join('')
}

async function renderHousehold () {
  const el = $('drill')
  const h = household
  disposeIn(el)
  el.innerHTML = `<h3>${esc(h.flat)} · ${esc(h.name ?? '')}</h3>
    <p class="muted" id="hh-contact">${esc(h.phone ?? '')}</p>
    <button class="ghost unmask" id="unmask">${t('unmask')}</button>
    <div id="hh-open">${h.open.map((a) => `<p><span class="sev ${a.severity}">${esc(sevLabel(a.severity))}</span> ${esc(describe(alerts.get(a.id), h.name))}</p>`).join('')}</div>
    <h4>${t('use24h')}</h4><div class="chart household" id="household-chart"></div>`
  try {
    const u = await api('GET', `/api/subjects/${encodeURIComponent(h.subject)}/usage?hours=24`)
    const c = $('household-chart')
    if (!c || household !== h) return
    if (u.points.length === 0) { c.textContent = t('noData'); return }
    chartIn(c).setOption(usageOption(u, scale()))
    c.dataset.points = String(u.points.filter((p) => p.amount !== null).length)
  } catch (err) { if ($('household-chart')) $('household-chart').textContent = err.message }
}

$('crumbs').addEventListener('click', (e) => { const b = e.target.closest('[data-focus]'); if (b) setFocus(b.dataset.focus) })
$('drill').addEventListener('click', async (e) => {
  const f = e.target.closest('[data-focus]')
  if (f) return setFocus(f.dataset.focus)
  const hb = e.target.closest('[data-household]')
  if (hb) {
    const h = $('drill')._households?.find((x) => x.subject === hb.dataset.household)
    if (h) { household = { ...h, building: focus }; renderCrumbs(); renderHousehold() }
    return
  }
  if (e.target.closest('#unmask') && household) {
    try {
      const full = await api('POST', `/api/subjects/${encodeURIComponent(household.subject)}/unmask`)
      $('drill').querySelector('h3').textContent = `${full.building ?? ''} ${full.flat} · ${full.name ?? ''}`
      $('hh-contact').innerHTML = `${esc(full.phone ?? '')} ${full.contacts.map((c) => `· ${esc(c.relation ?? '')} ${esc(c.name ?? '')} ${esc(c.phone ?? '')}`).join(' ')}`
      household = { ...household, name: full.name, phone: full.phone }
      $('hh-open').innerHTML = household.open.map((a) => `<p><span class="sev ${a.severity}">${esc(sevLabel(a.severity))}</span> ${esc(describe(alerts.get(a.id), full.name))}</p>`).join('')
      $('unmask').replaceWith(Object.assign(document.createElement('p'), { className: 'muted', id: 'unmasked', textContent: t('unmasked') }))
    } catch (err) { $('error').textContent = err.message }
  }
})

// ---------------------------------------------------------------- panels

function renderKpis () {
  const active = [...tasks.values()].filter((x) => ACTIVE.includes(x.state))
  $('k-open').textContent = num([...alerts.values()].filter((a) => a.status === 'open').length)
  $('k-active').textContent = num(active.length)
  $('k-unack').textContent = num(active.filter((x) => x.state === 'open').length)
  $('k-late').textContent = num(active.filter(isLate).length)
}

function renderCharts () {
  if (!overview) return
  const s = scale(); const fs = 12 * s
  const gs = overview.grids
  chartIn($('by-grid')).setOption({
    animation: false, textStyle: { fontFamily: FONT, color: TEXT, fontSize: fs },
    grid: { left: 8 * s, right: 12 * s, top: 26 * s, bottom: 4 * s, containLabel: true },
    legend: { top: 0, right: 0, textStyle: { color: TEXT, fontSize: fs }, itemWidth: 12 * s, itemHeight: 8 * s },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'value', minInterval: 1, ...AXIS, axisLabel: { color: TEXT, fontSize: fs } },
    yAxis: { type: 'category', data: gs.map((g) => name(g.code)), ...AXIS, axisLabel: { color: TEXT, fontSize: fs } },
    series: [
      { name: t('today'), type: 'bar', data: gs.map((g) => g.today), itemStyle: { color: '#ff7a3a' }, barMaxWidth: 12 * s },
      { name: t('week'), type: 'bar', data: gs.map((g) => g.week), itemStyle: { color: '#3aa0ff' }, barMaxWidth: 12 * s },
    ],
  }, true)
  chartIn($('trend')).setOption({
    animation: false, textStyle: { fontFamily: FONT, color: TEXT, fontSize: fs },
    grid: { left: 8 * s, right: 12 * s, top: 16 * s, bottom: 4 * s, containLabel: true },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'category', data: overview.trend.map((d) => dayOnly(d.day)), ...AXIS, axisLabel: { color: TEXT, fontSize: fs } },
    yAxis: { type: 'value', minInterval: 1, ...AXIS, axisLabel: { color: TEXT, fontSize: fs } },
    series: [
      { name: t('kpiOpen'), type: 'line', smooth: true, data: overview.trend.map((d) => d.alerts), areaStyle: { color: 'rgba(58,160,255,0.2)' }, lineStyle: { color: '#3aa0ff', width: 2 * s }, itemStyle: { color: '#3aa0ff' } },
      { name: sevLabel('high'), type: 'line', smooth: true, data: overview.trend.map((d) => d.critical), lineStyle: { color: '#ff4d4f', width: 2 * s }, itemStyle: { color: '#ff4d4f' } },
    ],
  }, true)
  const d = overview.devices
  $('devices').innerHTML = [['devTotal', d.total, ''], ['devOnline', d.reporting, 'ok'], ['devSilent', d.silent, d.silent ? 'warn' : ''], ['devOffline', d.offline, d.offline ? 'bad' : ''], ['devFaulty', d.faulty, d.faulty ? 'bad' : '']]
    .map(([k, v, c]) => `<div class="dev ${c}"><b>${num(v)}</b><span>${t(k)}</span></div>`).join('')
}

/** The case's statutory stage; from the task's state when the API does not say. */
const STAGE_OF_STATE = { open: 'dispatched', acknowledged: 'handling', on_site: 'handling', resolved: 'checking', reviewed: 'closed' }
const stageKey = (x) => x.stage ?? STAGE_OF_STATE[x.state] ?? x.state
function renderBoard () {
  const list = [...tasks.values()].filter((x) => ACTIVE.includes(x.state) || Date.now() - Date.parse(x.updatedAt) < 86_400_000)
  const cols = STAGES
  const key = stageKey
  const label = stageLabel
  $('board').innerHTML = cols.map((c) => {
    const items = list.filter((x) => key(x) === c).sort((a, b) => SEV_RANK[b.severity] - SEV_RANK[a.severity] || (Date.parse(dueOf(a) ?? '9999') - Date.parse(dueOf(b) ?? '9999')))
    return `<div class="col" data-stage="${esc(c)}"><h3>${esc(label(c))} <span class="muted">${num(items.length)}</span></h3>${items.slice(0, 30).map((x) => {
      const cd = countdown(dueOf(x)); const late = isLate(x)
      return `<button class="tcard sev-${x.severity} ${late ? 'late' : ''}" data-focus="${esc(placeAt(x, 'building')?.code ?? x.grid ?? '')}" data-task="${esc(x.id)}">
        <span class="sev ${x.severity}">${esc(sevLabel(x.severity))}</span> ${esc(kindLabel(x.kind))}
        <span class="muted">${esc(placeAt(x, 'building')?.name ?? name(x.grid))} · ${esc(workers.get(x.workerId) ?? x.workerId ?? t('unassigned'))}</span>
        ${cd && ACTIVE.includes(x.state) ? `<span class="due ${cd.overdue ? 'overdue' : ''}" data-due="${esc(dueOf(x))}">${esc(cd.text)}</span>` : ''}${late && !cd?.overdue ? `<span class="due overdue">${t('escalated')}</span>` : ''}</button>`
    }).join('')}</div>`
  }).join('')
}
$('board').addEventListener('click', (e) => { const b = e.target.closest('[data-focus]'); if (b?.dataset.focus && places.has(b.dataset.focus)) setFocus(b.dataset.focus) })

function renderFeed () {
  $('feed').innerHTML = feedItems.slice(0, 60).map((f) => `<li class="${f.fresh ? 'flash' : ''} ${f.urgent ? 'urgent' : ''}" data-id="${esc(f.id)}">
    <span class="muted">${esc(hhmm(f.at))}</span> <b>${esc(f.what)}</b> <span class="sev ${f.severity}">${esc(sevLabel(f.severity))}</span> ${esc(kindLabel(f.kind))}
    <span class="muted">${esc(f.where)}${f.state ? ' · ' + esc(f.state) : ''}</span></li>`).join('')
  feedItems.forEach((f) => { f.fresh = false })
}

function onFeed (ev, data) {
  const isAlert = ev.startsWith('alert')
  const before = (isAlert ? alerts : tasks).get(data.id)
  ;(isAlert ? alerts : tasks).set(data.id, data)
  const where = [placeAt(data, 'community')?.name, placeAt(data, 'building')?.name].filter(Boolean).join(' ') || data.address
  const what = ev === 'alert.created' ? t('newAlert') : ev === 'task.created' ? t('taskNew') : isAlert ? t('alertChanged') : t('taskChanged')
  const state = isAlert ? (data.status !== 'open' ? t(data.status) : '') : `${stageLabel(stageKey(data))} · ${stateLabel(data.state)}`
  const urgent = ev.endsWith('created') && (data.severity === 'critical' || data.severity === 'high')
  if (!before || before.updatedAt !== data.updatedAt || ev.endsWith('created')) {
    feedItems.unshift({ id: data.id, at: new Date().toISOString(), what, kind: data.kind, severity: data.severity, where, state, fresh: true, urgent })
    feedItems.length = Math.min(feedItems.length, 200)
  }
  if (urgent) { pulse(); chime(true) }
  if (ev === 'alert.created') { countNew(data); refreshOverviewSoon() }
  renderAll()
}

function pulse () {
  const p = $('pulse'); p.classList.remove('on'); void p.offsetWidth; p.classList.add('on')
}

/** A new alert counts at once in its grid and community; the server's figures follow shortly. */
function countNew (a) {
  if (!overview || !a.grid) return
  for (const c of [...overview.grids, ...overview.communities]) if (a.path.includes(c.code)) { c.open++; c.today++; c.week++ }
  const last = overview.trend.at(-1)
  if (last) { last.alerts++; if (a.severity === 'high' || a.severity === 'critical') last.critical++ }
  renderCharts()
  if (!household) renderDrill()
}

let overviewTimer = null
function refreshOverviewSoon () {
  clearTimeout(overviewTimer)
  overviewTimer = setTimeout(async () => { try { overview = await api('GET', '/api/overview'); renderCharts(); if (!household) renderDrill() } catch {} }, 1500)
}

function renderAll () { if (!overview) return; renderKpis(); renderFeed(); renderBoard(); drawMap() }

// ---------------------------------------------------------------- start

function setLive (s) {
  liveState = s
  $('state').textContent = s === 'live' ? t('live') : s === 'offline' ? t('offline') : s === 'denied' ? '' : t('connecting')
  $('state').className = 'state ' + s
  $('state').dataset.state = s
  if (s === 'denied') signedOut(t('badToken'))
}

async function start () {
  try { me = await api('GET', '/api/me') } catch (err) {
    return signedOut(err instanceof ApiError && err.status === 401 ? t('badToken') : err.message)
  }
  $('signin').hidden = true; $('wall').hidden = false; $('signin-error').textContent = ''
  document.documentElement.style.fontSize = `${14 * scale()}px`
  // Follow the feed first, so nothing that happens while the rest loads is missed.
  feed?.stop(); feed = follow(onFeed, setLive)
  try {
    const [cfg, ov, fc, as, ts] = await Promise.all([api('GET', '/api/ui/config'), api('GET', '/api/overview'), api('GET', '/api/grids'), api('GET', '/api/alerts?limit=1000'), api('GET', '/api/tasks?limit=1000')])
    setOffset(cfg.utcOffsetHours)
    overview = ov; gridsFC = fc
    places.clear(); kids.clear()
    for (const p of ov.places) { places.set(p.code, p); if (p.parent) kids.set(p.parent, [...(kids.get(p.parent) ?? []), p.code]) }
    rootCode = ov.places.find((p) => p.level === 'street')?.code ?? ov.places[0]?.code ?? null
    $('title').textContent = rootCode ? name(rootCode) : ''
    as.forEach((a) => alerts.set(a.id, a)); ts.forEach((x) => tasks.set(x.id, x))
    if (me.type === 'admin' || me.role !== 'grid_worker') {
      const ws = await api('GET', '/api/workers').catch(() => [])
      ws.forEach((w) => workers.set(w.id, w.name))
    }
    if (ov.safetyIndex && rootCode) loadIndex()
    for (const a of [...alerts.values()].filter((x) => x.status === 'open').slice(0, 8)) {
      feedItems.push({ id: a.id, at: a.createdAt, what: t('newAlert'), kind: a.kind, severity: a.severity, where: [placeAt(a, 'community')?.name, placeAt(a, 'building')?.name].filter(Boolean).join(' '), state: '' })
    }
    const chart = chartIn($('map'))
    chart.off('click'); chart.on('click', onMapClick)
    focus = rootCode
    renderCrumbs(); renderDrill(); renderCharts(); renderAll()
  } catch (err) {
    $('error').textContent = err instanceof NetworkError ? t('offline') : err.message
  }
}

async function loadIndex () {
  try {
    const month = new Date(Date.now() + (overview?.utcOffsetHours ?? 8) * 3_600_000).toISOString().slice(0, 7)
    const rows = await api('GET', `/api/index?month=${month}&scope=${encodeURIComponent(rootCode)}`)
    indexColours = new Map((Array.isArray(rows) ? rows : rows?.grids ?? []).filter((r) => r?.grid && r?.colour).map((r) => [r.grid, r.colour]))
    if (indexColours.size === 0) indexColours = null
    drawMap()
  } catch { indexColours = null }
}

function signedOut (msg) {
  feed?.stop(); feed = null
  $('wall').hidden = true; $('signin').hidden = false
  $('signin-error').textContent = msg ?? ''
}

$('signin').onsubmit = (e) => { e.preventDefault(); const tok = $('token').value.trim(); if (!tok) return; session.set(tok); $('token').value = ''; start() }
$('signout').onclick = () => { session.clear(); signedOut('') }
$('lang').onclick = () => { setLang(getLang() === 'zh' ? 'en' : 'zh'); translatePage(); setLive(liveState); renderCrumbs(); renderDrill(); renderCharts(); renderAll() }
document.addEventListener('click', unlockSound, { once: true })
function tickClock () { $('clock').textContent = `${dayOnly(new Date().toISOString())} ${hhmm(new Date().toISOString())}` }
setInterval(() => {
  tickClock()
  document.querySelectorAll('[data-due]').forEach((el) => { const c = countdown(el.dataset.due); el.textContent = '' + c.text; el.classList.toggle('overdue', c.overdue) })
}, 15_000)
addEventListener('resize', () => { document.documentElement.style.fontSize = `${14 * scale()}px`; renderCharts(); drawMap() })

translatePage()
tickClock()
if (session.take()) start()
else signedOut('')
window.gridcare = { alerts, tasks, focus: () => focus }
