/*
 * FieldSales service worker (source). The server serves it at /sw.js with two tokens filled in:
 * the build version (a hash of the static files) and the JSON list of app-shell URLs to
 * precache. A new version installs beside the old one and waits until the user presses
 * "Reload" in the page (SKIP_WAITING), so a page never runs against a half-swapped shell.
 * See docs/pwa.md.
 */
"use strict";

const VERSION = "__SW_VERSION__";
const PRECACHE_URLS = __PRECACHE_URLS__;

const SHELL_CACHE = `fieldsales-shell-${VERSION}`;
const PAGES_CACHE = "fieldsales-pages";
const API_CACHE = "fieldsales-api";
const OFFLINE_URL = "/offline";
const NAVIGATION_TIMEOUT_MS = 4000;
const MAX_CACHED_PAGES = 60;
const CHECKIN_PATH = "/checkins/new";
const CHECKIN_SHELL = "/checkins/shell"; // saved by tasks.js whenever Today loads online
// Never kept as offline pages: they start or end a session, or are not pages at all.
const NOT_PAGES = ["/api/", "/auth/", "/login", "/logout", "/static/", "/sw.js", "/schema", "/offline"];

// Import the exact (cache-busted) versions this worker's shell was built with.
function shellUrl(path) {
  return PRECACHE_URLS.find((url) => url.split("?")[0] === path) || path;
}
importScripts(shellUrl("/static/outbox-core.js"), shellUrl("/static/push.js"));

const outbox = self.FieldsalesOutboxCore;

/* ---- Lifecycle ---- */

self.addEventListener("install", (event) => {
  // Versioned (?v=) assets are immutable, so the HTTP cache copy the page just loaded is
  // reused; only unversioned URLs (the offline page) skip it to be fresh.
  const requests = PRECACHE_URLS.map((url) => new Request(url, { cache: url.includes("?v=") ? "default" : "reload" }));
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(requests)));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(
        names.filter((name) => name.startsWith("fieldsales-shell-") && name !== SHELL_CACHE).map((name) => caches.delete(name)),
      );
      // Start fetching the page while the worker boots, instead of after.
      if (self.registration.navigationPreload) await self.registration.navigationPreload.enable();
      // Control pages opened before the first install, so they work offline without a reload.
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "SKIP_WAITING") self.skipWaiting();
});

/* ---- Fetch routing ---- */

// When a form was last posted as a navigation (a write whose 303 leads to the page showing it).
let writeNavigationAt = 0;
const AFTER_WRITE_MS = 60000;

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  // Writes go straight to the network: offline writes are the outbox's job, not the cache's.
  if (request.method !== "GET" || url.origin !== self.location.origin) {
    if (request.mode === "navigate") writeNavigationAt = Date.now();
    return;
  }
  // Navigations first: they may use the navigation preload response (a CSV download too).
  if (isPageRequest(request)) event.respondWith(page(event));
  else if (url.pathname.startsWith("/static/")) event.respondWith(cacheFirst(event));
  else if (url.pathname.startsWith("/api/")) event.respondWith(networkFirst(event));
});

// A full page: a real navigation, an hx-boost link (the server answers those with the full page)
// or htmx restoring history. Other htmx GETs return fragments and go straight to the network.
function isPageRequest(request) {
  return (
    request.mode === "navigate" ||
    request.headers.get("HX-Boosted") === "true" ||
    request.headers.get("HX-History-Restore-Request") === "true"
  );
}

async function cacheFirst(event) {
  const cached = await caches.match(event.request);
  if (cached) return cached;
  const response = await fetch(event.request);
  if (response.ok) {
    const copy = response.clone();
    event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.put(event.request, copy)));
  }
  return response;
}

async function networkFirst(event) {
  try {
    const response = await fetch(event.request);
    connectivitySeen(true);
    if (response.ok && storable(response)) {
      const copy = response.clone();
      event.waitUntil(caches.open(API_CACHE).then((cache) => cache.put(event.request, copy)));
    }
    return response;
  } catch (err) {
    connectivitySeen(false);
    const cached = await caches.match(event.request, { cacheName: API_CACHE, ignoreVary: true });
    if (cached) return cached;
    throw err;
  }
}

// Network first, but a field rep on a weak signal should not stare at a spinner: after 4 s (or
// on a server error) a saved copy of the page answers; with none, the offline page does. Not
// right after a form post: the page it redirects to shows what was just written and its "Saved."
// message, and a saved copy would show the state before the write (a plan still waiting for the
// approval just given), so that page is waited for; the copy answers only if the network fails.
async function page(event) {
  const request = event.request;
  const network = (async () => (await event.preloadResponse) || fetch(asPageLoad(request)))();
  // Registered before the race below, so the copy is taken before the page reads the body.
  event.waitUntil(
    network.then(
      (response) => {
        connectivitySeen(true);
        if (isStorablePage(request, response)) return storePage(request.url, response.clone());
      },
      () => connectivitySeen(false),
    ),
  );
  try {
    const afterWrite = Date.now() - writeNavigationAt <= AFTER_WRITE_MS;
    writeNavigationAt = 0; // only the page the post led to
    const racers = [network];
    if (!afterWrite) racers.push(new Promise((resolve) => setTimeout(resolve, NAVIGATION_TIMEOUT_MS)));
    const response = await Promise.race(racers);
    if (response && response.status < 500) return response;
    return (await cachedPage(request.url)) || (await network);
  } catch (err) {
    return (await cachedPage(request.url)) || (await caches.match(OFFLINE_URL)) || Response.error();
  }
}

// The worker's own fetch of a page is no document load to the server (Sec-Fetch-Dest is not
// "document"), which would then keep the flash message for a later page: say it is one. A
// redirected navigation (a form post's 303) may come without a preload response.
function asPageLoad(request) {
  const headers = new Headers(request.headers);
  headers.set("X-Fieldsales-Page", "1");
  return new Request(request, { headers });
}

// A saved copy answers as a new response: it carries no URL of its own, so a boosted navigation
// keeps the address the rep tapped instead of adopting the copy's (the wrong-customer bug).
function answer(saved) {
  return saved.blob().then((body) => new Response(body, { status: saved.status, statusText: saved.statusText, headers: saved.headers }));
}

function storable(response) {
  return response.type === "basic" && !(response.headers.get("Cache-Control") || "").includes("no-store");
}

function isStorablePage(request, response) {
  const path = new URL(request.url).pathname;
  return (
    response.ok &&
    !response.redirected && // a redirect served for a navigation is a network error in browsers
    storable(response) &&
    (response.headers.get("Content-Type") || "").startsWith("text/html") &&
    !NOT_PAGES.some((prefix) => path.startsWith(prefix))
  );
}

async function storePage(url, response) {
  const cache = await caches.open(PAGES_CACHE);
  await cache.put(url, response);
  // Keys come back oldest write first; keep the most recent pages only.
  const keys = await cache.keys();
  await Promise.all(keys.slice(0, Math.max(0, keys.length - MAX_CACHED_PAGES)).map((key) => cache.delete(key)));
}

// Stored by URL alone: a boosted and a plain request for a page get the same full page back.
// Only the exact address answers: a page saved for one customer or stop is never served for
// another. Two exceptions: the start page ("/", whose query is only ?source=pwa) and the check-in
// page, which has one shell (/checkins/shell) that checkin.js fills from the stop stored on the
// phone, taking its ids from the stored task, never from the shell.
async function cachedPage(url) {
  const cache = await caches.open(PAGES_CACHE);
  const path = new URL(url).pathname;
  let saved = await cache.match(url, { ignoreVary: true });
  if (!saved && path === "/") saved = await cache.match(url, { ignoreVary: true, ignoreSearch: true });
  if (!saved && path === CHECKIN_PATH) saved = await cache.match(CHECKIN_SHELL, { ignoreVary: true });
  return saved ? answer(saved) : null;
}

/* ---- Outbox ---- */

async function tellClients(message) {
  const windows = await self.clients.matchAll({ type: "window" });
  windows.forEach((client) => client.postMessage(message));
}

// The worker sees connectivity return before `navigator.onLine` does (or when it never flips,
// as on a captive portal): the first success after a failure asks open pages to replay.
let networkWasDown = false;
function connectivitySeen(up) {
  if (up && networkWasDown) tellClients({ type: "OUTBOX_FLUSH" });
  networkWasDown = !up;
}

self.addEventListener("sync", (event) => {
  if (event.tag !== "outbox-sync") return;
  event.waitUntil(
    (async () => {
      const result = await outbox.flush({ force: true });
      await tellClients({ type: "OUTBOX_CHANGED" });
      // Failing the event makes the browser retry later with its own back-off. Not for "auth":
      // only signing in again helps, and the page handles that.
      if (result.stopped === "retry") throw new Error("Outbox not drained; the browser will retry");
    })(),
  );
});

/* ---- Push ---- */

self.addEventListener("push", (event) => {
  let message = {};
  if (event.data) {
    try {
      message = event.data.json();
    } catch (err) {
      message = { body: event.data.text() };
    }
  }
  // Every push shows a notification: iOS revokes the subscription of a worker that stays silent.
  event.waitUntil(
    self.registration.showNotification(message.title || "FieldSales", {
      body: message.body || "",
      icon: "/static/icons/icon-192.png",
      badge: "/static/icons/badge-96.png",
      tag: message.tag,
      renotify: Boolean(message.tag),
      data: { url: message.url || "/" },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin);
  // Only ever open our own pages, whatever the payload says.
  const url = target.origin === self.location.origin ? target.href : new URL("/", self.location.origin).href;
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      const open = windows.find((client) => client.url === url);
      if (open) return open.focus();
      return self.clients.openWindow(url);
    })(),
  );
});

self.addEventListener("pushsubscriptionchange", (event) => {
  event.waitUntil(
    (async () => {
      const push = self.fieldsalesPush;
      const subscription =
        event.newSubscription ||
        (await self.registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: await push.applicationServerKey(),
        }));
      await push.save(subscription);
    })(),
  );
});
