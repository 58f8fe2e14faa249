"""checkin.js in Chromium against a real server: online, offline through the outbox, no location.

Lives beside the other check-in tests; it borrows tests/e2e's helpers but has its own
module-scoped server and browser, since tests/e2e's fixtures are visible only inside that package.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.e2e.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    OUTBOX_EMPTY,
    TIMEOUT_MS,
    Browsing,
    LiveServer,
    seeded_live_server,
    sign_in,
    wait_until,
)

pytestmark = pytest.mark.e2e

VISIT_URL = re.compile(r"/checkins/[0-9a-f-]{36}$")
SHANGHAI = "Asia/Shanghai"  # rep1's zone; the browser shares it so "today" agrees


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from seeded_live_server(
        tmp_path_factory.mktemp("checkins-browser"), "--reps", "4", "--customers", "40", "--months", "1"
    )


@pytest.fixture(scope="module")
def browser(playwright_driver: Any, live_server: LiveServer) -> Iterator[Any]:
    # The package's Playwright driver (tests/e2e/conftest.py): a second sync_playwright() fails
    # inside the running one's event loop.
    expect.set_options(timeout=TIMEOUT_MS)
    browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def browsing(browser: Any, live_server: LiveServer) -> Iterator[Browsing]:
    session = Browsing(browser, live_server)
    yield session
    session.close()


def _uuid(value: Any) -> uuid.UUID:
    return uuid.UUID(bytes=value) if isinstance(value, bytes) else uuid.UUID(str(value))


def rep1_customers(server: LiveServer) -> list[tuple[uuid.UUID, float, float]]:
    connection = server.db()
    try:
        rows = connection.execute(
            "SELECT c.id, c.lat, c.lng FROM customers c JOIN users u ON u.id = c.owner_rep_id "
            "WHERE u.email = 'rep1@demo.example' AND c.status = 'active' ORDER BY c.external_ref"
        ).fetchall()
    finally:
        connection.close()
    return [(_uuid(row[0]), row[1], row[2]) for row in rows]


def checkin_row(server: LiveServer, checkin_id: uuid.UUID) -> tuple[Any, ...] | None:
    connection = server.db()
    try:
        return connection.execute(
            "SELECT geo_status, outcome, order_amount, next_step FROM checkins WHERE id IN (?, ?, ?)",
            (checkin_id.bytes, checkin_id.hex, str(checkin_id)),
        ).fetchone()
    finally:
        connection.close()


def rep_page(browsing: Browsing, lat: float | None = None, lng: float | None = None) -> Any:
    options: dict[str, Any] = {"timezone_id": SHANGHAI}
    if lat is not None:
        options |= {
            "geolocation": {"latitude": lat, "longitude": lng, "accuracy": 15},
            "permissions": ["geolocation"],
        }
    page = browsing.new_page(**options)
    sign_in(page, "rep1")
    return page


def next_week() -> str:
    return (datetime.now(ZoneInfo(SHANGHAI)).date() + timedelta(days=7)).isoformat()


def test_check_in_and_out_online(browsing: Browsing, live_server: LiveServer) -> None:
    customer_id, lat, lng = rep1_customers(live_server)[0]
    page = rep_page(browsing, lat, lng)
    page.goto(f"/checkins/new?customer_id={customer_id}")
    page.get_by_role("button", name="Check in here").click()
    expect(page).to_have_url(VISIT_URL)
    checkin_id = uuid.UUID(page.url.rsplit("/", 1)[1])
    expect(page.locator(".chip")).to_have_text("At the customer")
    amount = page.get_by_label("Order amount")
    expect(amount).to_be_hidden()
    page.get_by_label("Order", exact=True).check()
    expect(amount).to_be_visible()
    expect(amount).to_have_attribute("inputmode", "decimal")
    page.get_by_role("button", name="Check out").click()  # no amount yet: the phone says so
    expect(page.locator("#f-order_amount-error")).to_have_text("Enter the order amount.")
    amount.fill("120,50")  # a decimal comma, as many keyboards type it
    page.get_by_label("Next step", exact=True).fill("Send the spring catalogue")
    page.get_by_label("Next step due").fill(next_week())
    page.get_by_role("button", name="Check out").click()
    expect(page.locator("dl")).to_contain_text("$120.50")
    assert checkin_row(live_server, checkin_id) == ("verified", "order", 120.5, "Send the spring catalogue")
    assert live_server.count_rows("orders", "checkin_id", checkin_id) == 1
    assert browsing.problems_of(page) == []


def test_check_in_and_out_offline_then_sync(browsing: Browsing, live_server: LiveServer) -> None:
    customer_id, lat, lng = rep1_customers(live_server)[1]
    page = rep_page(browsing, lat + 0.01, lng)  # about 1.1 km away: accepted, out of range
    page.goto(f"/checkins/new?customer_id={customer_id}")
    page.context.set_offline(True)
    page.get_by_role("button", name="Check in here").click()
    expect(page.get_by_text("Checked in on this phone — waiting to sync")).to_be_visible()
    assert page.evaluate("window.fieldsalesOutbox.count()") == 1
    page.get_by_label("Follow up").check()
    page.get_by_label("Next step", exact=True).fill("Call back about prices")
    page.get_by_label("Next step due").fill(next_week())
    page.get_by_role("button", name="Check out").click()
    expect(page.get_by_role("heading", name="Checked out")).to_be_visible()
    expect(page.locator("#sync-badge")).to_be_visible()
    assert page.evaluate("window.fieldsalesOutbox.count()") == 2

    page.context.set_offline(False)  # the outbox replays both, in order, and the page follows
    expect(page).to_have_url(VISIT_URL)
    checkin_id = uuid.UUID(page.url.rsplit("/", 1)[1])
    expect(page.locator(".chip")).to_have_text("Away from the customer")
    expect(page.locator("dl")).to_contain_text("Follow up")
    wait_until(page, OUTBOX_EMPTY)
    assert checkin_row(live_server, checkin_id) == (
        "out_of_range",
        "follow_up",
        None,
        "Call back about prices",
    )
    assert live_server.count_rows("promises", "checkin_id", checkin_id) == 1
    assert browsing.problems_of(page) == []


def test_without_location_the_rep_can_go_on(browsing: Browsing, live_server: LiveServer) -> None:
    customer_id, _, _ = rep1_customers(live_server)[2]
    page = rep_page(browsing)  # no geolocation permission granted: the browser denies it
    page.goto(f"/checkins/new?customer_id={customer_id}")
    page.get_by_role("button", name="Check in here").click()
    expect(page.locator("[data-role='no-fix-reason']")).to_contain_text("Location permission is off")
    page.get_by_role("button", name="Check in without location").click()
    expect(page).to_have_url(VISIT_URL)
    expect(page.locator(".chip")).to_have_text("No location")
    expect(page.get_by_text("Location permission was denied.")).to_be_visible()
    assert browsing.problems_of(page) == []


def test_reopening_the_page_resumes_the_open_visit(browsing: Browsing, live_server: LiveServer) -> None:
    customer_id, lat, lng = rep1_customers(live_server)[3]
    page = rep_page(browsing, lat, lng)
    page.goto(f"/checkins/new?customer_id={customer_id}")
    page.get_by_role("button", name="Check in here").click()
    expect(page).to_have_url(VISIT_URL)
    first_visit = page.url
    page.goto(f"/checkins/new?customer_id={customer_id}")  # back to the customer's check-in page
    expect(page.get_by_role("heading", name="Visit in progress")).to_be_visible()
    expect(page.get_by_role("button", name="Check in here")).to_be_hidden()
    page.get_by_label("No decision").check()
    page.get_by_role("button", name="Check out").click()
    expect(page).to_have_url(first_visit)  # the same visit, not a second check-in
    expect(page.locator("dl")).to_contain_text("No decision")
    page.goto(f"/checkins/new?customer_id={customer_id}")  # checked out: a new visit may start
    expect(page.get_by_role("button", name="Check in here")).to_be_visible()
    assert browsing.problems_of(page) == []
