/*
 * Outbox core: the IndexedDB queue of changes made offline, and its replay rules.
 * Loaded by pages (<script src>) and by the service worker (importScripts), so the page's
 * "back online" replay and the worker's Background Sync replay follow exactly the same rules.
 * Touches no DOM: callers decide how to show results.
 */
(function (scope) {
  "use strict";

  const DB_NAME = "fieldsales";
  const DB_VERSION = 2;
  const OUTBOX = "outbox"; // the queued requests, keyed by an auto-increment seq (= insertion order)
  const KV = "kv"; // small facts the worker cannot read from a page, e.g. the latest CSRF token
  const NOTICES = "notices"; // rejected changes, kept until a page has shown them to the user
  // What a visit needs offline, stored whenever Today (or a customer page) loads online:
  // today's stops keyed by task id, and customers keyed by id (see docs/pwa.md).
  const STOPS = "stops";
  const CUSTOMERS = "customers";
  const BASE_DELAY_MS = 2000;
  const MAX_DELAY_MS = 5 * 60 * 1000;
  // A request stuck on a bad connection must not hold the queue (and its lock) forever.
  const REQUEST_TIMEOUT_MS = 20000;

  let dbPromise = null;

  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        const request = indexedDB.open(DB_NAME, DB_VERSION);
        request.onupgradeneeded = (event) => {
          const db = request.result;
          if (event.oldVersion < 1) {
            const outbox = db.createObjectStore(OUTBOX, { keyPath: "seq", autoIncrement: true });
            outbox.createIndex("id", "id", { unique: true });
            db.createObjectStore(KV);
            db.createObjectStore(NOTICES, { autoIncrement: true });
          }
          if (event.oldVersion < 2) {
            db.createObjectStore(STOPS, { keyPath: "task_id" });
            db.createObjectStore(CUSTOMERS, { keyPath: "id" });
          }
        };
        request.onsuccess = () => {
          const db = request.result;
          // Let a newer version of this script (in another tab or the worker) upgrade the schema.
          db.onversionchange = () => {
            db.close();
            dbPromise = null;
          };
          resolve(db);
        };
        request.onerror = () => {
          dbPromise = null;
          reject(request.error);
        };
      });
    }
    return dbPromise;
  }

  // One transaction on one store; resolves with the result of the request `work` returns,
  // once the transaction has committed (not merely when the request succeeded).
  function run(storeName, mode, work) {
    return openDb().then(
      (db) =>
        new Promise((resolve, reject) => {
          const tx = db.transaction(storeName, mode);
          const request = work(tx.objectStore(storeName));
          tx.oncomplete = () => resolve(request ? request.result : undefined);
          tx.onerror = tx.onabort = () => reject(tx.error);
        }),
    );
  }

  function backoffDelay(attempts) {
    return Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(0, attempts - 1));
  }

  // `group` ties requests that must go together (a visit's check-in and check-out): while one of
  // a group needs the user's attention, the rest of the group waits behind it.
  // `encoding: "multipart"` sends `body` as multipart/form-data (a Blob value is a file part):
  // a photo waits in IndexedDB as a Blob, not as text.
  async function enqueue({ id, url, method = "POST", body = {}, headers = {}, device_time, group = null, label = null, meta = null, encoding = "json" }) {
    method = method.toUpperCase();
    // A GET can't carry a body: fetch would throw on every replay and block the queue for good.
    if (!url || method === "GET" || method === "HEAD") throw new TypeError("outbox needs a url and a write method");
    const now = new Date().toISOString();
    const record = {
      id: id || crypto.randomUUID(),
      url,
      method,
      body,
      headers,
      device_time: device_time || now,
      created_at: now,
      attempts: 0,
      next_attempt_at: 0,
      group,
      label, // what the user sees when it needs attention (e.g. the customer's name)
      meta, // where it belongs, e.g. {customer_id, task_id} of a visit
      encoding,
      state: "pending", // pending | attention (refused by the server: kept until fixed or discarded)
      problem: null,
    };
    record.seq = await run(OUTBOX, "readwrite", (store) => store.add(record));
    return record;
  }

  const all = () => run(OUTBOX, "readonly", (store) => store.getAll());
  const needsAttention = (record) => record.state === "attention";
  // Waiting to sync: everything not held for the user's attention.
  const count = async () => (await all()).filter((record) => !needsAttention(record)).length;
  const attention = async () => (await all()).filter(needsAttention);
  const clear = () =>
    Promise.all([OUTBOX, STOPS, CUSTOMERS, NOTICES].map((name) => run(name, "readwrite", (store) => store.clear())));

  async function find(id) {
    return (await all()).find((record) => record.id === id) || null;
  }

  // The user fixed a refused change: it goes back in the queue, in its old place, with the body
  // they corrected; or they discarded it, explicitly.
  async function resend(id, body) {
    const record = await find(id);
    if (!record) return null;
    Object.assign(record, { body: body || record.body, state: "pending", problem: null, attempts: 0, next_attempt_at: 0 });
    await run(OUTBOX, "readwrite", (store) => store.put(record));
    return record;
  }

  async function discard(id) {
    const record = await find(id);
    if (record) await run(OUTBOX, "readwrite", (store) => store.delete(record.seq));
    return Boolean(record);
  }

  /* ---- Stops and customers for offline visits ---- */

  // Replaces the stored day: only the latest Today is kept (the phone may be shared; signing
  // out clears it). Each stop's customer is stored too, for walk-in visits and the customer page.
  async function saveStops(stops) {
    await run(STOPS, "readwrite", (store) => {
      store.clear();
      stops.forEach((stop) => store.put(stop));
    });
    await saveCustomers(stops.map((stop) => Object.assign({ id: stop.customer_id }, stop.customer)));
  }

  const saveCustomers = (customers) =>
    run(CUSTOMERS, "readwrite", (store) => {
      customers.forEach((customer) => store.put(customer));
    });
  const stop = (taskId) => run(STOPS, "readonly", (store) => store.get(taskId));
  const stops = () => run(STOPS, "readonly", (store) => store.getAll());
  const customer = (id) => run(CUSTOMERS, "readonly", (store) => store.get(id));
  const kvGet = (key) => run(KV, "readonly", (store) => store.get(key));
  const kvSet = (key, value) => run(KV, "readwrite", (store) => store.put(value, key));

  function takeNotices() {
    return run(NOTICES, "readwrite", (store) => {
      const request = store.getAll();
      store.clear();
      return request;
    });
  }

  // Page and worker may both start a replay at once (an `online` event and a `sync` event);
  // the Web Locks API makes them take turns so nothing is sent twice by us.
  function exclusive(work) {
    const locks = scope.navigator && scope.navigator.locks;
    return locks ? locks.request("fieldsales-outbox", work) : work();
  }

  async function send(record, csrfToken) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    const multipart = record.encoding === "multipart";
    const headers = Object.assign({}, record.headers, {
      Accept: "application/json",
      "X-Client-Id": record.id,
      "X-Device-Time": record.device_time,
    });
    if (!multipart) headers["Content-Type"] = "application/json"; // multipart: fetch sets the boundary
    if (csrfToken) headers["X-CSRF-Token"] = csrfToken;
    try {
      return await fetch(record.url, {
        method: record.method,
        headers,
        body: multipart ? formData(record.body) : JSON.stringify(record.body),
        credentials: "same-origin",
        // An expired session redirects to the sign-in page with a 200: following it would look
        // like success and delete the change.
        redirect: "manual",
        signal: controller.signal,
      });
    } catch (err) {
      return null; // network failure or timeout: same treatment, try again later
    } finally {
      clearTimeout(timer);
    }
  }

  function formData(body) {
    const form = new FormData();
    for (const [name, value] of Object.entries(body || {})) {
      if (value instanceof Blob) form.append(name, value, `${name}.${(value.type.split("/")[1] || "bin").replace("jpeg", "jpg")}`);
      else if (value !== null && value !== undefined) form.append(name, String(value));
    }
    return form;
  }

  // sent: delete. retry: keep, back off, stop. auth: keep, stop (the user must sign in again;
  // dropping would lose work done offline). rejected: the server refused the data itself.
  function classify(response) {
    if (!response) return "retry";
    const status = response.status;
    if (response.type === "opaqueredirect" || status === 401 || status === 403) return "auth";
    if (status >= 200 && status < 300) return "sent";
    if (status === 408 || status === 429 || status >= 500) return "retry";
    return "rejected";
  }

  // {detail, errors: [{field, message}]} from a problem+json answer (empty when it is not one).
  async function problemOf(response) {
    try {
      const problem = await response.json();
      return {
        detail: problem.detail || problem.title || "",
        errors: Array.isArray(problem.errors) ? problem.errors : [],
        needs_confirmation: Boolean(problem.needs_confirmation),
        largest_recent_order: problem.largest_recent_order || null,
      };
    } catch (err) {
      return { detail: "", errors: [] };
    }
  }

  /**
   * Replay queued changes in insertion order, one at a time, stopping at the first that can't
   * be delivered now. `force` ignores back-off (used when connectivity has just come back).
   * Resolves to {sent, rejected, stopped: null|"backoff"|"retry"|"auth", retryAt}.
   */
  function flush({ csrfToken, force = false } = {}) {
    return exclusive(async () => {
      const token = csrfToken || (await kvGet("csrf"));
      const result = { sent: 0, rejected: 0, stopped: null, retryAt: 0 };
      const held = new Set(); // groups with a change waiting for the user
      for (const record of await all()) {
        if (needsAttention(record) || (record.group && held.has(record.group))) {
          if (record.group) held.add(record.group);
          continue;
        }
        if (!force && record.next_attempt_at > Date.now()) {
          return Object.assign(result, { stopped: "backoff", retryAt: record.next_attempt_at });
        }
        const response = await send(record, token);
        const outcome = classify(response);
        if (outcome === "retry" || outcome === "auth") {
          record.attempts += 1;
          record.next_attempt_at = Date.now() + backoffDelay(record.attempts);
          await run(OUTBOX, "readwrite", (store) => store.put(record));
          return Object.assign(result, { stopped: outcome, retryAt: record.next_attempt_at });
        }
        if (outcome === "rejected") {
          // Never dropped: what the rep typed stays on the phone, with the server's reasons,
          // until they fix and resend it or discard it themselves.
          record.state = "attention";
          record.problem = Object.assign({ status: response.status }, await problemOf(response));
          await run(OUTBOX, "readwrite", (store) => store.put(record));
          const notice = { status: response.status, detail: record.problem.detail, url: record.url, id: record.id };
          await run(NOTICES, "readwrite", (store) => store.add(notice));
          if (record.group) held.add(record.group);
          result.rejected += 1;
          continue;
        }
        result.sent += 1;
        await run(OUTBOX, "readwrite", (store) => store.delete(record.seq));
      }
      return result;
    });
  }

  scope.FieldsalesOutboxCore = {
    enqueue,
    count,
    all,
    attention,
    resend,
    discard,
    clear,
    saveStops,
    saveCustomers,
    stop,
    stops,
    customer,
    flush,
    takeNotices,
    kvGet,
    rememberCsrfToken: (token) => (token ? kvSet("csrf", token) : Promise.resolve()),
  };
})(self);
