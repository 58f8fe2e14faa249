/*
 * Photos at a visit (the visit step of /checkins/new and the visit page /checkins/{id}).
 * A photo from the camera (<input type=file capture=environment>) is shrunk on the phone
 * (longest side 1600 px, JPEG, about 300 KB at most), then goes into the same IndexedDB outbox as
 * the check-in, as a Blob with a client UUID and the capture time. The outbox keeps a visit's
 * requests in one group and in order, so a photo whose check-in still waits is sent after it;
 * the server stores each UUID once, so a replay never adds a second copy.
 * Photos still on the phone show with "Waiting to sync"; once sent, the server's list is shown.
 * Loaded from the page content (htmx may run it again): binds once, initialises each section once.
 */
(function () {
  "use strict";

  if (window.fieldsalesPhotos) {
    window.fieldsalesPhotos.init();
    return;
  }

  const MAX_SIDE = 1600;
  const TARGET_BYTES = 300 * 1024;
  const QUALITIES = [0.82, 0.72, 0.62, 0.52];

  function text(key, fallback) {
    const holder = document.getElementById("photo-text");
    return (holder && holder.dataset[key]) || fallback;
  }

  function newId() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  /* ---- Shrinking on the phone ---- */

  function toBlob(canvas, quality) {
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
  }

  // The decoded photo drawn at most MAX_SIDE px long, then JPEG at falling quality (and, if need
  // be, smaller) until it fits TARGET_BYTES. Drawing drops the file's EXIF, GPS included.
  async function shrink(file) {
    const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    let scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    let blob = null;
    for (let round = 0; round < 4; round += 1) {
      const canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(bitmap.width * scale));
      canvas.height = Math.max(1, Math.round(bitmap.height * scale));
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      for (const quality of QUALITIES) {
        blob = await toBlob(canvas, quality);
        if (blob && blob.size <= TARGET_BYTES) break;
      }
      if (blob && blob.size <= TARGET_BYTES) break;
      scale *= 0.8;
    }
    if (bitmap.close) bitmap.close();
    if (!blob) throw new Error("the browser could not encode the photo");
    return blob;
  }

  /* ---- Which visit, and what waits for it ---- */

  function part(root, role) {
    return root.querySelector(`[data-role="${role}"]`);
  }

  // On /checkins/new the visit's id exists only once the rep has checked in (checkin.js puts it
  // on the check-out form); on the visit page it is rendered.
  function visitOf(root) {
    if (root.dataset.checkinId) return { id: root.dataset.checkinId, customerId: root.dataset.customerId || null };
    const page = root.closest("[data-checkin], [data-visit]");
    const form = page && page.querySelector("form[data-checkout-form]");
    const id = form && form.dataset.checkinId;
    return id ? { id, customerId: (page && (page.dataset.visitCustomerId || page.dataset.customerId)) || null } : null;
  }

  async function waiting(checkinId) {
    try {
      return (await window.FieldsalesOutboxCore.all()).filter(
        (record) => record.meta && record.meta.kind === "photo" && record.meta.checkin_id === checkinId,
      );
    } catch (err) {
      return [];
    }
  }

  function dataUrl(blob) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(blob);
    });
  }

  function item(root, src, note, href) {
    const template = part(root, "photo-template");
    const li = template.content.firstElementChild.cloneNode(true);
    const img = li.querySelector("img");
    img.src = src;
    img.alt = text("photoAlt", "Visit photo");
    if (href) {
      const link = document.createElement("a");
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener";
      img.replaceWith(link);
      link.append(img);
    }
    const label = li.querySelector("[data-role='photo-note']");
    label.textContent = note || "";
    label.hidden = !note;
    if (note) li.classList.add("is-waiting");
    return li;
  }

  // The server's photos (kept as shown when the server can't be asked) and the phone's. Renders
  // may overlap (a photo added, the outbox changing): only the latest one writes the list.
  async function render(root) {
    const visit = visitOf(root);
    const list = part(root, "photo-list");
    if (!visit || !list) return;
    const generation = (Number(root.dataset.generation) || 0) + 1;
    root.dataset.generation = String(generation);
    let sent = null;
    // A visit still waiting on the phone is unknown to the server (404): the shown list stays.
    if (navigator.onLine) {
      try {
        const response = await fetch(`/api/v1/checkins/${visit.id}/photos`, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (response.ok) sent = (await response.json()).map((photo) => item(root, photo.thumbnail_url, "", photo.image_url));
      } catch (err) {
        /* offline after all */
      }
    }
    const pending = [];
    for (const record of await waiting(visit.id)) {
      const blob = record.body && record.body.photo;
      if (!(blob instanceof Blob)) continue;
      const note = record.state === "attention" ? (record.problem && record.problem.detail) || text("refused", "Refused") : text("waiting", "Waiting to sync");
      const li = item(root, await dataUrl(blob), note, null);
      li.dataset.pending = record.id;
      pending.push(li);
    }
    if (root.dataset.generation !== String(generation)) return; // a newer render took over
    const shown = sent || Array.from(list.children).filter((node) => !node.dataset.pending);
    list.replaceChildren(...shown, ...pending);
    part(root, "photo-empty").hidden = list.children.length > 0;
  }

  /* ---- Taking a photo ---- */

  async function add(root, files) {
    const error = part(root, "photo-error");
    const status = part(root, "photo-status");
    error.hidden = true;
    const visit = visitOf(root);
    if (!visit) {
      error.textContent = text("checkInFirst", "Check in first.");
      error.hidden = false;
      return;
    }
    for (const file of files) {
      status.textContent = text("preparing", "Preparing the photo…");
      let blob;
      try {
        blob = await shrink(file);
      } catch (err) {
        console.warn(err);
        error.textContent = text("notImage", "This file is not a photo this phone can read.");
        error.hidden = false;
        continue;
      }
      const id = newId();
      // The camera's file carries the moment it was taken; a picked file, when it was saved.
      const takenAt = new Date(file.lastModified || Date.now()).toISOString();
      await window.fieldsalesOutbox.enqueue({
        id,
        url: `/api/v1/checkins/${visit.id}/photos`,
        method: "POST",
        body: { id, taken_at: takenAt, photo: blob },
        encoding: "multipart",
        group: visit.id, // behind the visit's check-in, and held with it if it is refused
        label: text("label", "Visit photo"),
        meta: { kind: "photo", checkin_id: visit.id, customer_id: visit.customerId },
      });
    }
    status.textContent = "";
    await render(root);
  }

  function initRoot(root) {
    if (root.dataset.bound) return;
    root.dataset.bound = "true";
    const input = part(root, "photo-input");
    if (input) {
      input.addEventListener("change", () => {
        const files = Array.from(input.files || []);
        input.value = "";
        if (files.length) add(root, files);
      });
    }
    render(root);
  }

  /* ---- Review pages: the customer's photo history, the manager's rep day ---- */

  // Loaded when online only (offline the placeholder stays, and no error toast): the fragment's
  // markup replaces the section's, and htmx then boosts its delete forms.
  async function loadFragment(section) {
    if (!navigator.onLine || section.dataset.loaded) return;
    try {
      const response = await fetch(section.dataset.photoFragment, { headers: { "HX-Request": "true" }, credentials: "same-origin" });
      if (!response.ok) return;
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      section.replaceChildren(...doc.head.querySelectorAll("link[rel='stylesheet']"), ...doc.body.childNodes);
      section.dataset.loaded = "true";
      if (window.htmx) window.htmx.process(section);
    } catch (err) {
      /* no connection after all: the placeholder stays */
    }
  }

  function init() {
    document.querySelectorAll("[data-photos]").forEach(initRoot);
    document.querySelectorAll("[data-photo-fragment]").forEach(loadFragment);
  }

  window.addEventListener("online", () => document.querySelectorAll("[data-photo-fragment]").forEach(loadFragment));

  // Sent or refused on the way: show the server's list again.
  document.addEventListener("outbox:changed", () => {
    document.querySelectorAll("[data-photos][data-bound]").forEach(render);
  });

  // For visitforms.js: how many photos this page shows for a visit (stored or waiting on the
  // phone), so a form's photo question is answered by the photos actually taken. null when the
  // page has no photo section for that visit (the form then keeps the number the rep entered).
  function count(checkinId) {
    let shown = null;
    document.querySelectorAll("[data-photos]").forEach((root) => {
      const visit = visitOf(root);
      const list = part(root, "photo-list");
      if (visit && list && visit.id === checkinId) shown = Math.max(shown || 0, list.children.length);
    });
    return shown;
  }

  document.addEventListener("htmx:load", init);
  window.fieldsalesPhotos = { init, count };
  init();
})();
