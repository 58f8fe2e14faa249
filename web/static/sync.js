/*
 * /sync: the changes the server refused, from the IndexedDB outbox. Each shows the server's reason
 * next to the field it names and the values that were sent, editable; "Send again" puts the
 * corrected change back in its place in the queue, "Discard" removes it after a confirmation.
 * A refused check-out links to its visit, whose form shows everything typed (checkin.js).
 * Loaded from the page content (htmx may run it again): it renders on every run.
 */
(function () {
  "use strict";

  const core = window.FieldsalesOutboxCore;
  const text = (key) => (document.getElementById("sync-text") || { dataset: {} }).dataset[key] || "";

  function kindOf(record) {
    if (record.url.endsWith("/checkout")) return text("checkout");
    if (record.url.endsWith("/photos")) return text("photo") || text("change");
    if (record.url === "/api/v1/checkins") return text("checkin");
    if (record.url.startsWith("/api/v1/tasks/") || record.url === "/api/v1/me/tasks") return text("task");
    return text("change");
  }

  function field(form, name, value, message) {
    const id = `sync-${form.dataset.id}-${name}`;
    const wrap = document.createElement("div");
    wrap.className = "field";
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = name;
    const input = document.createElement(String(value).length > 60 ? "textarea" : "input");
    input.id = id;
    input.name = name;
    input.value = typeof value === "object" ? JSON.stringify(value) : String(value);
    input.dataset.type = typeof value;
    wrap.append(label, input);
    if (message) {
      input.setAttribute("aria-invalid", "true");
      const error = document.createElement("p");
      error.className = "field-error";
      error.textContent = message;
      wrap.append(error);
    }
    form.append(wrap);
  }

  function bodyOf(form, original) {
    const body = Object.assign({}, original);
    form.querySelectorAll("input, textarea").forEach((input) => {
      const raw = input.value;
      if (input.dataset.type === "number") body[input.name] = Number(raw);
      else if (input.dataset.type === "object" || input.dataset.type === "boolean") {
        try {
          body[input.name] = JSON.parse(raw);
        } catch (err) {
          body[input.name] = raw;
        }
      } else if (raw === "") delete body[input.name];
      else body[input.name] = raw;
    });
    return body;
  }

  async function render() {
    const list = document.getElementById("attention-list");
    if (!list || !core) return;
    const records = await core.attention();
    list.replaceChildren();
    document.getElementById("attention-empty").hidden = records.length > 0;
    const template = document.getElementById("attention-item");
    for (const record of records) {
      const item = template.content.firstElementChild.cloneNode(true);
      const problem = record.problem || {};
      const errors = Object.fromEntries((problem.errors || []).map((e) => [e.field, e.message]));
      item.querySelector("[data-role='label']").textContent = `${kindOf(record)}${record.label ? ` · ${record.label}` : ""}`;
      item.querySelector("[data-role='detail']").textContent = problem.detail || String(problem.status || "");
      const form = item.querySelector("form");
      form.dataset.id = record.id;
      for (const [name, value] of Object.entries(record.body || {})) {
        if (name === "id" || name.endsWith("_id") || name === "checked_in_at" || name === "checked_out_at") continue;
        if (value instanceof Blob) continue; // a photo: kept as it is, not editable here
        field(form, name, value, errors[name]);
      }
      const meta = record.meta || {};
      if (record.url.endsWith("/checkout") && meta.customer_id) {
        const open = item.querySelector("[data-role='open']");
        open.href = `/checkins/new?customer_id=${meta.customer_id}${meta.task_id ? `&task_id=${meta.task_id}` : ""}`;
        open.hidden = false;
      }
      item.querySelector("[data-action='resend']").addEventListener("click", async () => {
        await core.resend(record.id, bodyOf(form, record.body));
        await window.fieldsalesOutbox.flush();
        render();
      });
      item.querySelector("[data-action='discard']").addEventListener("click", async () => {
        if (!window.confirm(text("discardConfirm"))) return;
        await core.discard(record.id);
        await window.fieldsalesOutbox.refresh();
        render();
      });
      list.append(item);
    }
  }

  if (!window.fieldsalesSyncReady) {
    window.fieldsalesSyncReady = true;
    document.addEventListener("outbox:changed", render);
  }
  render();
})();
