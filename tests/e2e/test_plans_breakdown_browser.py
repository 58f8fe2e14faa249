"""The breakdown form on a phone: each method previews its children in place (htmx), nothing is
saved until the manager splits, and the page fits 360 px."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.support import Browsing, screenshot

pytestmark = pytest.mark.e2e


def test_breakdown_preview_on_a_phone(page_as: Any, browsing: Browsing) -> None:
    page = page_as("manager")
    page.goto("/plans?period=2026")  # the seeded year plan: the team's top target
    page.get_by_role("link", name="Open plan").first.click()
    page.wait_for_url("**/plans/targets/*")
    target_url = page.url.split("?")[0]
    page.goto(target_url + "/breakdown")
    org = page.locator("section[aria-labelledby='org-title']")
    for method in ("Evenly", "Last period’s actual share"):
        org.get_by_label(method).check()
        org.get_by_role("button", name="Preview").click()
        preview = page.locator("#preview-org")
        expect(preview.get_by_text("Preview (not saved yet)")).to_be_visible()
        expect(preview.locator("tbody tr")).not_to_have_count(0)
        assert page.url.split("?")[0] == target_url + "/breakdown", "the preview stays on the form"
    org.get_by_label("Shares I enter (percent, summing to 100)").check()
    org.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-org .form-error")).to_be_visible()  # empty boxes: named, not a 500
    time = page.locator("section[aria-labelledby='time-title']")
    if time.count():
        time.get_by_role("button", name="Preview").click()
        # the team's months follow the region's: the preview says so instead of splitting again
        expect(page.locator("#preview-time .form-error")).to_contain_text("follow")
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 360, f"the form overflows a phone: {width}px"
    screenshot(page, "plans-breakdown-preview")
    assert browsing.problems_of(page) == []
