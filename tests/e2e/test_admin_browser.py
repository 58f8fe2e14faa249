"""An admin sets people up through the screens on a phone: create a user, move them to another
team, deactivate them; then every admin screen is photographed at 360 px and at laptop width in
English and Chinese (test-artifacts/screenshots/admin-*)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.support import Browsing, LiveServer, screenshot

pytestmark = pytest.mark.e2e

LAPTOP = {"width": 1366, "height": 900}
SCREENS = ("/admin", "/admin/users", "/admin/users/new", "/admin/org-units", "/admin/settings", "/admin/imports",
           "/admin/audit")  # fmt: skip


def option_value(page: Any, select: str, ending: str) -> str:
    """The value of the option whose label ends with `ending` (labels are "Company › Region › Team")."""
    for option in page.locator(f"{select} option").all():
        if (option.text_content() or "").strip().endswith(ending):
            return str(option.get_attribute("value"))
    raise AssertionError(f"no option ending with {ending!r} in {select}")


def test_create_move_and_deactivate_a_user(page_as: Any, browsing: Browsing, live_server: LiveServer) -> None:
    page = page_as("admin")
    page.goto("/admin")
    expect(page.locator("h1")).to_have_text("Admin")
    expect(page.get_by_text("Nothing set up yet")).to_have_count(0)
    page.get_by_role("link", name="Users", exact=True).first.click()
    page.get_by_role("link", name="New user").click()

    page.get_by_label("Name").fill("Mei Chen")
    page.get_by_label("Email").fill("mei.chen@demo.example")
    page.get_by_label("Role").select_option("rep")
    page.get_by_label("Org unit").select_option(option_value(page, "#f-org_unit_id", "Shanghai Team 1"))
    page.get_by_label("Initial password").fill("password")  # a common one: refused next to the field
    page.get_by_role("button", name="Create user").click()
    expect(page.locator("#f-password-error")).to_contain_text("common")
    page.get_by_label("Initial password").fill("")  # no password: a one-time link instead
    page.get_by_role("button", name="Create user").click()
    expect(page.locator(".flash")).to_contain_text("/set-password?token=")
    expect(page.locator("h1")).to_have_text("Mei Chen")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360, "the long link wraps"
    screenshot(page, "admin-user-created")

    page.get_by_label("New org unit").select_option(option_value(page, "#f-move-unit", "Shanghai Team 2"))
    page.get_by_role("button", name="Move", exact=True).click()
    expect(page.locator(".flash")).to_contain_text("Moved.")
    expect(page.get_by_text(re.compile(r"Now in .*Shanghai Team 2"))).to_be_visible()

    page.locator("#f-deactivate-successor").select_option(label="Rep 1")
    page.get_by_role("button", name="Deactivate").click()
    expect(page.locator(".flash")).to_contain_text("Deactivated and signed out everywhere")
    expect(page.locator(".page-head .chip")).to_have_text("Deactivated")
    with live_server.db() as db:
        active, unit = db.execute(
            "SELECT u.active, o.name FROM users u JOIN org_units o ON o.id = u.org_unit_id WHERE u.email = ?",
            ("mei.chen@demo.example",),
        ).fetchone()
    assert active == 0 and unit == "Shanghai Team 2"
    assert browsing.problems_of(page) == []


def test_deactivated_rep_is_signed_out_at_once(page_as: Any, browsing: Browsing) -> None:
    rep = page_as("rep4")
    expect(rep.locator("nav.app-nav")).to_be_visible()
    admin = page_as("admin")
    admin.goto("/admin/users?q=rep4")
    admin.get_by_role("link", name="Rep 4").click()
    admin.locator("#f-deactivate-successor").select_option(label="Rep 1")
    admin.get_by_role("button", name="Deactivate").click()
    expect(admin.locator(".flash")).to_contain_text("Deactivated")
    rep.goto("/customers")
    expect(rep).to_have_url(re.compile(r"/login"))


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_admin_screens_at_phone_and_laptop_width(page_as: Any, browsing: Browsing, locale: str) -> None:
    page = page_as("admin", locale=locale)
    with page.context.browser.new_context(base_url=browsing.server.url, viewport=LAPTOP, locale=locale,
                                          extra_http_headers={"Accept-Language": locale}) as laptop_context:  # fmt: skip
        laptop_context.add_cookies(page.context.cookies())
        laptop = laptop_context.new_page()
        for path in (*SCREENS, "/me/settings"):
            for view, name in ((page, "phone"), (laptop, "laptop")):
                response = view.goto(path)
                assert response is not None and response.status == 200, path
                width = view.evaluate("() => document.documentElement.scrollWidth")
                assert width <= view.viewport_size["width"], f"{path} scrolls sideways at {name} width"
                slug = path.strip("/").replace("/", "-") or "home"
                screenshot(view, f"admin-{slug}-{name}-{locale}")
        page.goto("/admin/org-units")
        page.locator('a[href^="/admin/calendars/"]').first.click()
        expect(page.locator(".year-calendar .month")).to_have_count(12)
        screenshot(page, f"admin-calendar-phone-{locale}")
    assert browsing.problems_of(page) == []
