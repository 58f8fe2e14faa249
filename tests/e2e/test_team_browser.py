"""/team in Chromium: the manager's home from real data, and drill-down by clicking through
organisation -> region -> team -> rep -> the rep's day and a customer; phone and laptop, English
and Simplified Chinese (screenshots under test-artifacts/screenshots/)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.support import SCREENSHOTS, Browsing, screenshot

LAPTOP = {"width": 1366, "height": 900}


def test_manager_drills_from_team_to_a_reps_day_and_a_customer(
    page_as: Callable[..., Any], browsing: Browsing
) -> None:
    page = page_as("manager")
    page.goto("/team")
    expect(page.locator("h1")).to_have_text("Shanghai Team 1")
    for section in ("pace", "needs-you", "today", "field", "escalations", "promises"):
        expect(page.locator(f'[data-section="{section}"]')).to_be_visible()
    expect(page.locator("text=No team activity yet today")).to_have_count(0)
    rows = page.locator('[data-section="today"] tbody tr')
    assert rows.count() >= 2
    rep_link = rows.first.locator("th a").first
    rep_name = rep_link.inner_text()
    rep_link.click()
    expect(page.locator("h1")).to_have_text(rep_name)
    expect(page.locator('[data-section="customers"] tbody tr').first).to_be_visible()
    page.locator("text=Open the day and add tasks").click()
    expect(page.locator("h1")).to_contain_text(rep_name)
    expect(page.locator('form[action$="/tasks"]')).to_be_visible()  # the manager can add a task here
    page.go_back()
    customer = page.locator('[data-section="customers"] tbody tr th a').first
    customer_name = customer.inner_text()
    customer.click()
    expect(page.locator("h1")).to_contain_text(customer_name)
    assert browsing.problems_of(page) == []


def test_executive_drills_from_the_organisation_down_to_a_rep(page_as: Callable[..., Any]) -> None:
    page = page_as("executive")
    page.goto("/org")
    region_link = page.locator('a[href^="/team/units/"]').first  # a region
    region = region_link.inner_text()
    region_link.click()
    expect(page.locator("h1")).to_have_text(region)
    page.locator('[data-section="units"] tbody a').first.click()  # a team of it
    expect(page.locator(".breadcrumb")).to_contain_text(region)
    page.locator('[data-section="today"] tbody th a').first.click()  # a rep
    expect(page.locator('[data-section="pace"]')).to_be_visible()
    expect(page.locator(".breadcrumb a").first).to_be_visible()


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_team_home_screenshots(page_as: Callable[..., Any], locale: str) -> None:
    page = page_as("manager", locale=locale)
    page.goto("/team")
    expect(page.locator('[data-section="today"]')).to_be_visible()
    if locale == "zh-CN":
        expect(page.locator("#today-title")).to_have_text("每位销售代表的今日计划")
    # No sideways scrolling on a 360 px phone: wide tables scroll inside their own box.
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at 360 px"
    screenshot(page, f"team-phone-{locale}")
    page.screenshot(path=str(SCREENSHOTS / f"team-phone-{locale}-full.png"), full_page=True)
    page.set_viewport_size(LAPTOP)
    page.goto("/team")
    screenshot(page, f"team-laptop-{locale}")
    page.screenshot(path=str(SCREENSHOTS / f"team-laptop-{locale}-full.png"), full_page=True)
