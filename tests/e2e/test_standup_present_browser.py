"""standup.js in Chromium against a real server: keys, swipe, the meeting timer, and a second run
of the script after hx-boost navigation that must not double the listeners.

Like test_checkins_browser.py it borrows tests/e2e's helpers with its own module-scoped server.
The page's clock is Playwright's fake clock, so the timer is checked without waiting.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Browsing,
    LiveServer,
    seeded_live_server,
    sign_in,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # Six reps in two teams: manager1's team has three, enough to see a double step.
    yield from seeded_live_server(
        tmp_path_factory.mktemp("standup-browser"), "--reps", "6", "--customers", "30", "--months", "1"
    )


@pytest.fixture(scope="module")
def browser(playwright_driver: Any, live_server: LiveServer) -> Iterator[Any]:
    # The package's Playwright driver (tests/e2e/conftest.py): a second sync_playwright() fails
    # while the first is alive, which it is when other e2e modules ran before this one.
    browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def browsing(browser: Any, live_server: LiveServer) -> Iterator[Browsing]:
    session = Browsing(browser, live_server)
    yield session
    session.close()


def swipe(page: Any, dx: int) -> None:
    """A horizontal touch swipe of dx pixels on the current card."""
    page.evaluate(
        """(dx) => {
          const card = document.querySelector('.presenter-card.is-current');
          const at = (x) => [new Touch({identifier: 1, target: card, clientX: x, clientY: 300})];
          card.dispatchEvent(new TouchEvent('touchstart', {bubbles: true, changedTouches: at(200), touches: at(200)}));
          card.dispatchEvent(new TouchEvent('touchend', {bubbles: true, changedTouches: at(200 + dx), touches: []}));
        }""",
        dx,
    )


def test_presenter_keys_swipe_timer_and_a_second_run(browsing: Browsing) -> None:
    page = browsing.new_page()
    page.clock.install()
    sign_in(page, "manager1")
    page.goto("/standup")
    page.get_by_role("link", name="Present").click()  # boosted: the body's script runs
    position = page.locator("[data-position]")
    cards = page.locator(".presenter-card")
    expect(page.locator(".presenter")).to_have_class(re.compile(r"\bis-live\b"))
    expect(position).to_have_text("1")
    expect(cards).to_have_count(3)
    expect(page.locator(".presenter-card:visible")).to_have_count(1)
    rep_timer, meeting_timer = page.locator('[data-timer="rep"]'), page.locator('[data-timer="meeting"]')
    expect(rep_timer).to_have_text("5:00")  # 15 minutes / 3 reps; not started yet

    page.keyboard.press("ArrowRight")  # moving on starts the meeting timer
    expect(position).to_have_text("2")
    expect(cards.nth(1)).to_be_visible()
    expect(cards.nth(0)).to_be_hidden()
    # The fake clock also flows with real time, so allow a few real seconds of slack.
    page.clock.run_for(70_000)
    expect(meeting_timer).to_have_text(re.compile(r"^13:[45]\d$"))
    expect(rep_timer).to_have_text(re.compile(r"^3:[45]\d$"))
    page.clock.run_for(240_000)  # this rep's 5 minutes are up: the timer counts over
    expect(rep_timer).to_have_class("presenter-time is-over")
    swipe(page, -120)
    expect(position).to_have_text("3")
    expect(rep_timer).to_have_text(re.compile(r"^(5:00|4:[45]\d)$"))  # the next rep's full share
    expect(rep_timer).not_to_have_class(re.compile("is-over"))
    swipe(page, 120)
    expect(position).to_have_text("2")
    swipe(page, 20)  # too short to be a swipe
    expect(position).to_have_text("2")

    page.get_by_role("link", name="Leave").click()
    page.get_by_role("link", name="Present").click()  # the script runs a second time
    expect(page.locator(".presenter")).to_have_class(re.compile(r"\bis-live\b"))  # set up again
    expect(page.locator(".presenter-card:visible")).to_have_count(1)
    expect(position).to_have_text("1")
    page.keyboard.press("ArrowRight")
    expect(position).to_have_text("2")  # one step, not two: listeners were not doubled
    page.keyboard.press("ArrowLeft")
    expect(position).to_have_text("1")
    assert browsing.problems_of(page) == []
