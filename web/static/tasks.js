/*
 * Today page.
 * - Stores what each stop needs for a visit without a signal (the list's data-stops: customer,
 *   task, location, radius) in IndexedDB, and saves the check-in shell page the service worker
 *   serves offline for any stop (checkin.js fills it from the stored stop). Only when online:
 *   a saved copy of Today must not overwrite a newer day.
 * - Reflects what waits on the phone: visits and task changes in the outbox, visits open on this
 *   phone, changes the server refused. A saved copy of Today shown offline is therefore current.
 * - Counts the elapsed time of a visit in progress.
 * Loaded from the page body, so hx-boost may run it more than once: listen only once.
 */
(function () {
  "use strict";
  if (window.fieldsalesTasksReady) return;
  window.fieldsalesTasksReady = true;

  // Pages with no stop's data of their own, saved whenever Today loads online so they open offline.
  const SHELLS = ["/checkins/shell", "/sync"];
  const PAGES_CACHE = "fieldsales-pages";
  const TASK_URL = /^\/api\/v1\/tasks\/([0-9a-f-]{36})$/;

  const text = (key) => {
    const holder = document.getElementById("today-text");
    return (holder && holder.dataset[key]) || "";
  };

  async function storeStops(list) {
    const core = window.FieldsalesOutboxCore;
    if (!core || !navigator.onLine || !list.dataset.stops) return;
    try {
      await core.saveStops(JSON.parse(list.dataset.stops));
      if (window.caches) {
        const cache = await caches.open(PAGES_CACHE);
        for (const url of SHELLS) {
          const response = await fetch(url, { credentials: "same-origin", redirect: "manual" });
          if (response.ok && (response.headers.get("Content-Type") || "").startsWith("text/html")) await cache.put(url, response);
        }
      }
      list.dataset.stored = "true";
    } catch (err) {
      console.warn("Could not store today's stops for offline use", err);
    }
  }

  /* ---- Elapsed time of visits in progress ---- */

  function elapsed(since) {
    const minutes = Math.max(0, Math.floor((Date.now() - new Date(since).getTime()) / 60000));
    if (minutes < 60) return text("minutes").replace("%(n)s", minutes);
    return text("hours").replace("%(h)s", Math.floor(minutes / 60)).replace("%(m)s", minutes % 60);
  }

  function tick() {
    document.querySelectorAll("[data-since]").forEach((node) => {
      const value = elapsed(node.dataset.since);
      if (node.textContent !== value) node.textContent = value;
    });
  }

  /* ---- What waits on the phone, shown on the cards ---- */

  function card(taskId, customerId) {
    return (
      (taskId && document.querySelector(`[data-task-card][data-task-id="${taskId}"]`)) ||
      (customerId && document.querySelector(`[data-task-card][data-customer-id="${customerId}"]:not(.is-closed)`)) ||
      null
    );
  }

  function mark(node, status, since) {
    if (!node) return;
    node.classList.add("is-pending");
    const label = node.querySelector("[data-task-status]");
    if (label) label.textContent = status;
    if (since && !node.querySelector("[data-since]")) {
      const meta = document.createElement("p");
      meta.className = "task-meta in-progress";
      const clock = document.createElement("span");
      clock.dataset.since = since;
      meta.append(clock);
      label.closest("p").after(meta);
    }
  }

  function recalledVisits(userId) {
    const visits = [];
    for (let i = 0; i < localStorage.length; i += 1) {
      const key = localStorage.key(i);
      if (!key || !key.startsWith(`fieldsales-visit:${userId}:`)) continue;
      try {
        visits.push(Object.assign({ customer_id: key.split(":")[2] }, JSON.parse(localStorage.getItem(key))));
      } catch (err) {
        /* not ours to read */
      }
    }
    return visits;
  }

  async function reflect() {
    const core = window.FieldsalesOutboxCore;
    if (!core || !document.getElementById("task-list")) return;
    let records = [];
    try {
      records = await core.all();
    } catch (err) {
      return;
    }
    for (const visit of recalledVisits(text("userId"))) {
      const node = card(visit.task_id, visit.customer_id);
      if (node && !node.classList.contains("is-in-progress")) mark(node, text("inProgress"), visit.checked_in_at);
    }
    const checkedOut = new Set(records.filter((r) => r.url.endsWith("/checkout")).map((r) => r.group));
    for (const record of records) {
      let node = null;
      let status = text("pendingStatus");
      if (record.url === "/api/v1/checkins" && record.body) {
        node = card(record.body.task_id, record.body.customer_id);
        status = checkedOut.has(record.group) ? text("pending") : text("inProgress");
      } else if (TASK_URL.test(record.url)) {
        node = card(TASK_URL.exec(record.url)[1]);
        if (node && record.body && record.body.status) node.classList.add(`is-${record.body.status}`);
      } else if (record.url.endsWith("/checkout")) {
        continue;
      }
      if (!node) continue;
      mark(node, record.state === "attention" ? text("attention") : status);
      node.querySelectorAll(".task-form button[type=submit]").forEach((button) => (button.disabled = true));
    }
    tick();
  }

  function onPage() {
    const list = document.getElementById("task-list");
    if (!list || list.dataset.seen) return;
    list.dataset.seen = "true";
    storeStops(list);
    reflect();
  }

  document.addEventListener("outbox:queued", (event) => {
    const form = event.target.closest(".task-form");
    const node = form && form.closest("[data-task-card]");
    if (!node) return;
    const status = form.dataset.nextStatus;
    node.classList.add("is-pending", `is-${status}`);
    node.querySelectorAll(".task-form button[type=submit]").forEach((button) => {
      button.disabled = true;
    });
  });
  // The card's one note box feeds the note of each of its forms (done, skip).
  document.addEventListener("input", (event) => {
    const shared = event.target.closest && event.target.closest("[data-shared-note]");
    const node = shared && shared.closest("[data-task-card]");
    if (node) node.querySelectorAll("input[data-note]").forEach((input) => (input.value = shared.value));
  });
  document.addEventListener("outbox:changed", reflect);
  document.addEventListener("htmx:load", onPage);
  setInterval(tick, 30000);
  onPage();
})();
