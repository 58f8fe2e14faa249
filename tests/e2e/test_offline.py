"""The service worker, the offline shell and the outbox, in a real Chromium against a real server."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.support import OUTBOX_EMPTY, SW_ACTIVE, Browsing, wait_until

pytestmark = pytest.mark.e2e

PAGE_SAVED = "async (url) => Boolean(await (await caches.open('fieldsales-pages')).match(url))"


def install_worker(page: Any) -> None:
    """Wait for the worker to activate, reload, and check it now controls the page."""
    wait_until(page, SW_ACTIVE)
    page.reload()
    assert page.evaluate("Boolean(navigator.serviceWorker.controller)"), "no controller after reload"
    assert page.evaluate("navigator.serviceWorker.controller.scriptURL").endswith("/sw.js")


def test_service_worker_installs_and_the_shell_works_offline(page_as: Any, browsing: Browsing) -> None:
    page = page_as("rep")
    install_worker(page)
    # The controlled reload of Today saved it as an offline page (written after the response).
    wait_until(page, PAGE_SAVED, browsing.server.url + "/")
    shell = page.evaluate(
        "async () => (await caches.keys()).filter((name) => name.startsWith('fieldsales-shell-'))"
    )
    assert len(shell) == 1, shell

    page.context.set_offline(True)
    page.reload()
    # The saved Today page, in the app shell, says it is offline.
    expect(page).to_have_title("Today · FieldSales")
    expect(page.locator("#net-status")).to_have_text("Offline")
    expect(page.locator("html")).to_have_class(re.compile(r"\bis-offline\b"))
    expect(page.locator("nav.app-nav .nav-link > span")).to_have_text(
        ["Today", "Customers", "Deals", "Progress", "Inbox"]
    )
    expect(page.locator("h1")).to_have_text("Today")

    # A page never opened while online: the precached offline page answers.
    page.goto("/inbox")
    expect(page.locator("h1")).to_have_text("You’re offline")
    expect(page.locator("#net-status")).to_have_text("Offline")

    page.context.set_offline(False)
    page.goto("/")
    expect(page.locator("#net-status")).to_have_text("Online")
    assert browsing.problems_of(page) == []


def test_a_check_in_made_offline_is_queued_then_sent_exactly_once(page_as: Any, browsing: Browsing) -> None:
    server = browsing.server
    page = page_as("rep")
    wait_until(page, SW_ACTIVE)
    customers = page.request.get("/api/v1/customers?limit=50").json()["items"]
    me = page.request.get("/api/v1/me").json()
    # The last of rep1's customers: other tests check in nowhere, so it has no open visit.
    customer = [c for c in customers if c["owner_rep_id"] == me["id"]][-1]
    customer_id = uuid.UUID(customer["id"])
    before = server.count_rows("checkins", "customer_id", customer_id)

    # Every POST to the check-in API, whoever sends it: the page or the worker (Background Sync).
    sent: list[tuple[str, str | None]] = []

    def count_checkin_posts(request: Any) -> None:
        if request.method == "POST" and request.url.endswith("/api/v1/checkins"):
            sent.append(("worker" if request.service_worker else "page", request.headers.get("x-client-id")))

    page.context.on("request", count_checkin_posts)

    page.context.set_offline(True)
    expect(page.locator("#net-status")).to_have_text("Offline")
    checkin_id = uuid.uuid4()
    body = {
        "id": str(checkin_id),
        "customer_id": str(customer_id),
        "checked_in_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    record = page.evaluate(
        "(body) => window.fieldsalesOutbox.enqueue({id: body.id, url: '/api/v1/checkins', method: 'POST', body})",
        body,
    )
    assert record["id"] == str(checkin_id)
    badge = page.locator("#sync-badge")
    expect(badge).to_be_visible()
    expect(badge.locator(".sync-count")).to_have_text("1")
    page.wait_for_timeout(300)  # offline: nothing may have been sent
    assert sent == []
    assert server.count_rows("checkins", "id", checkin_id) == 0

    page.context.set_offline(False)
    expect(badge).to_be_hidden()
    expect(badge.locator(".sync-count")).to_have_text("0")
    wait_until(page, OUTBOX_EMPTY)
    # Give a second replay (page `online` + worker `sync` racing) the time to show up if it exists.
    page.wait_for_timeout(1000)
    assert len(sent) == 1, f"the queued check-in was sent {len(sent)} times: {sent}"
    assert sent[0][1] == str(checkin_id)  # the client UUID is the idempotency key
    assert server.count_rows("checkins", "id", checkin_id) == 1
    assert server.count_rows("checkins", "customer_id", customer_id) == before + 1
    stored = page.request.get(f"/api/v1/checkins/{checkin_id}")
    assert stored.status == 200
    assert stored.json()["customer_id"] == str(customer_id)
    assert browsing.problems_of(page) == []


def test_the_page_a_form_post_leads_to_is_waited_for_not_answered_from_the_cache(
    page_as: Any, browsing: Browsing
) -> None:
    """An ordinary navigation slower than 4 s is answered with the saved copy of the page; the
    page a form post redirects to is not, since the copy shows the state before the write (a
    manager's approval once looked as if it had not happened)."""
    page = page_as("rep")
    install_worker(page)
    page.goto("/me/settings")
    settings_url = browsing.server.url + "/me/settings"
    wait_until(page, PAGE_SAVED, settings_url)
    notifications = page.get_by_role("checkbox", name="Push notifications and reminders")
    expect(notifications).to_be_checked()  # and so in the saved copy
    slowed: list[str] = []

    def slow(route: Any) -> None:  # the server's answer takes longer than the worker's 4 s
        if route.request.method == "GET":
            slowed.append(route.request.url)
            time.sleep(5)
        route.continue_()

    # The worker's own fetch of the page is what a route can slow down; the navigation preload
    # it would use instead is the browser's and passes by it.
    page.evaluate("async () => (await navigator.serviceWorker.ready).navigationPreload.disable()")
    page.context.route(settings_url, slow)
    try:
        notifications.uncheck()
        page.get_by_role("button", name="Save").click()
        page.wait_for_load_state()
        expect(notifications).not_to_be_checked()  # the page after the write, not the saved copy
        # and with its message: the worker's own fetch of the page counts as the page load
        expect(page.locator(".flash-success")).to_contain_text("Your settings are saved.")
        # The next ordinary navigation is the weak-signal case again: the saved copy after 4 s.
        page.goto("/me/settings")
        expect(page.locator("h1")).to_have_text("My settings")
    finally:
        page.context.unroute(settings_url, slow)
    assert len(slowed) == 2, slowed
    notifications.check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("checkbox", name="Push notifications and reminders")).to_be_checked()
    assert browsing.problems_of(page) == []
