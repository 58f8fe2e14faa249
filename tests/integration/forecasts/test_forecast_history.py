"""How a forecast moved: every stored run (refit or nightly update) of one scope and period, by
day or the last of each week, scoped like every resource, and its page."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings
from server.jobs.registry import run_job
from tests.conftest import DEFAULT_NOW, Demo, login_session


async def test_history_by_day_and_week_scoped_with_its_page(
    client: AsyncTestClient[Any],
    auth: Any,
    demo: Demo,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    # Wednesday refit, Thursday nightly update, next Monday refit (Shanghai dates 18, 19, 23 Nov).
    for days, slot in ((0, "a"), (1, "b"), (5, "c")):
        await run_job("forecast", sessionmaker, settings, DEFAULT_NOW + timedelta(days=days), force_slot=slot)
    rep1 = demo.user("rep1")
    headers = await auth("rep1")
    daily = await client.get("/api/v1/forecasts/history?period=2026-11&by=day", headers=headers)
    assert daily.status_code == 200, daily.text
    points = daily.json()["points"]
    assert [(p["as_of"], p["kind"]) for p in points] == [
        ("2026-11-18", "refit"),
        ("2026-11-19", "update"),
        ("2026-11-23", "refit"),
    ]
    for p in points:
        assert Decimal(p["low"]) <= Decimal(p["forecast"]) <= Decimal(p["high"])
        assert Decimal(p["actual_to_date"]) <= Decimal(p["forecast"])
    current = await client.get("/api/v1/forecasts?period=2026-11", headers=headers)
    assert current.json()["forecast"] == points[-1]["forecast"]  # the latest run is the forecast
    weekly = await client.get("/api/v1/forecasts/history?period=2026-11", headers=headers)
    assert [p["as_of"] for p in weekly.json()["points"]] == ["2026-11-19", "2026-11-23"]

    for who, query, status in (
        ("rep1", f"scope=user&scope_id={demo.user('rep2')}&period=2026-11", 404),
        ("manager1", f"scope=org_unit&scope_id={demo.company_id}&period=2026-11", 404),
        ("rep1", "period=2026-11&by=month", 400),
        ("rep1", "period=2026-14", 400),
    ):
        answer = await client.get(f"/api/v1/forecasts/history?{query}", headers=await auth(who))
        assert answer.status_code == status, (who, query, answer.text)
    team = await client.get(
        f"/api/v1/forecasts/history?scope=org_unit&scope_id={demo.units['Shanghai Team 1']}&period=2026-Q4",
        headers=await auth("manager1"),
    )
    assert team.status_code == 200 and len(team.json()["points"]) == 2

    await login_session(client, "manager1")
    team_page = await client.get(
        f"/forecasts/history?scope=org_unit&scope_id={demo.units['Shanghai Team 1']}&period=2026-Q4"
    )
    assert team_page.status_code == 200 and "chart-forecast-history" in team_page.text
    await login_session(client, "rep1")
    page = await client.get(f"/forecasts/history?scope=user&scope_id={rep1}&period=2026-11")
    assert page.status_code == 200 and "chart-forecast-history" in page.text and "Nov 23, 2026" in page.text
    zh = await client.get("/forecasts/history?period=2026-11", headers={"Accept-Language": "zh-CN"})
    assert "的预测如何变化" in zh.text
    progress = await client.get("/progress")
    assert "/forecasts/history?scope=user" in progress.text
