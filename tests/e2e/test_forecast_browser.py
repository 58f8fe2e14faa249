"""Forecast vs plan on a phone: after the forecast job ran, the rep's /progress and the
executive's /org show the band chart, the figures and the method, fit 360 px, in both languages."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.e2e.support import Browsing, LiveServer, screenshot, server_env

pytestmark = pytest.mark.e2e


def run_forecast_job(live_server: LiveServer, day: date) -> None:
    """Run the forecast job at 04:00 company time on `day`: the nightly update starts at 02:00
    (the Monday refit at 03:00), so a run in the company's small hours would rightly do nothing."""
    with sqlite3.connect(live_server.db_path) as db:
        (zone,) = db.execute("SELECT timezone FROM org_units WHERE parent_id IS NULL").fetchone()
    at = datetime.combine(day, time(4), ZoneInfo(zone))
    env = server_env(live_server.db_path, 0)
    done = subprocess.run(
        [sys.executable, "-m", "server", "jobs", "run", "forecast", "--at", at.isoformat()],
        cwd=live_server.db_path.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]


def test_forecast_cards_on_a_phone(page_as: Any, browsing: Browsing, live_server: LiveServer) -> None:
    page = page_as("rep")
    # The page forecasts the rep's own month: the job runs on the rep's day, not the machine's.
    zone = ZoneInfo(page.request.get("/api/v1/me").json()["timezone"])
    run_forecast_job(live_server, datetime.now(zone).date())
    page.goto("/progress")
    card = page.locator(".forecast-cards .card").first
    expect(card.get_by_role("heading", name="Forecast this month")).to_be_visible()
    expect(card.get_by_role("img", name="Forecast this month")).to_be_visible()
    expect(card.get_by_text("80% range")).to_be_visible()
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 360, f"the forecast card overflows a phone: {width}px"
    card.scroll_into_view_if_needed()
    screenshot(page, "forecast-progress")
    assert browsing.problems_of(page) == []

    chinese = page_as("executive", locale="zh-CN")
    chinese.goto("/org/")
    expect(chinese.get_by_role("heading", name="本季度预测")).to_be_visible()
    assert chinese.evaluate("document.scrollingElement.scrollWidth") <= 360
    assert browsing.problems_of(chinese) == []
