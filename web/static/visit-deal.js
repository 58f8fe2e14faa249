/*
 * The deal part of the check-out form (templates/pipeline/_checkout_deal.html): pick none, a new
 * deal, or one of the customer's open deals, and checkin.js sends it as `opportunity` in the
 * check-out body, through the same outbox when offline. The deal and stage lists come from the
 * API when online and are kept on the phone (localStorage) for visits without a signal.
 */
(() => {
  "use strict";

  const STAGES_KEY = "fieldsales:deal-stages";
  const dealsKey = (customerId) => `fieldsales:deals:${customerId}`;

  async function fetchJson(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    return response.json();
  }

  // Fresh from the API, saved for later; the saved copy when offline.
  async function cached(key, url) {
    try {
      const value = await fetchJson(url);
      localStorage.setItem(key, JSON.stringify(value));
      return value;
    } catch (err) {
      try {
        return JSON.parse(localStorage.getItem(key) || "null");
      } catch (parseErr) {
        return null;
      }
    }
  }

  function option(value, label) {
    const element = document.createElement("option");
    element.value = value;
    element.textContent = label;
    return element;
  }

  async function load(box) {
    const page = box.closest("[data-checkin], [data-visit]");
    const customerId = page && page.dataset.customerId;
    if (!customerId || box.dataset.loadedFor === customerId) return;
    box.dataset.loadedFor = customerId;
    const [stages, deals] = await Promise.all([
      cached(STAGES_KEY, "/api/v1/pipeline/stages"),
      cached(dealsKey(customerId), `/api/v1/opportunities?customer_id=${customerId}&status=open&limit=50`),
    ]);
    const labels = JSON.parse(box.dataset.stageLabels || "{}"); // the default stages, translated
    const label = (name) => labels[name] || name;
    const stageSelect = box.querySelector("[name='opportunity.stage']");
    stageSelect.replaceChildren(...(stages || []).filter((s) => s.active && s.kind !== "lost").map((s) => option(s.name, `${label(s.name)} · ${s.default_probability}%`)));
    const dealSelect = box.querySelector("[name='deal']");
    const chosen = dealSelect.value;
    const keep = Array.from(dealSelect.options).slice(0, 2);
    const open = ((deals && deals.items) || []).map((d) => {
      const item = option(d.id, `${d.title} · ${label(d.stage)}`);
      item.dataset.stage = d.stage;
      item.dataset.amount = d.amount;
      item.dataset.expectedClose = d.expected_close || "";
      return item;
    });
    dealSelect.replaceChildren(...keep, ...open);
    dealSelect.value = chosen; // re-inserting options must not change the rep's choice
    toggle(box);
    box.dataset.ready = "true";
  }

  function toggle(box) {
    const choice = box.querySelector("[name='deal']");
    const picked = choice.selectedOptions[0];
    box.querySelector("[data-deal-fields]").hidden = !choice.value;
    box.querySelector("[data-deal-new-only]").hidden = choice.value !== "new";
    if (picked && picked.dataset.stage) {
      box.querySelector("[name='opportunity.stage']").value = picked.dataset.stage;
      box.querySelector("[name='opportunity.amount']").value = picked.dataset.amount;
      box.querySelector("[name='opportunity.expected_close']").value = picked.dataset.expectedClose;
    }
  }

  // The `opportunity` of the check-out body (null: no deal), adding what is missing to `errors`.
  function collect(form, errors) {
    const box = form.querySelector("[data-visit-deal]");
    if (!box) return null;
    const value = (name) => String((form.elements.namedItem(name) || {}).value || "").trim();
    const choice = value("deal");
    if (!choice) return null;
    const deal = { stage: value("opportunity.stage") };
    const amount = value("opportunity.amount").replace(",", ".");
    if (choice === "new") {
      deal.title = value("opportunity.title");
      if (!deal.title) errors["opportunity.title"] = box.dataset.titleRequired;
    } else deal.id = choice;
    if (amount && /^\d+(\.\d{1,2})?$/.test(amount)) deal.amount = amount; // a string: a Decimal on the server
    else if (amount || choice === "new") errors["opportunity.amount"] = box.dataset.amountRequired;
    if (value("opportunity.expected_close")) deal.expected_close = value("opportunity.expected_close");
    return deal;
  }

  function init(box) {
    if (box.dataset.bound) return;
    box.dataset.bound = "true";
    box.querySelector("[name='deal']").addEventListener("change", () => toggle(box));
    // The check-in shell learns its customer from the stop stored on the phone: load on first use.
    box.addEventListener("focusin", () => load(box));
    load(box);
  }

  window.fieldsalesVisitDeal = { collect };
  const start = () => document.querySelectorAll("[data-visit-deal]").forEach(init);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  document.addEventListener("htmx:afterSettle", start);
})();
