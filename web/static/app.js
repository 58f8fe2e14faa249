/*
 * FieldSales page script: htmx set-up, service worker updates, the online indicator and the
 * page side of the outbox. Loaded with `defer` after htmx.min.js and outbox-core.js.
 * The CSP allows no inline script and no eval: behaviour hangs off data-* attributes.
 */
(function () {
  "use strict";

  const core = window.FieldsalesOutboxCore;
  const $ = (id) => document.getElementById(id);
  let pending = 0; // changes waiting in the outbox, as last counted
  let refused = 0; // refused by the server, kept for the user (/sync)
  let waitingWorker = null; // a new service worker version, waiting for the user's go
  let reloadOnControllerChange = false;
  let registration = null;
  let retryTimer = 0;
  let authWarned = false;

  // Translated strings: base.html renders them into #js-text's data attributes.
  const text = (key) => $("js-text").dataset[key];

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function stop(event) {
    event.preventDefault();
    event.stopPropagation();
  }

  // Errors stay until dismissed (the user may be looking away); other messages fade.
  function toast(message, kind = "info") {
    const region = $("toasts");
    const template = $("toast-template");
    if (!region || !template || !message) return;
    const item = template.content.firstElementChild.cloneNode(true);
    item.classList.add(`toast-${kind}`);
    item.querySelector("p").textContent = message;
    item.querySelector("button").addEventListener("click", () => item.remove());
    region.append(item);
    if (kind !== "error") setTimeout(() => item.remove(), 8000);
  }
  window.fieldsalesToast = toast;

  /* ---- htmx ---- */

  if (window.htmx) {
    // htmx's indicator <style> is blocked by the CSP; app.css has it.
    htmx.config.includeIndicatorStyles = false;
    // hx-on and trigger filters need eval, which the CSP forbids: fail loudly in development.
    htmx.config.allowEval = false;
    // Swap error pages and re-rendered invalid forms (4xx) in, not silently nothing.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "[45]..", swap: true, error: true },
    ];
  }

  document.addEventListener("htmx:configRequest", (event) => {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
    const form = event.detail.elt.closest("form[data-outbox]");
    if (form) {
      // The online attempt and any offline replay of it share one id, so the server can tell a
      // replay of a request whose response was lost from a new one.
      event.detail.headers["X-Client-Id"] = clientId(form);
      event.detail.headers["X-Device-Time"] = form.dataset.deviceTime = new Date().toISOString();
    }
  });

  document.addEventListener("htmx:beforeSwap", (event) => {
    // A problem+json error is not markup: show its detail instead of swapping raw JSON in.
    const xhr = event.detail.xhr;
    if (event.detail.isError && (xhr.getResponseHeader("Content-Type") || "").includes("json")) {
      event.detail.shouldSwap = false;
      toast(problemDetail(xhr.responseText) || text("requestFailed"), "error");
    }
  });

  document.addEventListener("htmx:afterRequest", (event) => {
    const form = event.detail.elt.closest("form[data-outbox]");
    if (form && event.detail.successful) {
      delete form.dataset.clientId;
      delete form.dataset.deviceTime;
    }
  });

  document.addEventListener("htmx:sendError", (event) => {
    const form = event.detail.elt.closest("form[data-outbox]");
    if (form) queueForm(form);
    else toast(text("noConnection"), "error");
  });

  // hx-boost swaps the whole body: repaint the indicators it replaced.
  document.addEventListener("htmx:load", paint);

  function problemDetail(body) {
    try {
      return JSON.parse(body).detail || "";
    } catch (err) {
      return "";
    }
  }

  /* ---- Online indicator and outbox badge ---- */

  function paint() {
    const online = navigator.onLine;
    document.documentElement.classList.toggle("is-offline", !online);
    const status = $("net-status");
    if (status) {
      const label = online ? status.dataset.online : status.dataset.offline;
      if (status.textContent !== label) status.textContent = label; // same text would be re-announced
      status.classList.toggle("is-offline", !online);
    }
    const badge = $("sync-badge");
    if (badge) {
      badge.hidden = pending === 0;
      badge.querySelector(".sync-count").textContent = pending;
    }
    const attention = $("attention-badge");
    if (attention) {
      attention.hidden = refused === 0;
      attention.querySelector(".attention-count").textContent = refused;
    }
  }

  async function refresh() {
    try {
      pending = await core.count();
      refused = (await core.attention()).length;
      for (const notice of await core.takeNotices()) {
        // Not sticky: the change is kept and the attention badge stays.
        if (!$("attention-list")) toast(`${text("rejected")} ${notice.detail || notice.status}`, "info");
      }
    } catch (err) {
      console.warn("Outbox unavailable", err); // IndexedDB blocked, e.g. some private modes
      return;
    }
    paint();
    if (pending === 0) document.querySelectorAll(".outbox-note").forEach((note) => note.remove());
    document.dispatchEvent(new CustomEvent("outbox:changed", { detail: { count: pending } }));
  }

  /* ---- Outbox replay ---- */

  function registerSync() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready
      .then((registration) => registration.sync && registration.sync.register("outbox-sync"))
      .catch(() => {}); // no Background Sync: the online/visibility/open triggers cover it
  }

  // `force` skips back-off: used when connectivity has just come back or the app was opened.
  async function flush(force = false) {
    clearTimeout(retryTimer);
    if (navigator.onLine) {
      try {
        const result = await core.flush({ csrfToken: csrfToken(), force });
        if (result.retryAt) retryTimer = setTimeout(flush, result.retryAt - Date.now());
        if (result.stopped === "retry") registerSync();
        if (result.stopped === "auth" && !authWarned) {
          authWarned = true;
          toast(text("signInToSync"), "error");
        }
      } catch (err) {
        console.warn("Outbox replay failed", err);
      }
    }
    await refresh();
  }

  async function enqueue(request) {
    const record = await core.enqueue(request);
    registerSync();
    await refresh();
    if (navigator.onLine) flush();
    return record;
  }

  window.fieldsalesOutbox = { enqueue, flush: () => flush(true), count: () => core.count(), refresh };

  /* ---- Forms that may be saved offline: <form data-outbox[="/api/url"]> ---- */

  function clientId(form) {
    if (!form.dataset.clientId) {
      const idField = form.elements.namedItem("id");
      form.dataset.clientId = (idField && idField.value) || crypto.randomUUID();
    }
    return form.dataset.clientId;
  }

  // FormData -> JSON: empty fields left out, numbers as numbers, a checkbox true, repeats arrays.
  function formToObject(form) {
    const body = {};
    for (const [name, raw] of new FormData(form)) {
      if (name === "_csrf_token" || raw === "" || typeof raw !== "string") continue;
      const field = form.elements.namedItem(name);
      const type = field && field.type;
      const value = type === "number" ? Number(raw) : type === "checkbox" && raw === "on" ? true : raw;
      body[name] = name in body ? [].concat(body[name], value) : value;
    }
    return body;
  }

  function queueForm(form) {
    const verb = ["post", "put", "patch", "delete"].find((name) => form.hasAttribute(`hx-${name}`));
    const method = form.dataset.outboxMethod || verb || form.method;
    const url = form.dataset.outbox || form.getAttribute(`hx-${method.toLowerCase()}`) || form.action;
    const request = { id: clientId(form), url, method, body: formToObject(form), device_time: form.dataset.deviceTime };
    return enqueue(request).then(
      () => {
        delete form.dataset.clientId;
        delete form.dataset.deviceTime;
        let note = form.querySelector(".outbox-note");
        if (!note) {
          note = document.createElement("p");
          note.className = "outbox-note";
          note.setAttribute("role", "status");
          form.append(note);
        }
        note.textContent = text("savedOffline");
        form.dispatchEvent(new CustomEvent("outbox:queued", { bubbles: true, detail: request }));
      },
      (err) => {
        console.warn(err);
        toast(text("notSaved"), "error");
      },
    );
  }

  // Signing out: the phone may be shared, so drop this user's saved pages, data and queue.
  async function forgetUser() {
    try {
      localStorage.removeItem("htmx-history-cache");
      await core.clear();
      if (window.caches) await Promise.all(["fieldsales-pages", "fieldsales-api"].map((name) => caches.delete(name)));
    } catch (err) {
      console.warn(err);
    }
  }

  // Capture phase: runs before htmx's own submit listener on the form, so we can stop it.
  document.addEventListener(
    "submit",
    (event) => {
      const form = event.target;
      if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return stop(event);
      if (form.hasAttribute("data-logout")) {
        stop(event);
        if (pending === 0 || window.confirm(text("logoutPending"))) {
          forgetUser().then(() => form.submit());
        }
      } else if (form.hasAttribute("data-outbox") && !navigator.onLine) {
        stop(event);
        queueForm(form);
      }
    },
    true,
  );

  document.addEventListener(
    "click",
    (event) => {
      const target = event.target.closest("[data-confirm]");
      if (target && target.tagName !== "FORM" && !window.confirm(target.dataset.confirm)) return stop(event);
      if (event.target.closest('[data-action="reload"]')) {
        reloadOnControllerChange = true;
        if (waitingWorker) waitingWorker.postMessage({ type: "SKIP_WAITING" });
        else location.reload();
      }
    },
    true,
  );

  /* ---- Service worker: registration and "Update available" ---- */

  function offerUpdate(worker) {
    waitingWorker = worker;
    const update = $("update-toast");
    if (update) update.hidden = false;
  }

  if ("serviceWorker" in navigator) {
    // Only reload when the user asked: the first install also changes the controller.
    navigator.serviceWorker.addEventListener("controllerchange", () => reloadOnControllerChange && location.reload());
    navigator.serviceWorker.addEventListener("message", (event) => {
      const type = event.data && event.data.type;
      if (type === "OUTBOX_FLUSH") flush(true);
      else if (type === "OUTBOX_CHANGED") refresh();
    });
    navigator.serviceWorker.startMessages();
    window.addEventListener("load", () => {
      navigator.serviceWorker
        .register("/sw.js", { scope: "/", updateViaCache: "none" })
        .then((registered) => {
          registration = registered;
          if (registration.waiting && navigator.serviceWorker.controller) offerUpdate(registration.waiting);
          registration.addEventListener("updatefound", () => {
            const worker = registration.installing;
            worker.addEventListener("statechange", () => {
              if (worker.state === "installed" && navigator.serviceWorker.controller) offerUpdate(worker);
            });
          });
        })
        .catch((err) => console.warn("Service worker registration failed", err));
    });
  }

  /* ---- Replay triggers: back online, back to the app, app opened ---- */

  window.addEventListener("online", () => {
    paint();
    flush(true);
  });
  window.addEventListener("offline", paint);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState !== "visible") return;
    flush();
    // hx-boost means few real navigations, so look for a new version when the app comes back.
    if (registration) registration.update().catch(() => {});
  });
  core.rememberCsrfToken(csrfToken()).catch(() => {});
  paint();
  flush(true);
})();
