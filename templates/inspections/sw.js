/* Service worker of the inspectors' tablet pages (scope: the /inspections/ pages).

   Pages: network first, saved on every successful load; without a connection (or when the network is slower
   than a few seconds) the saved copy answers, and a page never saved answers with the offline page.
   Static files (the pages' CSS and JS): the saved copy answers at once and is refreshed behind it.
   The API is never touched here: findings and photos wait in IndexedDB, managed by the pages (tablet.js).
   The pages belong to the user signed in: when another user shows up, the saved pages are dropped. */
"use strict";

const CONFIG = {{ config_json|safe }};
const CACHE = "sttt-inspections";
const USER_KEY = CONFIG.scope + "__user__";

function isPage(url) {
  return url.origin === self.location.origin && url.pathname.startsWith(CONFIG.scope) &&
    url.pathname !== CONFIG.sw && !url.pathname.startsWith(CONFIG.api_prefix);
}

function pageKey(href) {
  const url = new URL(href, self.location.origin);
  url.hash = "";
  return url.href;
}

function cacheable(response) {
  return Boolean(response) && response.ok && response.type === "basic" && !response.redirected;
}

async function shellStore(cache, urls, refresh) {
  await Promise.all(urls.map(async (url) => {
    try {
      if (!refresh && (await cache.match(pageKey(url), { ignoreVary: true }))) return;
      const response = await fetch(url, { cache: "reload", credentials: "same-origin" });
      if (cacheable(response)) await cache.put(pageKey(url), response);
    } catch (error) {
      /* no connection: keep what is saved */
    }
  }));
}

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await shellStore(cache, CONFIG.shell, true);
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter((name) => name.startsWith("sttt-inspections") && name !== CACHE)
      .map((name) => caches.delete(name)));
    await self.clients.claim();
  })());
});

async function savedPage(key) {
  const cache = await caches.open(CACHE);
  return (await cache.match(key, { ignoreVary: true })) ||
    (await cache.match(key, { ignoreVary: true, ignoreSearch: true }));
}

async function offlinePage() {
  const cache = await caches.open(CACHE);
  return (await cache.match(pageKey(CONFIG.offline), { ignoreVary: true })) ||
    new Response("Offline", { status: 503, headers: { "Content-Type": "text/plain; charset=utf-8" } });
}

function pageFromNetworkFirst(event) {
  const key = pageKey(event.request.url);
  const network = fetch(event.request).then(async (response) => {
    if (cacheable(response) && (response.headers.get("Content-Type") || "").startsWith("text/html")) {
      const cache = await caches.open(CACHE);
      await cache.put(key, response.clone());
    }
    return response;
  });
  event.waitUntil(network.then(() => undefined, () => undefined));
  return new Promise((resolve) => {
    let settled = false;
    const answer = (response) => {
      if (!settled && response) {
        settled = true;
        resolve(response);
      }
    };
    // A slow network: answer from the saved copy if there is one, and keep waiting for the network if not.
    const timer = setTimeout(async () => answer(await savedPage(key)), CONFIG.network_timeout_ms);
    network.then((response) => {
      clearTimeout(timer);
      answer(response);
    }, async () => {
      clearTimeout(timer);
      answer((await savedPage(key)) || (await offlinePage()));
    });
  });
}

async function staticFromCache(event) {
  const cache = await caches.open(CACHE);
  const saved = await cache.match(event.request, { ignoreVary: true });
  const network = fetch(event.request).then(async (response) => {
    if (cacheable(response)) await cache.put(event.request, response.clone());
    return response;
  });
  if (saved) {
    event.waitUntil(network.then(() => undefined, () => undefined));
    return saved;
  }
  return network;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith(CONFIG.api_prefix)) return;
  if (request.mode === "navigate") {
    if (isPage(url)) event.respondWith(pageFromNetworkFirst(event));
    return;
  }
  if (url.pathname.startsWith(CONFIG.static_prefix)) event.respondWith(staticFromCache(event));
});

async function userCheck(cache, user) {
  const saved = await cache.match(USER_KEY);
  const previous = saved ? await saved.text() : null;
  if (previous === String(user)) return;
  if (previous !== null) {
    // Another user on this tablet: the pages saved for the previous one go.
    for (const request of await cache.keys()) {
      if (isPage(new URL(request.url))) await cache.delete(request);
    }
  }
  await cache.put(USER_KEY, new Response(String(user), { headers: { "Content-Type": "text/plain" } }));
}

// A page asks to keep pages for use without a connection: {type: "keep", user, urls: [{url, refresh}]}.
async function keep(data) {
  const cache = await caches.open(CACHE);
  await userCheck(cache, data.user);
  const kept = [];
  const wanted = [...(data.urls || []), { url: CONFIG.offline, refresh: false }];
  for (const { url, refresh } of wanted) {
    const key = pageKey(url);
    if (!isPage(new URL(key))) continue;
    let saved = await cache.match(key, { ignoreVary: true });
    if (!saved || refresh) {
      try {
        const response = await fetch(key, { credentials: "same-origin", cache: "no-cache" });
        if (cacheable(response)) {
          await cache.put(key, response);
          saved = true;
        }
      } catch (error) {
        /* no connection: the saved copy, if any, stays */
      }
    }
    if (saved) kept.push(new URL(key).pathname);
  }
  await shellStore(cache, CONFIG.shell.filter((url) => !isPage(new URL(url, self.location.origin))), false);
  return kept;
}

self.addEventListener("message", (event) => {
  const data = event.data || {};
  const port = event.ports && event.ports[0];
  if (data.type !== "keep") return;
  event.waitUntil(keep(data).then(
    (kept) => port && port.postMessage({ ok: true, kept, version: CONFIG.version }),
    (error) => port && port.postMessage({ ok: false, error: String(error) }),
  ));
});
