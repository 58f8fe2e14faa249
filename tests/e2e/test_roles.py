"""The sign-in form in a real browser, and each role's landing page and navigation (phone-sized).

The other browser tests open their pages with a minted session (support.sign_in); here the form
itself signs each role in, with its argon2 check and its cookie."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.support import LOGINS, Browsing, screenshot, sign_in_through_form, wait_until

pytestmark = pytest.mark.e2e

# role -> (where it lands, its navigation in order)
ROLES = {
    "rep": ("/", ["Today", "Customers", "Deals", "Progress", "Inbox"]),
    "manager": ("/team", ["Team", "Stand-up", "Escalations", "Plans", "Customers"]),
    "executive": ("/org", ["Organisation", "Escalations", "Plans"]),
    "admin": ("/org", ["Organisation", "Plans", "Customers", "Admin"]),
}


def nav_labels(page: Any) -> list[str]:
    return [text.strip() for text in page.locator("nav.app-nav .nav-link > span").all_text_contents()]


def test_login_page(new_page: Any, browsing: Browsing) -> None:
    page = new_page()
    response = page.goto("/login")
    assert response is not None and response.status == 200
    expect(page.locator("h1")).to_have_text("Sign in")
    expect(page.get_by_label("Email")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_visible()
    expect(page.locator("nav.app-nav")).to_have_count(0)  # no navigation before signing in
    screenshot(page, "login")
    assert browsing.problems_of(page) == []


@pytest.mark.parametrize("role", list(ROLES))
def test_role_sees_its_navigation_and_every_link_opens(role: str, new_page: Any, browsing: Browsing) -> None:
    landing, labels = ROLES[role]
    page = new_page()
    sign_in_through_form(page, LOGINS[role])
    assert page.url.split("?")[0] == browsing.server.url + landing
    assert nav_labels(page) == labels
    # The landing page's own link is marked current (the rep's Today, the manager's Team, ...).
    current = page.locator('nav.app-nav .nav-link[aria-current="page"]')
    expect(current).to_have_attribute("href", landing)
    expect(page.locator("#net-status")).to_have_text("Online")
    # A page at rest animates nothing: the loading bar moves only during a request (hidden, an
    # endless animation still repaints every frame: a phone's battery spent on nothing).
    wait_until(page, "() => document.getAnimations().length === 0", timeout_ms=5_000)
    screenshot(page, f"home-{role}")
    assert browsing.problems_of(page) == []

    # Every link of the navigation opens without a server error (with this user's cookie).
    hrefs = page.locator("nav.app-nav .nav-link").evaluate_all(
        "(links) => links.map((a) => a.getAttribute('href'))"
    )
    statuses = {href: page.request.get(href).status for href in hrefs}
    broken = {href: status for href, status in statuses.items() if status >= 500}
    assert not broken, f"{role}: navigation links answering a server error: {broken} (all: {statuses})"


def test_rep_opening_a_manager_page_gets_the_403_page(page_as: Any, browsing: Browsing) -> None:
    page = page_as("rep")
    response = page.goto("/team")
    assert response is not None and response.status == 403
    expect(page.locator(".error-page h1")).to_have_text("Not allowed")
    expect(page.locator(".error-page .error-code")).to_have_text("403")
    # Still the rep's shell: their own navigation, nothing of the manager's.
    assert nav_labels(page) == ROLES["rep"][1]
    assert browsing.problems_of(page) == []
