/*
 * Visit forms on the phone (web/templates/evidence/_visit_forms.html inside the check-out form).
 * checkin.js asks `collect(form, body, errors)` when the rep checks out: the answers go into the
 * check-out's body (so they travel through the same outbox, once), and every rule the server
 * applies (server/domain/visit_forms.py) is checked here first, so a required question blocks the
 * check-out before it is sent or queued. `fill` puts a refused check-out's answers back;
 * `filter` keeps the forms assigned to the stop's grade and status (the offline shell has all).
 */
(function () {
  "use strict";

  if (window.fieldsalesVisitForms) return;

  function text(key, fallback) {
    const holder = document.getElementById("visitforms-text");
    return (holder && holder.dataset[key]) || fallback;
  }

  const words = (value) => (value || "").split(" ").filter(Boolean);

  function filter(root, grade, status) {
    root.querySelectorAll("[data-visit-form]").forEach((fieldset) => {
      const grades = words(fieldset.dataset.grades);
      const statuses = words(fieldset.dataset.statuses);
      const applies = (!grade || !grades.length || grades.includes(grade)) && (!status || !statuses.length || statuses.includes(status));
      fieldset.hidden = !applies;
      fieldset.disabled = !applies;
    });
  }

  function controls(question) {
    return Array.from(question.querySelectorAll("input, textarea"));
  }

  // The answer as the server wants it (undefined: not answered), and the problem with it if any.
  function read(question) {
    const kind = question.dataset.kind;
    const inputs = controls(question);
    if (kind === "yes_no" || kind === "single_choice") {
      const picked = inputs.find((input) => input.checked);
      if (!picked) return {};
      return { value: kind === "yes_no" ? picked.value === "true" : picked.value };
    }
    if (kind === "multi_choice") {
      const picked = inputs.filter((input) => input.checked).map((input) => input.value);
      return picked.length ? { value: picked } : {};
    }
    const raw = String(inputs[0].value || "").trim();
    if (!raw) return {};
    if (kind === "text") return { value: raw };
    if (kind === "photo") return { photos: Number(raw) };
    const number = Number(raw.replace(",", "."));
    if (!/^-?\d+([.,]\d+)?$/.test(raw) || !Number.isFinite(number)) return { problem: text("number", "Enter a number.") };
    const min = question.dataset.min;
    const max = question.dataset.max;
    if (min !== undefined && number < Number(min)) return { problem: text("min", "").replace("%(min)s", String(Number(min))) };
    if (max !== undefined && number > Number(max)) return { problem: text("max", "").replace("%(max)s", String(Number(max))) };
    return { value: number };
  }

  // The photos taken at this visit: photos.js's count when it offers a synchronous one
  // (window.fieldsalesPhotos.count(checkinId) -> number), else what the rep entered.
  function photoCount(form, entered) {
    const photos = window.fieldsalesPhotos;
    const counted = photos && typeof photos.count === "function" ? photos.count(form.dataset.checkinId) : null;
    return typeof counted === "number" ? counted : entered;
  }

  function collect(form, body, errors) {
    const answers = [];
    let blocked = false;
    form.querySelectorAll("[data-visit-form]:not([disabled])").forEach((fieldset) => {
      const values = {};
      let entered = 0;
      let hasPhotoQuestion = false;
      fieldset.querySelectorAll("[data-question]").forEach((question) => {
        const key = question.dataset.key;
        const name = `answers.${key}`;
        const answer = read(question);
        if (question.dataset.kind === "photo") {
          hasPhotoQuestion = true;
          entered = Math.max(entered, answer.photos || 0);
          if (question.hasAttribute("data-required") && !photoCount(form, answer.photos || 0)) {
            errors[name] = text("photo", "Take a photo at this visit.");
            blocked = true;
          }
          return;
        }
        if (answer.problem) errors[name] = answer.problem;
        else if (answer.value !== undefined) values[key] = answer.value;
        else if (question.hasAttribute("data-required")) {
          errors[name] = text("required", "Answer this question.");
          blocked = true;
        }
      });
      const record = { form_id: fieldset.dataset.formId, version: Number(fieldset.dataset.version), values };
      if (hasPhotoQuestion) record.photo_count = photoCount(form, entered);
      answers.push(record);
    });
    if (blocked) errors.form = text("blocked", "Answer the required questions of the visit form before you check out.");
    if (answers.length) body.answers = answers;
  }

  function fill(form, answers) {
    (answers || []).forEach((record) => {
      const fieldset = form.querySelector(`[data-visit-form][data-form-id="${record.form_id}"]`);
      if (!fieldset) return;
      fieldset.querySelectorAll("[data-question]").forEach((question) => {
        const kind = question.dataset.kind;
        const value = kind === "photo" ? record.photo_count : (record.values || {})[question.dataset.key];
        if (value === undefined || value === null) return;
        controls(question).forEach((input) => {
          if (input.type === "radio") input.checked = input.value === String(value);
          else if (input.type === "checkbox") input.checked = Array.isArray(value) && value.includes(input.value);
          else input.value = String(value);
        });
      });
    });
  }

  window.fieldsalesVisitForms = { collect, fill, filter };
})();
