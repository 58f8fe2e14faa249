"""Visit forms in Chromium against a real server (issue 24): an admin builds a form through the
builder; a rep fills it offline at a visit, the phone refuses to check out without the required
answers, the app is closed and reopened online, and exactly one set of answers is stored and shown.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e import own_world
from tests.e2e.support import Browsing, LiveServer, screenshot, sign_in, wait_until
from tests.e2e.test_rep_day_offline import (
    OUTBOX_EMPTY,
    SHANGHAI,
    api,
    open_stop,
    stand_at,
    stops_of,
    today_online,
)

pytestmark = pytest.mark.e2e

# A server and browser of this module's own (tests/e2e/own_world.py): what its tests change must
# not reach other modules' reps.
live_server, browser, browsing = own_world.live_server, own_world.browser, own_world.browsing

LAPTOP = {"width": 1366, "height": 768}
BLOCKED = "Answer the required questions of the visit form before you check out."


def question(page: Any, row: int, **answers: str) -> None:
    """Fill one row of the builder."""
    box = page.locator(f"[data-question-row='{row}']")
    box.get_by_label("Question", exact=True).fill(answers["label"])
    if "label_zh" in answers:
        box.get_by_label("Question in Chinese (optional)").fill(answers["label_zh"])
    box.get_by_label("Short name (a–z, 0–9, _)").fill(answers["key"])
    box.get_by_label("Kind").select_option(answers["kind"])
    for name, label in (
        ("unit", "Unit (numbers)"),
        ("min", "Lowest (numbers)"),
        ("max", "Highest (numbers)"),
    ):
        if name in answers:
            box.get_by_label(label).fill(answers[name])
    if "choices" in answers:
        box.get_by_label("Choices, one a line (choice questions)").fill(answers["choices"])
    if "choices_zh" in answers:
        box.get_by_label("Choices in Chinese, same order (optional)").fill(answers["choices_zh"])
    if answers.get("required"):
        box.get_by_label("Required: check-out waits for an answer").check()


def build_shelf_form(browsing: Browsing, grades: tuple[str, ...] = (), photo_question: bool = False) -> Any:
    """The "Shelf check" form through the admin's builder, for the customers of `grades` (all
    grades when empty), with a required photo question if `photo_question`."""
    page = browsing.new_page()
    page.set_viewport_size(LAPTOP)
    sign_in(page, "admin")
    page.goto("/admin/visit-forms")
    page.get_by_role("link", name="New visit form").click()
    page.get_by_label("Name", exact=True).fill("Shelf check")
    page.get_by_label("Name in Chinese (optional)").fill("货架检查")
    question(
        page,
        0,
        label="Shelf facings",
        label_zh="排面数",
        key="shelf_facings",
        kind="number",
        unit="facings",
        min="0",
        max="50",
        required="yes",
    )
    question(
        page,
        1,
        label="Promotion visible",
        label_zh="促销可见",
        key="promo_visible",
        kind="yes_no",
        required="yes",
    )
    question(
        page,
        2,
        label="Main competitor",
        label_zh="主要竞品",
        key="competitor",
        kind="single_choice",
        choices="Acme\nGlobex",
        choices_zh="艾克米\n环球",
    )
    if photo_question:
        page.get_by_role("button", name="More questions").click()
        question(page, 3, label="Shelf photo", key="shelf_photo", kind="photo", required="yes")
    for grade in grades:
        page.locator(f"input[name='grade_{grade}']").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Visit form saved.")).to_be_visible()
    expect(page.get_by_role("heading", name="Shelf check")).to_be_visible()
    return page


def test_offline_visit_with_a_form_stored_once_after_reopening(
    browsing: Browsing, live_server: LiveServer
) -> None:
    admin = build_shelf_form(browsing)
    screenshot(admin, "visit-form-builder-laptop-en")
    admin.set_viewport_size({"width": 390, "height": 844})
    screenshot(admin, "visit-form-builder-phone-en")

    page = today_online(browsing, "rep1")
    stop = stops_of(page)[0]
    stand_at(page, stop)
    page.context.set_offline(True)
    open_stop(page, stop)
    page.get_by_role("button", name="Check in here").click()
    expect(page.get_by_text("Checked in on this phone — waiting to sync")).to_be_visible()
    form = page.locator("[data-visit-form]")
    expect(form).to_be_visible()
    expect(form.get_by_role("heading", name="Shelf check")).to_be_visible()

    page.get_by_label("No decision").check()
    page.get_by_role("button", name="Check out").click()
    expect(page.get_by_text(BLOCKED)).to_be_visible()  # the phone refuses before queuing anything
    expect(page.locator("[data-error-for='answers.shelf_facings']")).to_have_text("Answer this question.")
    assert page.evaluate("window.fieldsalesOutbox.count()") == 1  # the check-in only: nothing queued
    page.get_by_label("Shelf facings").fill("80")
    page.locator("[data-key='promo_visible']").get_by_label("Yes").check()
    page.get_by_role("button", name="Check out").click()
    expect(page.locator("[data-error-for='answers.shelf_facings']")).to_have_text("Enter at most 50.")
    page.get_by_label("Shelf facings").fill("12")
    page.locator("[data-key='competitor']").get_by_label("Globex").check()
    screenshot(page, "visit-form-phone-en")
    page.get_by_role("button", name="Check out").click()
    expect(page.get_by_role("heading", name="Checked out")).to_be_visible()
    assert page.evaluate("window.fieldsalesOutbox.count()") == 2
    checkin_id = page.locator("form[data-checkout-form]").get_attribute("data-checkin-id")
    assert checkin_id

    # The rep closes the app without a signal and opens it again later, online.
    context = page.context
    page.close()
    context.set_offline(False)
    again = context.new_page()
    again.goto("/")
    wait_until(again, OUTBOX_EMPTY)
    again.goto(f"/checkins/{checkin_id}")
    expect(again.locator("[data-answer='shelf_facings']")).to_have_text("12 facings")
    expect(again.locator("[data-answer='promo_visible']")).to_have_text("Yes")
    expect(again.locator("[data-answer='competitor']")).to_have_text("Globex")
    record = api(again, f"/api/v1/checkins/{checkin_id}")
    assert record["status"] == "completed"
    assert [a["values"] for a in record["answers"]] == [
        {"shelf_facings": 12, "promo_visible": True, "competitor": "Globex"}
    ]
    assert live_server.count_rows("visit_form_answers", "checkin_id", uuid.UUID(checkin_id)) == 1
    # A replay of everything the phone ever sent changes nothing.
    again.evaluate("window.fieldsalesOutbox.flush()")
    assert live_server.count_rows("visit_form_answers", "checkin_id", uuid.UUID(checkin_id)) == 1
    screenshot(again, "visit-form-answers-phone-en")

    # The manager sees the answers on the rep's day and the figure on the customer page.
    manager = browsing.new_page(timezone_id=SHANGHAI)
    sign_in(manager, "manager1")
    manager.set_viewport_size(LAPTOP)
    manager.goto(f"/team/reps/{record['rep_id']}/day?date={stop['local_date']}")
    answers = manager.locator(f"[data-visit-answers-of='{checkin_id}']")
    expect(answers.locator("[data-answer='shelf_facings']")).to_have_text("12 facings")
    answers.scroll_into_view_if_needed()
    screenshot(manager, "visit-form-rep-day-laptop-en")
    manager.goto(f"/customers/{record['customer_id']}")
    expect(manager.locator("[data-point='shelf_facings']")).to_have_text("12")
    manager.locator("[data-form-charts]").scroll_into_view_if_needed()
    screenshot(manager, "visit-form-customer-chart-laptop-en")


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_screens_phone_and_laptop(browsing: Browsing, locale: str) -> None:
    """The builder and the visit page with a form, for the screenshots (docs/evidence.md)."""
    admin = browsing.new_page(locale=locale)
    sign_in(admin, "admin")
    admin.goto("/admin/visit-forms")
    if not admin.locator("[data-form-row]").count():
        admin.close()
        build_shelf_form(browsing)
        admin = browsing.new_page(locale=locale)
        sign_in(admin, "admin")
        admin.goto("/admin/visit-forms")
    admin.locator("[data-form-row] h2 a").first.click()
    expect(admin.locator("[data-form-builder]")).to_be_visible()
    tag = "zh" if locale.startswith("zh") else "en"
    screenshot(admin, f"visit-form-builder-phone-{tag}")
    admin.set_viewport_size(LAPTOP)
    screenshot(admin, f"visit-form-builder-laptop-{tag}")

    rep = browsing.new_page(locale=locale, timezone_id=SHANGHAI)
    sign_in(rep, "rep2")
    customer = api(rep, "/api/v1/customers?limit=1")
    rows = customer if isinstance(customer, list) else customer.get("items", [])
    rep.goto(f"/checkins/new?customer_id={rows[0]['id']}")
    expect(rep.locator("[data-visit-form]")).to_have_count(1)
    rep.locator("[data-step='visit']").evaluate("(node) => { node.hidden = false; }")
    rep.locator("[data-visit-form]").scroll_into_view_if_needed()
    screenshot(rep, f"visit-form-phone-{tag}")
    rep.set_viewport_size(LAPTOP)
    rep.locator("[data-visit-form]").scroll_into_view_if_needed()
    screenshot(rep, f"visit-form-laptop-{tag}")
    assert browsing.problems_of(rep) == []
