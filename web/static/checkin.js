/*
 * Check-in and check-out from the phone (/checkins/new and /checkins/{id}).
 * Check in: a GPS fix (10 s at most; without one the rep may go on, recorded as "no location"),
 * a client UUID and the device time, then the API directly when online, or the offline outbox
 * (window.fieldsalesOutbox) when offline or when the network or server fails. The server accepts
 * each id once, so sending the same request again, from here or from the outbox, is harmless.
 * Check out: the outcome form, sent the same way. While the check-in itself waits in the outbox,
 * the check-out joins it there, so the two reach the server in order.
 * Loaded from the page content (htmx runs it again after a boosted navigation): it binds
 * document-level listeners once and initialises each page element once.
 */
(function () {
  "use strict";

  if (window.fieldsalesCheckin) {
    window.fieldsalesCheckin.init();
    return;
  }

  const API = "/api/v1/checkins";
  const GEO_TIMEOUT_MS = 10000;
  // getCurrentPosition's own timeout starts after the permission prompt; this one covers a rep
  // who never answers the prompt.
  const GEO_HARD_LIMIT_MS = 30000;
  const OPEN_VISIT_MAX_AGE_MS = 12 * 60 * 60 * 1000;

  function text(key, fallback) {
    const holder = document.getElementById("checkin-text");
    return (holder && holder.dataset[key]) || fallback;
  }

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // crypto.randomUUID exists only in secure contexts (https, localhost).
  function newId() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  function localToday() {
    const now = new Date();
    return new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
  }

  /* ---- Open visits, remembered on the phone so a reload resumes instead of checking in twice ---- */

  const visitKey = (userId, customerId) => `fieldsales-visit:${userId}:${customerId}`;

  function recallVisit(userId, customerId) {
    try {
      const visit = JSON.parse(localStorage.getItem(visitKey(userId, customerId)) || "null");
      return visit && Date.now() - visit.saved_at < OPEN_VISIT_MAX_AGE_MS ? visit : null;
    } catch (err) {
      return null;
    }
  }

  function rememberVisit(userId, customerId, visit) {
    try {
      localStorage.setItem(visitKey(userId, customerId), JSON.stringify({ ...visit, saved_at: Date.now() }));
    } catch (err) {
      console.warn("Could not remember the open visit", err);
    }
  }

  function forgetVisit(userId, customerId) {
    try {
      localStorage.removeItem(visitKey(userId, customerId));
    } catch (err) {
      /* storage unavailable: nothing to forget */
    }
  }

  /* ---- Delivery: the API now, or the outbox for later ---- */

  async function post(url, body) {
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrfToken() },
        body: JSON.stringify(body),
        credentials: "same-origin",
        redirect: "manual", // an expired session redirects to the sign-in page: not a success
      });
      let json = null;
      try {
        json = await response.json();
      } catch (err) {
        /* not JSON: the status decides */
      }
      return { status: response.status, redirected: response.type === "opaqueredirect", json };
    } catch (err) {
      return null; // no network
    }
  }

  // done: stored. refused: the server rejected the data (show why). queued: kept for later;
  // "auth" when only signing in again will get it through.
  function verdict(result) {
    if (!result || result.redirected) return "queued";
    const status = result.status;
    if (status >= 200 && status < 300) return "done";
    if (status === 401 || status === 403) return "auth";
    if (status === 408 || status === 429 || status >= 500) return "queued";
    return "refused";
  }

  // `visit` = {id, label}: the check-in and its check-out share an outbox group, so a refused
  // check-in holds its check-out back instead of letting it fail too.
  async function deliver(url, body, visit, { viaOutbox = false } = {}) {
    let result = null;
    let outcome = "queued";
    if (!viaOutbox && navigator.onLine) {
      result = await post(url, body);
      outcome = verdict(result);
      if (outcome === "done" || outcome === "refused") return { outcome, result };
    }
    // Every queued request gets its own outbox id: the server identifies visits by the body.
    await window.fieldsalesOutbox.enqueue({
      id: newId(),
      url,
      method: "POST",
      body,
      group: visit.id,
      label: visit.label,
      meta: { customer_id: visit.customerId, task_id: visit.taskId || null },
    });
    if (outcome === "auth" && window.fieldsalesToast) window.fieldsalesToast(text("signIn", "Sign in again."), "error");
    return { outcome, result };
  }

  function problemText(result) {
    const problem = (result && result.json) || {};
    return problem.detail || text("failed", "Something went wrong");
  }

  /* ---- Check in ---- */

  function locate() {
    return new Promise((resolve) => {
      if (!navigator.geolocation) return resolve({ error: "unsupported" });
      const limit = setTimeout(() => resolve({ error: "timeout" }), GEO_HARD_LIMIT_MS);
      navigator.geolocation.getCurrentPosition(
        (position) => {
          clearTimeout(limit);
          resolve({ coords: position.coords });
        },
        (error) => {
          clearTimeout(limit);
          resolve({ error: error.code === 1 ? "denied" : error.code === 3 ? "timeout" : "unavailable" });
        },
        { enableHighAccuracy: true, timeout: GEO_TIMEOUT_MS, maximumAge: 30000 },
      );
    });
  }

  function part(root, role) {
    return root.querySelector(`[data-role="${role}"]`);
  }

  function setBusy(root, busy) {
    root.querySelectorAll("[data-step='check-in'] button").forEach((button) => (button.disabled = busy));
  }

  // The same note app.js adds to queued forms: app.js removes every one once the outbox is empty.
  function waitingNote(container, message) {
    if (container.querySelector(":scope > .outbox-note")) return;
    const note = document.createElement("p");
    note.className = "outbox-note";
    note.setAttribute("role", "status");
    note.textContent = message;
    container.querySelector(":scope > h2").after(note);
  }

  function showVisit(root, visit) {
    root.querySelector("[data-step='check-in']").hidden = true;
    const step = root.querySelector("[data-step='visit']");
    step.hidden = false;
    if (visit.queued) waitingNote(step, text("queued", "Checked in on this phone — waiting to sync"));
    const form = step.querySelector("form[data-checkout-form]");
    form.dataset.checkinId = visit.id;
    form.dataset.queued = visit.queued ? "true" : "false";
    if (!form.dataset.visitDate) form.dataset.visitDate = visit.visit_date;
    initCheckoutForm(form);
  }

  async function checkIn(root, ids, useLocation) {
    const status = part(root, "status");
    const error = part(root, "error");
    error.hidden = true;
    setBusy(root, true);
    const body = { id: newId(), customer_id: ids.customerId, checked_in_at: new Date().toISOString() };
    if (ids.taskId) body.task_id = ids.taskId;
    if (useLocation) {
      status.textContent = text("locating", "Finding your location…");
      const fix = await locate();
      if (fix.error) {
        root.dataset.geoError = fix.error;
        part(root, "no-fix-reason").textContent = text(fix.error, fix.error);
        part(root, "no-fix").hidden = false;
        status.textContent = "";
        setBusy(root, false);
        return;
      }
      body.lat = fix.coords.latitude;
      body.lng = fix.coords.longitude;
      if (fix.coords.accuracy != null) body.accuracy_m = fix.coords.accuracy;
      if (fix.coords.speed != null && fix.coords.speed >= 0) body.speed = fix.coords.speed;
    } else {
      body.geo_error = root.dataset.geoError || "unavailable";
    }
    status.textContent = text("sending", "Checking in…");
    let delivered;
    try {
      delivered = await deliver(API, body, { id: body.id, label: ids.name, customerId: ids.customerId, taskId: ids.taskId });
    } catch (err) {
      console.warn(err);
      delivered = { outcome: "refused", result: null };
    }
    status.textContent = "";
    setBusy(root, false);
    if (delivered.outcome === "refused") {
      error.textContent = problemText(delivered.result);
      error.hidden = false;
      return;
    }
    const visit = {
      id: body.id,
      queued: delivered.outcome !== "done",
      visit_date: localToday(),
      task_id: ids.taskId || null,
      customer_name: ids.name || "",
      checked_in_at: body.checked_in_at,
    };
    rememberVisit(root.dataset.userId, ids.customerId, visit);
    if (body.lat != null) showDistance(root, ids, body);
    if (delivered.outcome === "done") location.assign(`/checkins/${body.id}`);
    else showVisit(root, visit);
  }

  // Where the rep is against the stored customer location, said before the server says it:
  // out of range still counts, and says so without sounding like an accusation.
  function showDistance(root, ids, body) {
    if (ids.lat == null || ids.lng == null) return;
    const metres = haversine(ids.lat, ids.lng, body.lat, body.lng);
    const allowed = (ids.radius_m || 200) + Math.min(body.accuracy_m || 0, 100);
    const note = part(root, "distance");
    if (!note) return;
    note.textContent = (metres <= allowed ? text("inRange", "") : text("outOfRange", "")).replace("%(distance)s", formatDistance(metres));
    note.hidden = false;
  }

  function haversine(lat1, lng1, lat2, lng2) {
    const rad = (deg) => (deg * Math.PI) / 180;
    const a = Math.sin(rad(lat2 - lat1) / 2) ** 2 + Math.cos(rad(lat1)) * Math.cos(rad(lat2)) * Math.sin(rad(lng2 - lng1) / 2) ** 2;
    return 2 * 6371008.8 * Math.asin(Math.sqrt(a));
  }

  function formatDistance(metres) {
    const lang = document.documentElement.lang || undefined;
    return metres < 1000
      ? `${new Intl.NumberFormat(lang, { maximumFractionDigits: 0 }).format(metres)} m`
      : `${new Intl.NumberFormat(lang, { maximumFractionDigits: 1 }).format(metres / 1000)} km`;
  }

  // The stop this page is for. The address says what the rep tapped; the page itself may be
  // the offline shell, or (in an old cache) a page saved for another stop, so its contents
  // only count when they were rendered for exactly this stop. Otherwise the ids, name and
  // location come from the stop stored on the phone when Today loaded — the task's own
  // customer, whatever the address's customer_id says.
  async function resolveStop(root) {
    const params = new URLSearchParams(location.search);
    const wantTask = params.get("task_id") || "";
    const wantCustomer = params.get("customer_id") || "";
    const rendered = root.dataset.customerId || "";
    if (rendered && rendered === wantCustomer && (root.dataset.taskId || "") === wantTask) {
      return {
        customerId: rendered,
        taskId: wantTask,
        name: part(root, "customer-name").textContent.trim(),
        lat: numberOrNull(root.dataset.lat),
        lng: numberOrNull(root.dataset.lng),
        radius_m: numberOrNull(root.dataset.radius),
      };
    }
    const core = window.FieldsalesOutboxCore;
    try {
      if (wantTask) {
        const stop = await core.stop(wantTask);
        if (stop) return Object.assign({ customerId: stop.customer_id, taskId: stop.task_id, title: stop.title }, stop.customer);
      } else if (wantCustomer) {
        const customer = await core.customer(wantCustomer);
        if (customer) return Object.assign({ customerId: customer.id, taskId: "" }, customer);
      }
    } catch (err) {
      console.warn("Stored stops unavailable", err);
    }
    return null;
  }

  function numberOrNull(value) {
    return value === undefined || value === "" ? null : Number(value);
  }

  function fill(root, stop) {
    part(root, "customer-name").textContent = stop.name || "";
    const address = part(root, "customer-address");
    address.textContent = stop.address || "";
    address.hidden = !stop.address;
    const title = part(root, "task-title");
    title.textContent = stop.title || "";
    title.hidden = !stop.title;
    document.title = `${stop.name} · ${document.title.split(" · ").pop()}`;
  }

  function unknownStop(root) {
    part(root, "customer-name").textContent = text("stopUnsaved", "This stop is not saved on this phone.");
    ["customer-address", "task-title"].forEach((role) => (part(root, role).hidden = true));
    root.querySelector("[data-step='check-in']").hidden = true;
    part(root, "unsaved").hidden = false;
  }

  // A visit whose check-out the server refused is still this customer's open visit.
  async function refusedVisit(customerId) {
    try {
      const record = (await window.FieldsalesOutboxCore.attention()).find((r) => r.meta && r.meta.customer_id === customerId);
      return record ? { id: record.group, queued: false, visit_date: localToday() } : null;
    } catch (err) {
      return null;
    }
  }

  async function initCheckin(root) {
    const renderedFor = root.dataset.customerId;
    const stop = await resolveStop(root);
    if (!stop) return unknownStop(root);
    if (root.dataset.customerId !== stop.customerId || (root.dataset.taskId || "") !== (stop.taskId || "")) fill(root, stop);
    // From here on the page is this stop's, whatever was served.
    root.dataset.customerId = stop.customerId;
    root.dataset.taskId = stop.taskId || "";
    root.dataset.visitCustomerId = stop.customerId;
    if (window.fieldsalesVisitForms) window.fieldsalesVisitForms.filter(root, stop.grade, stop.status); // the shell has every form
    if (stop.largest_order != null) root.dataset.largestOrder = stop.largest_order;
    if (stop.ceiling != null) root.dataset.amountCeiling = stop.ceiling;
    const ids = stop;
    // The server knows of an open visit here (a page rendered for this very stop says so).
    const onServer = root.dataset.openVisitId && renderedFor === stop.customerId
      ? { id: root.dataset.openVisitId, queued: false, visit_date: root.dataset.openVisitDate }
      : null;
    const open = recallVisit(root.dataset.userId, stop.customerId) || onServer || (await refusedVisit(stop.customerId));
    if (open) showVisit(root, open);
    root.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (!button || button.disabled) return;
      if (button.dataset.action === "check-in") checkIn(root, ids, true);
      else if (button.dataset.action === "check-in-without-location") checkIn(root, ids, false);
    });
    root.dataset.ready = "true";
  }

  /* ---- Check out ---- */

  function showErrors(form, errors) {
    for (const [field, message] of Object.entries(errors)) {
      const slot = form.querySelector(`[data-error-for="${field}"]`);
      const control = form.elements.namedItem(field);
      if (control && control.setAttribute) control.setAttribute("aria-invalid", "true");
      if (slot) {
        slot.textContent = message;
        slot.hidden = false;
      } else {
        const general = form.querySelector("[data-role='form-error']");
        general.textContent = `${general.textContent} ${message}`.trim();
        general.hidden = false;
      }
    }
    const first = form.querySelector("[aria-invalid='true']:not([type='hidden'])"); // a photo question has nothing to focus
    if (first && first.focus) first.focus();
  }

  function clearErrors(form) {
    form.querySelectorAll("[data-error-for], [data-role='form-error']").forEach((slot) => {
      slot.textContent = "";
      slot.hidden = true;
    });
    form.querySelectorAll("[aria-invalid]").forEach((control) => control.removeAttribute("aria-invalid"));
  }

  // The JSON body and the mistakes the phone can spot itself (the server checks everything again).
  function collect(form) {
    const data = new FormData(form);
    const value = (name) => String(data.get(name) || "").trim();
    const body = { checked_out_at: new Date().toISOString(), outcome: value("outcome") };
    const errors = {};
    if (!body.outcome) errors.outcome = text("outcomeRequired", "Choose an outcome.");
    if (body.outcome === "order") {
      const amount = value("order_amount").replace(",", ".");
      if (!amount) errors.order_amount = text("amountRequired", "Enter the order amount.");
      else if (!/^\d+(\.\d{1,2})?$/.test(amount) || Number(amount) <= 0) errors.order_amount = text("amountInvalid", "Enter an amount.");
      else body.order_amount = amount; // a string: a Decimal on the server, never a float
    }
    for (const name of ["notes", "next_step", "next_step_due"]) if (value(name)) body[name] = value(name);
    const pair = text("nextStepPair", "Enter both the next step and its due date.");
    if (body.next_step && !body.next_step_due) errors.next_step_due = pair;
    if (body.next_step_due && !body.next_step) errors.next_step = pair;
    const min = form.elements.namedItem("next_step_due").min;
    if (body.next_step_due && min && body.next_step_due < min) errors.next_step_due = text("dueBeforeVisit", "Pick a date from the visit on.");
    if (window.fieldsalesVisitForms) window.fieldsalesVisitForms.collect(form, body, errors); // answers travel with the check-out
    // A deal created or moved on at this visit (visit-deal.js), sent in the same body.
    const deal = window.fieldsalesVisitDeal && window.fieldsalesVisitDeal.collect(form, errors);
    if (deal) body.opportunity = deal;
    return { body, errors };
  }

  function toggleAmount(form) {
    const isOrder = (form.querySelector("input[name='outcome']:checked") || {}).value === "order";
    const field = form.querySelector("[data-order-only]");
    field.hidden = !isOrder;
    form.elements.namedItem("order_amount").required = isOrder;
  }

  function showCheckedOut(form) {
    form.hidden = true;
    const done = form.parentElement.querySelector("[data-role='checked-out']");
    done.hidden = false;
    waitingNote(done, text("checkoutQueued", "Waiting to sync"));
  }

  /* ---- "Did you mean …?": an amount far above the customer's history ---- */

  // The page's (or the stored stop's) figures: the customer's largest order of 365 days and the
  // company's ceiling. The server applies the same rule, so a stale figure only asks once more.
  function amountLimits(form) {
    const holder = form.closest("[data-checkin], [data-visit]") || form;
    const number = (value) => (value === undefined || value === "" ? null : Number(value));
    return { largest: number(holder.dataset.largestOrder), ceiling: number(holder.dataset.amountCeiling) };
  }

  function needsConfirmation(amount, largest, ceiling) {
    return ceiling !== null && Number(amount) > 10 * (largest || 0) && Number(amount) >= ceiling;
  }

  function money(value) {
    const lang = document.documentElement.lang || undefined;
    return new Intl.NumberFormat(lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(Number(value));
  }

  function askAmount(form, amount, largest) {
    const box = form.querySelector("[data-role='confirm-amount']");
    const suggestion = (Math.round(Number(amount) * 10) / 100).toFixed(2); // the extra zero typed
    box.querySelector("[data-role='confirm-question']").textContent = text("didYouMean", "")
      .replace("%(suggestion)s", money(suggestion))
      .replace("%(amount)s", money(amount))
      .replace("%(largest)s", money(largest || 0));
    const use = box.querySelector("[data-action='use-suggestion']");
    use.textContent = text("useSuggestion", "").replace("%(suggestion)s", money(suggestion));
    use.dataset.value = suggestion;
    box.querySelector("[data-action='confirm-amount']").textContent = text("amountIsRight", "").replace("%(amount)s", money(amount));
    box.hidden = false;
    box.querySelector("[data-action='confirm-amount']").focus();
  }

  async function checkOut(form) {
    clearErrors(form);
    const { body, errors } = collect(form);
    if (Object.keys(errors).length) return showErrors(form, errors);
    const id = form.dataset.checkinId;
    const root = form.closest("[data-checkin]");
    if (body.order_amount) {
      if (form.dataset.amountConfirmed === body.order_amount) body.amount_confirmed = true;
      else {
        const limits = amountLimits(form);
        if (needsConfirmation(body.order_amount, limits.largest, limits.ceiling)) return askAmount(form, body.order_amount, limits.largest);
      }
    }
    if (form.dataset.resendId) return resend(form, body);
    const button = form.querySelector("button[type='submit']");
    button.disabled = true;
    let delivered;
    try {
      const page = form.closest("[data-checkin], [data-visit]");
      const visit = { id, label: visitLabel(form), customerId: page && page.dataset.customerId, taskId: page && page.dataset.taskId };
      delivered = await deliver(`${API}/${id}/checkout`, body, visit, { viaOutbox: form.dataset.queued === "true" });
    } catch (err) {
      console.warn(err);
      delivered = { outcome: "refused", result: { json: { detail: text("failed", "Something went wrong") } } };
    }
    button.disabled = false;
    if (delivered.outcome === "refused") {
      const refusal = (delivered.result && delivered.result.json) || {};
      if (refusal.needs_confirmation) return askAmount(form, body.order_amount, refusal.largest_recent_order);
      // The server has no such check-in (its own sending was refused): stop resuming this visit.
      if (root && delivered.result && delivered.result.status === 404) forgetVisit(root.dataset.userId, root.dataset.visitCustomerId);
      return showErrors(form, problemFields((delivered.result && delivered.result.json) || {}, problemText(delivered.result)));
    }
    if (root) forgetVisit(root.dataset.userId, root.dataset.visitCustomerId);
    if (delivered.outcome === "done") location.assign(`/checkins/${id}`);
    else showCheckedOut(form);
  }

  function visitLabel(form) {
    const heading = document.querySelector("[data-role='customer-name'], .page-head h1");
    return (heading && heading.textContent.trim()) || form.dataset.checkinId;
  }

  function problemFields(problem, fallback) {
    const fields = Object.fromEntries((problem.errors || []).map((e) => [e.field, e.message]));
    return Object.keys(fields).length ? fields : { form: problem.detail || fallback };
  }

  /* ---- Refused by the server on replay: everything typed comes back, with the reasons ---- */

  async function refusedFor(visitId) {
    try {
      return (await window.FieldsalesOutboxCore.attention()).filter((record) => record.group === visitId);
    } catch (err) {
      return [];
    }
  }

  function fillForm(form, body) {
    for (const [name, value] of Object.entries(body)) {
      const control = form.elements.namedItem(name);
      if (!control) continue;
      if (control instanceof RadioNodeList) {
        control.forEach((radio) => (radio.checked = radio.value === String(value)));
      } else if (control.type !== "hidden") control.value = value;
    }
    if (window.fieldsalesVisitForms) window.fieldsalesVisitForms.fill(form, body.answers);
    toggleAmount(form);
  }

  // Shows a refused check-out (or the refused check-in that holds it) in the form; true if any.
  async function restoreRefused(form) {
    const visitId = form.dataset.checkinId;
    if (!visitId) return false;
    const refused = await refusedFor(visitId);
    if (!refused.length) return false;
    const checkout = refused.find((record) => record.url.endsWith("/checkout"));
    const arrival = refused.find((record) => !record.url.endsWith("/checkout"));
    form.hidden = false;
    const done = form.parentElement.querySelector("[data-role='checked-out']");
    if (done) done.hidden = true;
    clearErrors(form);
    const attention = form.querySelector("[data-role='attention']");
    attention.hidden = false;
    if (checkout) {
      fillForm(form, checkout.body);
      form.dataset.resendId = checkout.id;
      form.dataset.checkedOutAt = checkout.body.checked_out_at;
    }
    const problem = (arrival || checkout).problem || {};
    if (!arrival && problem.needs_confirmation) {
      askAmount(form, checkout.body.order_amount, problem.largest_recent_order);
    }
    showErrors(form, arrival ? { form: `${text("checkinRefused", "")} ${problem.detail || ""}`.trim() } : problemFields(problem, text("failed", "")));
    form.querySelector("[data-action='discard']").hidden = false;
    return true;
  }

  // The fixed check-out goes back to the outbox in its old place, keeping the time the rep left.
  async function resend(form, body) {
    const core = window.FieldsalesOutboxCore;
    body.checked_out_at = form.dataset.checkedOutAt || body.checked_out_at;
    await core.resend(form.dataset.resendId, body);
    delete form.dataset.resendId;
    form.querySelector("[data-role='attention']").hidden = true;
    form.querySelector("[data-action='discard']").hidden = true;
    await window.fieldsalesOutbox.flush();
    if (await restoreRefused(form)) return;
    if (navigator.onLine && (await core.count()) === 0) location.assign(`/checkins/${form.dataset.checkinId}`);
    else showCheckedOut(form);
  }

  async function discardRefused(form) {
    if (!window.confirm(text("discardConfirm", "Discard?"))) return;
    const core = window.FieldsalesOutboxCore;
    for (const record of await refusedFor(form.dataset.checkinId)) await core.discard(record.id);
    delete form.dataset.resendId;
    await window.fieldsalesOutbox.flush();
    location.assign("/");
  }

  function initCheckoutForm(form) {
    if (form.dataset.bound) return;
    form.dataset.bound = "true";
    const due = form.elements.namedItem("next_step_due");
    if (!due.min) due.min = form.dataset.visitDate || localToday();
    form.addEventListener("change", () => toggleAmount(form));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      checkOut(form);
    });
    form.querySelector("[data-action='discard']").addEventListener("click", () => discardRefused(form));
    form.querySelector("[data-action='use-suggestion']").addEventListener("click", (event) => {
      form.elements.namedItem("order_amount").value = event.target.dataset.value;
      form.querySelector("[data-role='confirm-amount']").hidden = true;
      form.elements.namedItem("order_amount").focus();
    });
    form.querySelector("[data-action='confirm-amount']").addEventListener("click", () => {
      form.dataset.amountConfirmed = String(form.elements.namedItem("order_amount").value).trim().replace(",", ".");
      form.querySelector("[data-role='confirm-amount']").hidden = true;
      checkOut(form);
    });
    toggleAmount(form);
    restoreRefused(form).then((refused) => refused || reflectWaiting(form));
  }

  // A saved visit page opened again while its check-out still waits on the phone: say so,
  // instead of offering the form a second time.
  async function reflectWaiting(form) {
    const visitId = form.dataset.checkinId;
    if (!visitId || !window.FieldsalesOutboxCore) return;
    try {
      const waiting = (await window.FieldsalesOutboxCore.all()).some(
        (record) => record.group === visitId && record.state !== "attention" && record.url.endsWith("/checkout"),
      );
      if (waiting) showCheckedOut(form);
    } catch (err) {
      /* no IndexedDB: nothing waits here */
    }
  }

  /* ---- Pages ---- */

  function init() {
    document.querySelectorAll("[data-checkin]:not([data-bound])").forEach((root) => {
      root.dataset.bound = "true";
      initCheckin(root);
    });
    document.querySelectorAll("[data-visit] form[data-checkout-form]").forEach(initCheckoutForm);
  }

  // When the outbox drains, what waited has reached the server: show the server's view of it.
  // A change refused on the way stays on the phone and comes back into its form instead.
  document.addEventListener("outbox:changed", (event) => {
    if (event.detail.count !== 0) return;
    document.querySelectorAll("form[data-checkout-form][data-checkin-id]").forEach(async (form) => {
      const id = form.dataset.checkinId;
      if (!id || form.dataset.resendId) return;
      if (await restoreRefused(form)) return;
      if (form.hidden) location.assign(`/checkins/${id}`);
      else if (form.dataset.queued === "true") {
        form.dataset.queued = "false";
        const root = form.closest("[data-checkin]");
        if (root) {
          rememberVisit(root.dataset.userId, root.dataset.visitCustomerId, { id, queued: false, visit_date: form.dataset.visitDate });
        }
      }
    });
  });

  document.addEventListener("htmx:load", init);
  window.fieldsalesCheckin = { init };
  init();
})();
