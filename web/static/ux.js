/*
 * Small page helpers, loaded on every page after app.js (defer):
 * - a customer page a rep may visit from stores that customer on the phone (IndexedDB), so a
 *   walk-in visit there works offline later (checkin.js reads it);
 * - a textarea with a maxlength shows its length against the limit, and says so when a paste
 *   was cut (browsers drop the rest silently);
 * - after a boosted navigation the new page's heading takes the focus, as after a page load.
 */
(function () {
  "use strict";

  const core = window.FieldsalesOutboxCore;
  const text = (key) => (document.getElementById("js-text") || { dataset: {} }).dataset[key] || "";

  // A customer page a rep may visit from stores the customer on the phone (checkin.js reads it
  // for a walk-in visit without a signal).
  function storeCustomers() {
    const customers = [];
    document.querySelectorAll("[data-store-customer]").forEach((node) => {
      try {
        customers.push(JSON.parse(node.dataset.storeCustomer));
      } catch (err) {
        console.warn(err);
      }
    });
    if (customers.length) core.saveCustomers(customers).catch((err) => console.warn(err));
  }
  document.addEventListener("htmx:load", storeCustomers);

  /* ---- Long texts: a counter against the limit, and a word when a paste was cut ---- */

  function counterOf(field) {
    let counter = field.parentElement.querySelector(`.char-count[data-for="${field.id}"]`);
    if (!counter) {
      counter = document.createElement("p");
      counter.className = "char-count";
      counter.dataset.for = field.id;
      counter.setAttribute("aria-live", "polite");
      field.after(counter);
    }
    return counter;
  }

  function countChars(field, cut = 0) {
    const max = Number(field.getAttribute("maxlength"));
    const counter = counterOf(field);
    const length = field.value.length;
    counter.classList.toggle("is-full", length >= max);
    counter.textContent = cut
      ? text("pasteCut").replace("%(max)s", max.toLocaleString()).replace("%(cut)s", cut.toLocaleString())
      : `${length.toLocaleString()} / ${max.toLocaleString()}`;
  }

  document.addEventListener("input", (event) => {
    if (event.target.matches && event.target.matches("textarea[maxlength]")) countChars(event.target);
  });
  // The browser silently drops what goes past maxlength on paste: say how much was left out.
  document.addEventListener("paste", (event) => {
    const field = event.target;
    if (!field.matches || !field.matches("textarea[maxlength]") || !event.clipboardData) return;
    const max = Number(field.getAttribute("maxlength"));
    const pasted = event.clipboardData.getData("text").length;
    const room = max - field.value.length + (field.selectionEnd - field.selectionStart);
    if (pasted > room) setTimeout(() => countChars(field, pasted - room), 0);
  });

  // After a boosted navigation, a screen reader (or keyboard) starts at the new page's heading,
  // as after a real page load, instead of on the link that was pressed.
  document.addEventListener("htmx:afterSettle", (event) => {
    if (!event.detail.boosted && !(event.detail.requestConfig && event.detail.requestConfig.boosted)) return;
    const heading = document.querySelector("main h1");
    if (!heading) return;
    if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  });

  // A background refresh (the Inbox count) that fails offline is not the user's business:
  // no "No connection" toast over the screen they are using.
  document.addEventListener(
    "htmx:sendError",
    (event) => {
      if (event.detail.elt.closest("[data-background]")) event.stopImmediatePropagation();
    },
    true,
  );

  storeCustomers();
})();
