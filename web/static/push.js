/*
 * Web Push subscription. Loaded by pages and by the service worker (importScripts), which needs
 * the same subscribe-and-save steps when the browser rotates a subscription.
 * In a page it also drives the #push-banner: permission is only ever asked from a button the
 * user pressed after reading why (browsers penalise, and users refuse, unprompted asks).
 */
(function (scope) {
  "use strict";

  const KEY_URL = "/api/v1/push/vapid-public-key";
  const SUBSCRIPTIONS_URL = "/api/v1/push/subscriptions";
  const DISMISSED_KEY = "fieldsales.push.dismissed";
  const SYNCED_KEY = "fieldsales.push.synced";

  async function csrfToken() {
    const meta = scope.document && scope.document.querySelector('meta[name="csrf-token"]');
    return (meta && meta.content) || (await scope.FieldsalesOutboxCore.kvGet("csrf")) || "";
  }

  // The push service wants the raw P-256 public key; the server hands it out base64url-encoded.
  function base64UrlToBytes(text) {
    const base64 = (text + "=".repeat((4 - (text.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
  }

  async function applicationServerKey() {
    const response = await fetch(KEY_URL, { credentials: "include", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`VAPID key request failed: ${response.status}`);
    return base64UrlToBytes((await response.json()).public_key);
  }

  async function subscribe(registration) {
    const existing = await registration.pushManager.getSubscription();
    return (
      existing ||
      registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: await applicationServerKey() })
    );
  }

  async function save(subscription) {
    const { endpoint, keys } = subscription.toJSON();
    const response = await fetch(SUBSCRIPTIONS_URL, {
      method: "POST",
      credentials: "include",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": await csrfToken() },
      body: JSON.stringify({ endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth } }),
    });
    if (!response.ok) throw new Error(`Saving the push subscription failed: ${response.status}`);
    return endpoint;
  }

  scope.fieldsalesPush = { subscribe, save, applicationServerKey };
  if (!scope.document) return; // in the service worker: no banner

  const document = scope.document;
  const supported = "serviceWorker" in navigator && "PushManager" in scope && "Notification" in scope;

  function dismissed() {
    try {
      return scope.localStorage.getItem(DISMISSED_KEY) === "1";
    } catch (err) {
      return false; // storage blocked: ask again next time rather than never
    }
  }

  function paintBanner() {
    const banner = document.getElementById("push-banner");
    if (banner) banner.hidden = !(supported && Notification.permission === "default" && !dismissed());
  }

  async function enable() {
    // Must be the first await after the click: browsers only prompt inside a user gesture.
    const permission = await Notification.requestPermission();
    paintBanner();
    if (permission !== "granted") return false;
    const endpoint = await save(await subscribe(await navigator.serviceWorker.ready));
    scope.sessionStorage.setItem(SYNCED_KEY, endpoint);
    return true;
  }

  // Permission already granted: make sure the server knows this device's subscription for the
  // user now signed in (a shared phone may have been subscribed by someone else). Once a session.
  async function resync() {
    // The banner is only rendered for a signed-in user: no banner, nobody to subscribe for.
    if (!supported || Notification.permission !== "granted" || !document.getElementById("push-banner")) return;
    const subscription = await subscribe(await navigator.serviceWorker.ready);
    if (scope.sessionStorage.getItem(SYNCED_KEY) === subscription.endpoint) return;
    scope.sessionStorage.setItem(SYNCED_KEY, await save(subscription));
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-push]");
    if (!button) return;
    if (button.dataset.push === "enable") {
      enable().catch((err) => {
        console.warn(err);
        const text = document.getElementById("js-text");
        if (scope.fieldsalesToast && text) scope.fieldsalesToast(text.dataset.pushFailed, "error");
      });
    } else {
      try {
        scope.localStorage.setItem(DISMISSED_KEY, "1");
      } catch (err) {
        /* storage blocked: the banner just comes back next visit */
      }
      paintBanner();
    }
  });
  // hx-boost swaps the whole body, banner included.
  document.addEventListener("htmx:load", paintBanner);
  document.addEventListener("DOMContentLoaded", () => {
    paintBanner();
    resync().catch((err) => console.warn(err));
  });

  scope.fieldsalesPush.enable = enable;
})(self);
