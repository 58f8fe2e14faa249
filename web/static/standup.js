/*
 * Stand-up presenter: one rep at a time, next / previous by arrow keys (PageUp / PageDown for
 * presentation clickers) or a horizontal swipe, and the 15-minute meeting timer with each rep's
 * share. Loaded from the page body, so hx-boost may run this file again on every visit: the
 * document-level listeners and the ticking clock are set up once (window flag), and each
 * presenter element is initialised once (data-ready).
 */
(function () {
  "use strict";
  const SWIPE_MIN_PX = 50;
  const state = window.fieldsalesStandup || (window.fieldsalesStandup = { root: null });

  function clock(seconds) {
    const whole = Math.floor(Math.abs(seconds));
    return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
  }

  function live() {
    return state.root && state.root.isConnected ? state.root : null;
  }

  function renderTimers() {
    const root = live();
    if (!root) return;
    const meeting = root.querySelector('[data-timer="meeting"]');
    const rep = root.querySelector('[data-timer="rep"]');
    const meetingLeft = state.meetingSeconds - state.meetingElapsed / 1000;
    const repLeft = state.share - state.repElapsed / 1000;
    if (meeting) {
      meeting.textContent = clock(meetingLeft);
      meeting.classList.toggle("is-over", meetingLeft < 0);
    }
    if (rep) {
      rep.textContent = clock(repLeft);
      rep.classList.toggle("is-over", repLeft < 0);
    }
    const button = root.querySelector('[data-action="timer"]');
    if (button) button.textContent = state.running ? root.dataset.labelPause : root.dataset.labelStart;
  }

  function show(index) {
    const root = live();
    if (!root || !state.cards.length) return;
    state.index = Math.max(0, Math.min(state.cards.length - 1, index));
    state.cards.forEach((card, i) => {
      card.hidden = i !== state.index;
      card.classList.toggle("is-current", i === state.index);
    });
    state.repElapsed = 0; // each rep starts with their full share
    const position = root.querySelector("[data-position]");
    if (position) position.textContent = String(state.index + 1);
    history.replaceState(history.state, "", `#present-${state.index + 1}`);
    renderTimers();
  }

  function step(delta) {
    show(state.index + delta);
    if (!state.running) toggleTimer(); // moving on means the meeting has started
  }

  function toggleTimer() {
    state.running = !state.running;
    state.lastTick = Date.now();
    renderTimers();
  }

  function onClick(event) {
    const button = event.target.closest("[data-action]");
    if (!button) return;
    const action = button.dataset.action;
    if (action === "next") step(1);
    else if (action === "previous") step(-1);
    else if (action === "timer") toggleTimer();
    else if (action === "fullscreen" && document.fullscreenEnabled) {
      if (document.fullscreenElement) document.exitFullscreen();
      else live().requestFullscreen();
    }
  }

  function onKey(event) {
    if (!live() || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.target.closest("input, select, textarea, [contenteditable]")) return;
    const moves = { ArrowRight: 1, PageDown: 1, ArrowLeft: -1, PageUp: -1 };
    if (event.key in moves) {
      event.preventDefault();
      step(moves[event.key]);
    } else if (event.key === "Home" || event.key === "End") {
      event.preventDefault();
      show(event.key === "Home" ? 0 : state.cards.length - 1);
    }
  }

  function onTouchStart(event) {
    const touch = event.changedTouches[0];
    state.touch = { x: touch.clientX, y: touch.clientY };
  }

  function onTouchEnd(event) {
    if (!state.touch) return;
    const touch = event.changedTouches[0];
    const dx = touch.clientX - state.touch.x;
    const dy = touch.clientY - state.touch.y;
    state.touch = null;
    if (Math.abs(dx) >= SWIPE_MIN_PX && Math.abs(dx) > Math.abs(dy)) step(dx < 0 ? 1 : -1);
  }

  function tick() {
    if (!live() || !state.running) return;
    const now = Date.now();
    const delta = now - state.lastTick; // wall-clock based, so a throttled tab stays right
    state.lastTick = now;
    state.meetingElapsed += delta;
    state.repElapsed += delta;
    renderTimers();
  }

  function init() {
    const root = document.querySelector("[data-presenter]");
    if (!root || root.dataset.ready === "true") return;
    root.dataset.ready = "true";
    Object.assign(state, {
      root,
      cards: Array.from(root.querySelectorAll("[data-rep-card]")),
      share: Number(root.dataset.secondsPerRep) || 0,
      meetingSeconds: Number(root.dataset.meetingSeconds) || 900,
      meetingElapsed: 0,
      repElapsed: 0,
      running: false,
      index: 0,
      touch: null,
    });
    root.classList.add("is-live");
    root.addEventListener("click", onClick);
    root.addEventListener("touchstart", onTouchStart, { passive: true });
    root.addEventListener("touchend", onTouchEnd, { passive: true });
    const fromHash = /^#present-(\d+)$/.exec(location.hash);
    show(fromHash ? Number(fromHash[1]) - 1 : 0);
  }

  if (!state.listening) {
    state.listening = true;
    document.addEventListener("keydown", onKey);
    document.addEventListener("htmx:load", init);
    setInterval(tick, 250);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init, { once: true });
  else init();
})();
