"""Deals in Chromium: a rep moves a deal on at an offline check-out and it syncs exactly once;
the opportunity pages on a phone and a laptop, in English and Chinese (screenshots)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from playwright.sync_api import expect

from tests.e2e.support import OUTBOX_EMPTY, Browsing, LiveServer, screenshot, sign_in, wait_until

VISIT_URL = re.compile(r"/checkins/[0-9a-f-]{36}$")
SHANGHAI = "Asia/Shanghai"


def _uuid(value: Any) -> uuid.UUID:
    return uuid.UUID(bytes=value) if isinstance(value, bytes) else uuid.UUID(str(value))


def rep1_customer(server: LiveServer) -> tuple[uuid.UUID, float, float]:
    connection = server.db()
    try:
        row = connection.execute(
            "SELECT c.id, c.lat, c.lng FROM customers c JOIN users u ON u.id = c.owner_rep_id "
            "WHERE u.email = 'rep1@demo.example' AND c.status = 'active' AND c.lat IS NOT NULL "
            "ORDER BY c.external_ref DESC LIMIT 1"
        ).fetchone()
    finally:
        connection.close()
    return _uuid(row[0]), row[1], row[2]


def stage_changes(server: LiveServer, opportunity_id: uuid.UUID) -> list[tuple[str, Any]]:
    """(to stage, check-in id) of every stage change of the deal, oldest first."""
    connection = server.db()
    try:
        rows = connection.execute(
            "SELECT s.name, c.checkin_id FROM opportunity_stage_changes c "
            "JOIN opportunity_stages s ON s.id = c.to_stage_id WHERE c.opportunity_id IN (?, ?, ?) ORDER BY c.at",
            (opportunity_id.bytes, opportunity_id.hex, str(opportunity_id)),
        ).fetchall()
    finally:
        connection.close()
    return [(name, None if checkin is None else _uuid(checkin)) for name, checkin in rows]


CREATE_DEAL = """async (customerId) => {
    const token = document.querySelector('meta[name="csrf-token"]').content;
    const response = await fetch("/api/v1/opportunities", {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": token},
        body: JSON.stringify({customer_id: customerId, title: "Spring order", amount: "8000", stage: "Qualified"}),
    });
    return (await response.json()).opportunity.id;
}"""


def test_a_deal_moved_on_at_an_offline_check_out_syncs_once(
    browsing: Browsing, live_server: LiveServer
) -> None:
    customer_id, lat, lng = rep1_customer(live_server)
    page = browsing.new_page(
        timezone_id=SHANGHAI,
        geolocation={"latitude": lat, "longitude": lng, "accuracy": 15},
        permissions=["geolocation"],
    )
    sign_in(page, "rep1")
    deal_id = uuid.UUID(page.evaluate(CREATE_DEAL, str(customer_id)))
    page.goto(f"/checkins/new?customer_id={customer_id}")
    # The deal and stage lists load while online and stay on the phone for the offline visit.
    expect(page.locator("[data-visit-deal][data-ready='true']")).to_have_count(1)
    expect(page.get_by_label("Deal", exact=True)).to_have_value("")  # no deal unless the rep picks one
    page.context.set_offline(True)
    page.get_by_role("button", name="Check in here").click()
    expect(page.get_by_text("Checked in on this phone — waiting to sync")).to_be_visible()
    page.get_by_label("Follow up").check()
    deal = page.get_by_label("Deal", exact=True)
    deal.select_option(str(deal_id))
    expect(page.get_by_label("Deal title")).to_be_hidden()
    page.get_by_label("Stage").select_option("Negotiation")
    page.get_by_label("Deal", exact=True).scroll_into_view_if_needed()
    screenshot(page, "pipeline-checkout-deal-phone-en")
    page.get_by_role("button", name="Check out").click()
    expect(page.get_by_role("heading", name="Checked out")).to_be_visible()
    assert page.evaluate("window.fieldsalesOutbox.count()") == 2
    queued = page.evaluate("async () => (await window.FieldsalesOutboxCore.all()).map((r) => r.body)")
    checkout = next(body for body in queued if "outcome" in body)
    assert checkout["opportunity"] == {"stage": "Negotiation", "id": str(deal_id), "amount": "8000.00"}

    page.context.set_offline(False)  # the outbox replays both, in order
    expect(page).to_have_url(VISIT_URL)
    checkin_id = uuid.UUID(page.url.rsplit("/", 1)[1])
    wait_until(page, OUTBOX_EMPTY)
    assert stage_changes(live_server, deal_id) == [("Qualified", None), ("Negotiation", checkin_id)]

    # The same check-out sent again (a phone that lost the answer) changes nothing.
    replay = page.evaluate(
        """async ([url, body]) => {
            const token = document.querySelector('meta[name="csrf-token"]').content;
            const response = await fetch(url, {method: "POST", credentials: "same-origin",
                headers: {"Content-Type": "application/json", "X-CSRF-Token": token}, body: JSON.stringify(body)});
            return response.status;
        }""",
        [f"/api/v1/checkins/{checkin_id}/checkout", checkout],
    )
    assert replay == 200
    assert stage_changes(live_server, deal_id) == [("Qualified", None), ("Negotiation", checkin_id)]
    assert browsing.problems_of(page) == []


LAPTOP = {"width": 1366, "height": 768}
HEADINGS = {"en-US": ("Deals", "Update the deal", "Deals"), "zh-CN": ("商机", "更新商机", "商机")}


def test_deal_pages_on_a_phone_and_a_laptop_in_english_and_chinese(page_as: Any, browsing: Browsing) -> None:
    for locale, (deals, update, section) in HEADINGS.items():
        tag = locale[:2]
        page = page_as("rep", locale=locale)
        page.goto("/opportunities?status=all")
        expect(page.locator("h1")).to_have_text(deals)
        expect(page.locator('nav.app-nav a[aria-current="page"]')).to_have_text(deals)
        screenshot(page, f"pipeline-deals-phone-{tag}")
        page.locator(".card-list a").first.click()
        expect(page.get_by_role("heading", name=update)).to_be_visible()
        screenshot(page, f"pipeline-deal-phone-{tag}")
        page.set_viewport_size(LAPTOP)
        screenshot(page, f"pipeline-deal-laptop-{tag}")
        page.goto("/opportunities?status=all")
        screenshot(page, f"pipeline-deals-laptop-{tag}")
        assert browsing.problems_of(page) == []

        manager = page_as("manager", locale=locale)
        manager.goto("/team")
        funnel = manager.locator("[data-section='deal-funnel']")
        expect(funnel.get_by_role("heading", name=section)).to_be_visible()
        expect(funnel.locator("[data-funnel] table").first).to_be_visible()  # the fragment loaded
        funnel.scroll_into_view_if_needed()
        screenshot(manager, f"pipeline-funnel-phone-{tag}")
        manager.set_viewport_size(LAPTOP)
        manager.goto("/pipeline/funnel")
        expect(manager.locator("[data-funnel] table")).to_have_count(2)  # stages, and the team's reps
        screenshot(manager, f"pipeline-funnel-laptop-{tag}")
        assert browsing.problems_of(manager) == []
