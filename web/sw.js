// The worker page keeps opening without a connection: the app shell is served network-first,
// from this cache when the network is gone. API calls are never cached (the page queues actions).
const CACHE = 'gridcare-shell-v1'
const SHELL = ['/worker', '/worker.js', '/worker.css', '/style.css', '/lib/core.js', '/lib/i18n.js', '/lib/charts.js', '/vendor/echarts/echarts.min.js', '/manifest.webmanifest', '/icon.svg']

self.addEventListener('install', (e) => { e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting())) })
self.addEventListener('activate', (e) => { e.waitUntil(caches.keys().then((ks) => Promise.all(ks.filter((k) => k !== CACHE).map((k) => caches.delete(k)))).then(() => self.clients.claim())) })
self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url)
  if (e.request.method !== 'GET' || url.origin !== location.origin || url.pathname.startsWith('/api/')) return
  e.respondWith(fetch(e.request).then((res) => {
    if (res.ok && SHELL.includes(url.pathname)) { const copy = res.clone(); caches.open(CACHE).then((c) => c.put(url.pathname, copy)) }
    return res
  }).catch(() => caches.match(url.pathname).then((hit) => hit ?? Response.error())))
})
self.addEventListener('notificationclick', (e) => {
  e.notification.close()
  e.waitUntil(self.clients.matchAll({ type: 'window' }).then((cs) => cs[0] ? cs[0].focus() : self.clients.openWindow('/worker')))
})
