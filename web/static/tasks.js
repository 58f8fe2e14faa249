/*
 * Today page: reflect task changes saved offline. app.js queues a card's form in the outbox
 * (it replays later as PATCH /api/v1/tasks/{id}) and fires `outbox:queued` on the form; here the
 * card shows the change at once and its buttons are disabled so the change is not queued twice.
 * Loaded from the page body, so hx-boost may run it more than once: listen only once.
 */
(function () {
  "use strict";
  if (window.fieldsalesTasksReady) return;
  window.fieldsalesTasksReady = true;

  document.addEventListener("outbox:queued", (event) => {
    const form = event.target.closest(".task-form");
    const card = form && form.closest("[data-task-card]");
    if (!card) return;
    const status = form.dataset.nextStatus;
    card.classList.add("is-pending", `is-${status}`);
    card.querySelectorAll(".task-form button[type=submit]").forEach((button) => {
      button.disabled = true;
    });
  });
})();
