// Imported by the generated service worker (vite.config.ts, workbox `importScripts`): the runtime cache
// of API reads. The app shell is precached by Workbox; this file only handles same-origin GET /api/*.
//
// - One cache per user, `nf-api-<user id>`: the page names the user in the X-NF-User header (the worker
//   never reads or keeps a token); anonymous reads go to `nf-api-anon`. The page deletes a user's
//   cache when they sign out, so user B never sees user A's data.
// - Stale-while-revalidate, fresh first: every read goes to the server and its 200 answer replaces the
//   copy; the copy answers when the server cannot be reached, or has not answered within FRESH_MS.
//   Matching ignores `Vary` (the server varies on Authorization, which the copy is keyed without).
// - Never cached: /api/v1/auth/* (tokens), non-GET requests, non-200 answers.
// - A copy carries `X-NF-Cached: <ms since epoch>` so the page can show "offline, last synced at …".
/* eslint-env serviceworker */
const NF_PREFIX = 'nf-api-';
const NF_FRESH_MS = 5000;
const NF_NEVER = /^\/api\/v1\/auth(\/|$)/;

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith('/api/') || NF_NEVER.test(url.pathname)) return;
  const user = req.headers.get('X-NF-User') || (req.headers.get('Authorization') ? '' : 'anon');
  if (!user || !/^[\w-]+$/.test(user)) return; // a token without a named user: straight to the network
  event.respondWith(nfRead(event, req, url, NF_PREFIX + user));
});

async function nfRead(event, req, url, cacheName) {
  const key = url.href;
  const network = fetch(req).then(async (res) => {
    if (res.status === 200) {
      const headers = new Headers(res.headers);
      headers.set('X-NF-Cached', String(Date.now()));
      const copy = new Response(await res.clone().blob(), { status: 200, statusText: res.statusText, headers });
      const cache = await caches.open(cacheName);
      await cache.put(key, copy);
    }
    return res;
  });
  event.waitUntil(network.catch(() => undefined));
  const cached = await caches.open(cacheName).then((c) => c.match(key, { ignoreVary: true }));
  if (!cached) return network; // nothing saved: the network's answer or its failure
  let timer;
  const stale = new Promise((resolve) => (timer = setTimeout(() => resolve(cached), NF_FRESH_MS)));
  return Promise.race([network.catch(() => cached), stale]).finally(() => clearTimeout(timer));
}
