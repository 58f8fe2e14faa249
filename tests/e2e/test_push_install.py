"""Installability (Chromium's own checks) and a Web Push delivered to the service worker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.support import CHROMIUM_ARGS, PHONE, SW_ACTIVE, TIMEOUT_MS, Browsing, LiveServer, wait_until

pytestmark = pytest.mark.e2e


def test_the_app_is_installable(
    playwright_driver: Any, chromium_path: str, live_server: LiveServer, tmp_path: Path
) -> None:
    # Installability is not reported in incognito contexts: a persistent profile is needed.
    context = playwright_driver.chromium.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=chromium_path,
        args=CHROMIUM_ARGS,
        base_url=live_server.url,
        viewport=PHONE,
    )
    try:
        context.set_default_timeout(TIMEOUT_MS)
        page = context.pages[0] if context.pages else context.new_page()
        page.goto("/login")
        wait_until(page, SW_ACTIVE)
        cdp = context.new_cdp_session(page)
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["url"] == live_server.url + "/manifest.webmanifest"
        assert manifest["errors"] == []
        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        assert errors == [], errors
    finally:
        context.close()


def test_a_push_is_shown_as_a_notification(page_as: Any, browsing: Browsing) -> None:
    page = page_as("rep", permissions=["notifications"])
    wait_until(page, SW_ACTIVE)
    cdp = page.context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"])
    )
    cdp.send("ServiceWorker.enable")
    for _ in range(100):  # events arrive while Playwright waits, not during time.sleep
        if any(not r["isDeleted"] for r in registrations):
            break
        page.wait_for_timeout(50)
    scope = browsing.server.url + "/"
    live = [r for r in registrations if not r["isDeleted"] and r["scopeURL"] == scope]
    assert live, f"no service worker registration for {scope}: {registrations}"

    payload = {
        "title": "Visit overdue: Blue Wholesale",
        "body": "Last visited 70 days ago",
        "url": "/customers",
        "tag": "e2e-overdue-1",
    }
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": browsing.server.url,
            "registrationId": live[0]["registrationId"],
            "data": json.dumps(payload),
        },
    )
    shown = wait_until(
        page,
        """async (tag) => {
            const registration = await navigator.serviceWorker.ready;
            const [note] = await registration.getNotifications({ tag });
            return note && { title: note.title, body: note.body, tag: note.tag, data: note.data };
        }""",
        payload["tag"],
    )
    assert shown == {
        "title": payload["title"],
        "body": payload["body"],
        "tag": payload["tag"],
        "data": {"url": "/customers"},
    }
    assert browsing.problems_of(page) == []
