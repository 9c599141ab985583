// ECharts (served from the npm package at /vendor/echarts/) for the household curve and the maps.
import { t, getLang } from './i18n.js'
import { hhmm, num } from './core.js'

/* global echarts */
export const FONT = '"PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif'
const TEXT = '#c9d6e3'
const LINE = '#2a3a4d'

/** Recent hourly use (bars) against the usual curve (line) and its middle half (band). */
export function usageOption (u, scale = 1) {
  const pts = u.points ?? []
  const unit = u.unit === 'm3' ? 'm³' : (getLang() === 'zh' ? '度' : 'kWh')
  const fs = Math.round(11 * scale)
  return {
    animation: false,
    textStyle: { fontFamily: FONT, color: TEXT, fontSize: fs },
    grid: { left: 44 * scale, right: 10 * scale, top: 28 * scale, bottom: 24 * scale },
    legend: { top: 0, right: 0, textStyle: { color: TEXT, fontSize: fs }, itemWidth: 14 * scale, itemHeight: 8 * scale, data: [t('actual'), t('usual')] },
    tooltip: { trigger: 'axis', valueFormatter: (v) => v === null || v === undefined ? '—' : `${num(v, 3)} ${unit}` },
    xAxis: { type: 'category', data: pts.map((p) => hhmm(p.at)), axisLabel: { color: TEXT, fontSize: fs, interval: Math.max(0, Math.floor(pts.length / 6) - 1) }, axisLine: { lineStyle: { color: LINE } } },
    yAxis: { type: 'value', name: unit, nameTextStyle: { color: TEXT, fontSize: fs }, axisLabel: { color: TEXT, fontSize: fs }, splitLine: { lineStyle: { color: LINE } } },
    series: [
      { name: 'low', type: 'line', stack: 'band', data: pts.map((p) => p.low), lineStyle: { opacity: 0 }, symbol: 'none', silent: true, tooltip: { show: false } },
      { name: 'band', type: 'line', stack: 'band', data: pts.map((p) => p.low === null || p.high === null ? null : +(p.high - p.low).toFixed(3)), lineStyle: { opacity: 0 }, areaStyle: { color: 'rgba(120,160,200,0.25)' }, symbol: 'none', silent: true, tooltip: { show: false } },
      { name: t('actual'), type: 'bar', data: pts.map((p) => p.amount), itemStyle: { color: '#f0a030' }, barMaxWidth: 14 * scale },
      { name: t('usual'), type: 'line', data: pts.map((p) => p.usual), smooth: true, symbol: 'none', lineStyle: { color: '#58a6ff', width: 2 * scale }, itemStyle: { color: '#58a6ff' } },
    ],
  }
}

/** One chart per element, resized with it. */
export function chartIn (el) {
  const c = echarts.getInstanceByDom(el) ?? echarts.init(el, null, { renderer: 'canvas' })
  if (!el.dataset.observed) {
    el.dataset.observed = '1'
    const ro = new ResizeObserver(() => {
      if (!el.isConnected) { ro.disconnect(); if (!c.isDisposed()) c.dispose(); return }
      if (el.clientWidth > 0 && el.clientHeight > 0 && !c.isDisposed()) c.resize()
    })
    ro.observe(el)
  }
  return c
}

/** Registers a GeoJSON FeatureCollection under a name (grid codes as region names). */
export function registerGrids (name, fc) {
  echarts.registerMap(name, fc)
}

/** A small map of one grid with one building marked: for the worker's task card. */
export function miniMapOption (mapName, point, label) {
  return {
    animation: false,
    textStyle: { fontFamily: FONT },
    geo: { map: mapName, nameProperty: 'code', roam: false, layoutCenter: ['50%', '50%'], layoutSize: '92%', itemStyle: { areaColor: '#1d3248', borderColor: '#5b86b0', borderWidth: 1 }, label: { show: false }, emphasis: { disabled: true }, silent: true },
    series: point ? [{ type: calm() ? 'scatter' : 'effectScatter', coordinateSystem: 'geo', data: [{ name: label, value: point }], symbolSize: 12, itemStyle: { color: '#ff5c5c' }, label: { show: !!label, formatter: '{b}', position: 'right', color: '#fff', fontSize: 12 } }] : [],
  }
}

/** Frees the charts inside an element about to be replaced. */
export function disposeIn (root) {
  root.querySelectorAll('[_echarts_instance_]').forEach((el) => echarts.getInstanceByDom(el)?.dispose())
}

/** Ripples and moving trails only for those who have not asked for less motion (they also cost a wall's CPU). */
export const calm = () => matchMedia('(prefers-reduced-motion: reduce)').matches
