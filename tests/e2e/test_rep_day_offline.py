"""A rep's day offline, in Chromium against a real server (issue 17).

Today is loaded online once; then the signal goes. Every stop must be visitable from what Today
stored on the phone, at the right customer, whether or not its page was opened before, and a
check-out the server refuses on replay must come back with everything the rep typed.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e import own_world
from tests.e2e import test_checkins_browser as checkins_browser
from tests.e2e.support import OUTBOX_EMPTY, SW_ACTIVE, Browsing, flush_outbox, screenshot, sign_in, wait_until

pytestmark = pytest.mark.e2e

# A server and browser of this module's own (tests/e2e/own_world.py): what its tests change must
# not reach other modules' reps.
live_server, browser, browsing = own_world.live_server, own_world.browser, own_world.browsing

SHANGHAI = "Asia/Shanghai"
STOPS_STORED = "async () => document.getElementById('task-list')?.dataset.stored === 'true'"
VISIT_URL = re.compile(r"/checkins/[0-9a-f-]{36}$")


def today_online(browsing: Browsing, login: str, **options: Any) -> Any:
    """Sign in, let the service worker take control, and wait until Today stored its stops."""
    page = browsing.new_page(
        timezone_id=SHANGHAI,
        permissions=["geolocation"],
        geolocation={"latitude": 0, "longitude": 0, "accuracy": 15},
        **options,
    )
    store_today(page, login)
    return page


def store_today(page: Any, login: str) -> None:
    """Sign in on `page`, plan the day even on a weekend or holiday, let the service worker take
    control, and wait until Today stored its stops on the phone."""
    sign_in(page, login)
    plan_anyway = page.get_by_role("button", name="Plan my day anyway")
    if plan_anyway.count():  # a weekend or holiday: the rep works anyway
        plan_anyway.click()
        expect(page.locator("#task-list")).to_be_visible()
    wait_until(page, SW_ACTIVE)
    page.reload()
    assert page.evaluate("Boolean(navigator.serviceWorker.controller)")
    wait_until(page, STOPS_STORED)


def stops_of(page: Any) -> list[dict[str, Any]]:
    """Today's open visit stops, in the order of the cards (route order)."""
    stops = {s["task_id"]: s for s in json.loads(page.locator("#task-list").get_attribute("data-stops"))}
    cards = page.locator("[data-task-card]:has([data-checkin-link])")
    return [stops[cards.nth(i).get_attribute("data-task-id")] for i in range(cards.count())]


def open_stop(page: Any, stop: dict[str, Any]) -> None:
    """Tap the stop's "Check in" on Today (a boosted navigation, as on the phone)."""
    page.locator(f"[data-task-card][data-task-id='{stop['task_id']}'] [data-checkin-link]").click()
    expect(page.locator("[data-checkin][data-ready='true']")).to_have_count(1)


def assert_page_is_for(page: Any, stop: dict[str, Any]) -> None:
    root = page.locator("[data-checkin]")
    expect(page.locator("[data-role='customer-name']")).to_have_text(stop["customer"]["name"])
    expect(root).to_have_attribute("data-task-id", stop["task_id"])
    expect(root).to_have_attribute("data-customer-id", stop["customer_id"])
    assert f"task_id={stop['task_id']}" in page.url


def stand_at(page: Any, stop: dict[str, Any]) -> None:
    customer = stop["customer"]
    page.context.set_geolocation({"latitude": customer["lat"], "longitude": customer["lng"], "accuracy": 12})


def visit_with_order(page: Any, amount: str) -> None:
    page.get_by_role("button", name="Check in here").click()
    expect(page.get_by_text("Checked in on this phone — waiting to sync")).to_be_visible()
    page.get_by_label("Order", exact=True).check()
    page.get_by_label("Order amount").fill(amount)
    page.get_by_label("Notes").fill("Offline order")
    page.get_by_role("button", name="Check out").click()
    expect(page.get_by_role("heading", name="Checked out")).to_be_visible()


def api(page: Any, path: str) -> Any:
    response = page.request.get(path)
    assert response.ok, (path, response.status, response.text())
    return response.json()


def checkin_ids(page: Any, customer_id: str) -> set[str]:
    return {c["id"] for c in api(page, f"/api/v1/checkins?customer_id={customer_id}&limit=500")}


def assert_one_visit_with_order(page: Any, stop: dict[str, Any], amount: str, before: set[str]) -> None:
    """Through the API: one new check-in and one order, both at the stop's customer, nowhere else."""
    wait_until(page, OUTBOX_EMPTY)
    checkins = api(page, f"/api/v1/checkins?customer_id={stop['customer_id']}&limit=500")
    new = [c for c in checkins if c["id"] not in before]
    assert len(new) == 1, new
    (checkin,) = new
    assert checkin["task_id"] == stop["task_id"]
    assert checkin["status"] == "completed" and checkin["outcome"] == "order"
    assert checkin["geo_status"] == "verified"
    orders = [o for o in api(page, "/api/v1/orders?limit=5000") if Decimal(o["amount"]) == Decimal(amount)]
    assert [(o["customer_id"], o["source"]) for o in orders] == [(stop["customer_id"], "checkin")]
    mine = api(page, f"/api/v1/checkins?rep_id={checkin['rep_id']}")
    assert sum(1 for c in mine if c["order_amount"] and Decimal(c["order_amount"]) == Decimal(amount)) == 1


def test_offline_visit_at_stop_3_never_opened(browsing: Browsing) -> None:
    page = today_online(browsing, "rep1")
    stops = stops_of(page)
    assert len(stops) >= 3, stops
    stop = stops[2]
    before = checkin_ids(page, stop["customer_id"])
    stand_at(page, stop)
    page.context.set_offline(True)
    open_stop(page, stop)
    assert_page_is_for(page, stop)
    visit_with_order(page, "777.70")
    page.get_by_role("link", name="Back to today").click()  # the saved Today shows what waits
    card = page.locator(f"[data-task-card][data-task-id='{stop['task_id']}']")
    expect(card.locator("[data-task-status]")).to_have_text("Visited — waiting to sync")
    page.context.set_offline(False)
    flush_outbox(page)
    assert_one_visit_with_order(page, stop, "777.70", before)
    assert browsing.problems_of(page) == []


def test_no_page_of_one_stop_is_served_for_another(browsing: Browsing) -> None:
    page = today_online(browsing, "rep2")
    stops = stops_of(page)
    assert len(stops) >= 3, stops
    first, third = stops[0], stops[2]
    before = checkin_ids(page, third["customer_id"])
    open_stop(page, first)  # online: stop 1's page is now saved on the phone
    assert_page_is_for(page, first)
    page.go_back()
    expect(page.locator("#task-list")).to_be_visible()
    page.context.set_offline(True)
    for stop in stops:  # every stop, offline: its own customer, never stop 1's
        open_stop(page, stop)
        assert_page_is_for(page, stop)
        page.go_back()
        expect(page.locator("#task-list")).to_be_visible()
    stand_at(page, third)
    open_stop(page, third)
    assert_page_is_for(page, third)
    visit_with_order(page, "777.71")
    page.context.set_offline(False)  # the outbox replays both, and the page opens the visit
    expect(page).to_have_url(VISIT_URL)
    expect(page.locator("h1")).to_have_text(third["customer"]["name"])
    assert_one_visit_with_order(page, third, "777.71", before)
    assert browsing.problems_of(page) == []


def test_a_refused_offline_check_out_keeps_everything_typed(browsing: Browsing) -> None:
    page = today_online(browsing, "rep3")
    stop = stops_of(page)[0]
    before = checkin_ids(page, stop["customer_id"])
    stand_at(page, stop)
    page.context.set_offline(True)
    open_stop(page, stop)
    page.get_by_role("button", name="Check in here").click()
    expect(page.get_by_text("Checked in on this phone — waiting to sync")).to_be_visible()
    page.get_by_label("Order", exact=True).check()
    page.get_by_label("Order amount").fill("1000000000000000")  # more than 14 digits: refused
    page.get_by_label("Notes").fill("Big fleet deal, signed on the spot")
    page.get_by_label("Next step", exact=True).fill("Deliver the first batch")
    due = checkins_browser.next_week()
    page.get_by_label("Next step due").fill(due)
    page.get_by_role("button", name="Check out").click()
    # Far above this customer's history: the phone asks before sending anything.
    expect(page.get_by_text(re.compile(r"^Did you mean 100,000,000,000,000\.00\?"))).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Yes, 1,000,000,000,000,000\.00 is right")).click()
    expect(page.get_by_role("heading", name="Checked out")).to_be_visible()

    page.context.set_offline(False)
    expect(page.get_by_role("heading", name="Needs your attention")).to_be_visible()
    expect(page.get_by_label("Order amount")).to_have_value("1000000000000000")
    expect(page.locator("#f-order_amount-error")).to_contain_text("must be less than")
    expect(page.get_by_label("Notes")).to_have_value("Big fleet deal, signed on the spot")
    expect(page.get_by_label("Next step", exact=True)).to_have_value("Deliver the first batch")
    expect(page.get_by_label("Next step due")).to_have_value(due)
    expect(page.get_by_label("Order", exact=True)).to_be_checked()
    expect(page.locator("#attention-badge")).to_be_visible()
    screenshot(page, "rep-refused-checkout-360")
    # Still on the phone after a reload: nothing typed is lost.
    page.reload()
    expect(page.get_by_label("Order amount")).to_have_value("1000000000000000")

    page.get_by_label("Order amount").fill("120")
    page.get_by_role("button", name="Check out").click()
    expect(page).to_have_url(VISIT_URL)
    expect(page.locator("dl")).to_contain_text("Big fleet deal, signed on the spot")
    wait_until(page, OUTBOX_EMPTY)
    assert page.evaluate("async () => (await window.FieldsalesOutboxCore.attention()).length") == 0
    (checkin,) = [
        c for c in api(page, f"/api/v1/checkins?customer_id={stop['customer_id']}") if c["id"] not in before
    ]
    assert (checkin["outcome"], Decimal(checkin["order_amount"]), checkin["next_step"]) == (
        "order",
        Decimal("120"),
        "Deliver the first batch",
    )
    assert browsing.problems_of(page) == []


def test_a_refused_task_change_waits_on_the_sync_page_until_discarded(browsing: Browsing) -> None:
    page = today_online(browsing, "rep4")
    stop = stops_of(page)[0]
    page.context.set_offline(True)
    page.evaluate(
        """(taskId) => window.fieldsalesOutbox.enqueue({url: `/api/v1/tasks/${taskId}`, method: "PATCH",
            body: {status: "skipped", reason: "no_such_reason", note: "Shop shut for renovation"}})""",
        stop["task_id"],
    )
    page.context.set_offline(False)
    flush_outbox(page)
    badge = page.locator("#attention-badge")
    expect(badge).to_be_visible()
    badge.click()
    expect(page.get_by_role("heading", name="Needs your attention", level=1)).to_be_focused()
    item = page.locator(".attention-item")
    expect(item).to_have_count(1)
    expect(item.locator("[data-role='detail']")).not_to_be_empty()
    expect(item.locator("textarea, input").filter(has_text="")).not_to_have_count(0)
    expect(item.get_by_label("note")).to_have_value("Shop shut for renovation")
    page.on("dialog", lambda dialog: dialog.accept())
    item.get_by_role("button", name="Discard").click()
    expect(page.locator("#attention-empty")).to_be_visible()
    expect(badge).to_be_hidden()
    assert page.evaluate("async () => (await window.FieldsalesOutboxCore.all()).length") == 0
    assert browsing.problems_of(page) == []


def not_on_today(page: Any) -> list[dict[str, Any]]:
    """rep's customers that are not on today's list (from the API), located, active."""
    listed = {s["customer_id"] for s in json.loads(page.locator("#task-list").get_attribute("data-stops"))}
    items = api(page, "/api/v1/customers?page_size=200")["items"]
    return [c for c in items if c["id"] not in listed and c["lat"] is not None and c["status"] == "active"]


def walk_in(page: Any, customer: dict[str, Any]) -> None:
    page.get_by_role("button", name="Check in here").click()
    page.get_by_label("Follow up").check()
    page.get_by_label("Notes").fill("Walked in")
    page.get_by_role("button", name="Check out").click()


def assert_walk_in_done(page: Any, customer: dict[str, Any], before: set[str]) -> None:
    wait_until(page, OUTBOX_EMPTY)
    new = [
        c
        for c in api(page, f"/api/v1/checkins?customer_id={customer['id']}&limit=500")
        if c["id"] not in before
    ]
    assert len(new) == 1 and new[0]["status"] == "completed" and new[0]["task_id"], new
    tasks = api(page, "/api/v1/me/tasks")["tasks"]
    walk_ins = [t for t in tasks if (t["customer"] or {}).get("id") == customer["id"]]
    assert [(t["status"], t["id"]) for t in walk_ins] == [("done", new[0]["task_id"])]


def test_walk_in_visit_online_and_offline(browsing: Browsing) -> None:
    page = today_online(browsing, "rep1")
    online, offline = not_on_today(page)[:2]

    # Online: from the customer page.
    before = checkin_ids(page, online["id"])
    page.context.set_geolocation({"latitude": online["lat"], "longitude": online["lng"], "accuracy": 10})
    page.goto(f"/customers/{online['id']}")
    expect(page.get_by_role("link", name="Check in here")).to_be_visible()
    screenshot(page, "rep-customer-360-en")
    page.get_by_role("link", name="Check in here").click()
    expect(page.locator("[data-checkin][data-ready='true']")).to_have_count(1)
    walk_in(page, online)
    expect(page.locator("dl")).to_contain_text("Follow up")
    assert_walk_in_done(page, online, before)

    # Offline: the customer page was opened online once (it stores the customer on the phone).
    before = checkin_ids(page, offline["id"])
    page.goto(f"/customers/{offline['id']}")
    wait_until(page, "async (id) => Boolean(await window.FieldsalesOutboxCore.customer(id))", offline["id"])
    page.goto("/")
    page.context.set_offline(True)
    page.context.set_geolocation({"latitude": offline["lat"], "longitude": offline["lng"], "accuracy": 10})
    page.goto(f"/customers/{offline['id']}")  # the saved copy
    page.get_by_role("link", name="Check in here").click()
    expect(page.locator("[data-role='customer-name']")).to_have_text(offline["name"])
    walk_in(page, offline)
    expect(page.get_by_role("heading", name="Checked out")).to_be_visible()
    page.context.set_offline(False)
    expect(page).to_have_url(VISIT_URL)
    assert_walk_in_done(page, offline, before)
    assert browsing.problems_of(page) == []


NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"
WIDEST = """() => [...document.querySelectorAll('main *')]
  .filter((e) => e.checkVisibility() && !e.closest('.table-wrap'))
  .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
  .map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`).slice(0, 5)"""


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_rep_screens_at_360_px(browsing: Browsing, locale: str) -> None:
    page = today_online(browsing, "rep1", locale=locale)
    stop = stops_of(page)[3]
    tag = locale.split("-")[0]
    card = page.locator(f"[data-task-card][data-task-id='{stop['task_id']}']")
    expect(card.get_by_role("link", name=stop["customer"]["name"])).to_have_attribute(
        "href", f"/customers/{stop['customer_id']}"
    )
    for path, name in [
        ("/", "today"),
        (f"/checkins/new?task_id={stop['task_id']}&customer_id={stop['customer_id']}", "checkin"),
        (f"/customers/{stop['customer_id']}", "customer"),
        ("/customers", "customers"),
    ]:
        page.goto(path)
        assert page.evaluate(WIDEST) == [], (path, page.evaluate(WIDEST))
        assert page.evaluate(NO_SIDEWAYS_SCROLL), path
        screenshot(page, f"rep-{name}-360-{tag}")
    # The visit page, checked in about 4,000 km away (geolocation 0,0): out of range, kindly said.
    page.goto(f"/checkins/new?task_id={stop['task_id']}&customer_id={stop['customer_id']}")
    page.locator("[data-action='check-in']").first.click()
    expect(page).to_have_url(VISIT_URL)
    page.locator("input[name='outcome'][value='order']").check()
    assert page.evaluate(WIDEST) == [] and page.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(page, f"rep-visit-360-{tag}")
    if tag == "zh":
        expect(page.locator("main")).not_to_contain_text("Away from the customer")
        expect(page.locator("main")).to_contain_text("本次拜访仍然有效")
        page.goto(f"/customers/{stop['customer_id']}")
        text = page.locator("main").inner_text()
        for english in ("Check in here", "Navigate", "Recent visits", "prospect", "follow_up", "no_decision"):
            assert english not in text, english
        page.goto("/no-such-page")
        expect(page.locator("h1")).not_to_have_text("Page not found")
    assert browsing.problems_of(page) == []


def test_the_card_note_goes_with_skip(browsing: Browsing) -> None:
    page = today_online(browsing, "rep2")
    stop = stops_of(page)[-1]
    card = page.locator(f"[data-task-card][data-task-id='{stop['task_id']}']")
    card.get_by_text("Done, skip or snooze").click()
    expect(card.locator("textarea")).to_have_count(1)
    card.locator("textarea").fill("Owner on holiday until Monday")
    card.get_by_label("Reason").select_option("other")
    card.get_by_role("button", name="Skip").click()
    expect(
        page.locator(f"[data-task-card][data-task-id='{stop['task_id']}'] [data-task-status]")
    ).to_contain_text("Skipped")
    tasks = api(page, "/api/v1/me/tasks")["tasks"]
    (task,) = [t for t in tasks if t["id"] == stop["task_id"]]
    assert task["status"] == "skipped" and task["status_note"] == "Owner on holiday until Monday"


def test_a_saved_visit_page_shows_a_check_out_waiting_to_sync(browsing: Browsing) -> None:
    page = today_online(browsing, "rep4")
    stop = stops_of(page)[1]
    stand_at(page, stop)
    open_stop(page, stop)
    page.get_by_role("button", name="Check in here").click()
    expect(page).to_have_url(VISIT_URL)  # online: the visit page, now saved on the phone
    visit_url = page.url
    page.context.set_offline(True)
    page.get_by_label("No decision").check()
    page.get_by_role("button", name="Check out").click()
    expect(page.get_by_role("heading", name="Checked out")).to_be_visible()
    page.goto(visit_url)  # the saved copy, rendered while the visit was open
    expect(page.get_by_role("heading", name="Checked out")).to_be_visible()
    expect(page.get_by_role("button", name="Check out")).to_be_hidden()
    page.context.set_offline(False)
    flush_outbox(page)
    expect(page.locator("dl")).to_contain_text("No decision")
    assert browsing.problems_of(page) == []
