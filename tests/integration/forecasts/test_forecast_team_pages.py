"""Forecast vs plan where managers look: /team (cards with the band chart and track record), the
stand-up board and the morning digest (stored with the digest), in English and Chinese."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings
from server.db.models import Digest, Forecast, ForecastAccuracy
from server.jobs.registry import run_job
from tests.conftest import DEFAULT_NOW, Demo, login_session
from tests.integration.escalations.test_forecast_miss import set_plan
from tests.integration.forecasts.test_forecasts import refit


async def test_team_home_board_and_digest_show_forecast_vs_plan(
    client: AsyncTestClient[Any],
    demo: Demo,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    session: AsyncSession,
) -> None:
    run_id = await refit(sessionmaker, settings, demo)
    team = demo.units["Shanghai Team 1"]
    row = await session.scalar(
        select(Forecast).where(
            Forecast.run_id == run_id, Forecast.scope_id == team, Forecast.period == "2026-11"
        )
    )
    assert row is not None
    high, point = row.high, row.point
    await set_plan(session, "org_unit", team, high + 5000)
    # The seeded history (3 months) is too short for a backtest: the cards say so ...
    await login_session(client, "manager1")
    assert "No track record yet" in (await client.get("/team/")).text
    # ... and once the team has its own track record, they quote it.
    session.add(
        ForecastAccuracy(run_id=run_id, level="team", scope_id=team, horizon=1, method="AutoETS",
                         wape=0.05, bias=0.01, mase=0.8, within=0.08, n=6)
    )  # fmt: skip
    await session.commit()

    home = await client.get("/team/")
    assert home.status_code == 200, home.text
    text = home.text
    assert "Forecast this month" in text and "chart-band" in text and 'role="img"' in text
    assert "Projected to miss" in text
    assert "month forecasts here were within ±8% in 8 of 10 of the last 6 months" in text
    chinese = await client.get("/team/", headers={"Accept-Language": "zh-CN"})
    assert ("本月预测" in chinese.text and "预计未达成" in chinese.text) or "预计" in chinese.text

    board = await client.get(f"/standup?org_unit_id={team}&date=2026-11-18")
    assert board.status_code == 200, board.text
    section = board.text.split('data-section="forecast"')[1].split("</section>")[0]
    assert "Forecast vs plan" in section and "Projected to miss" in section
    assert f"{point:,.2f}" in section  # the stored point forecast, formatted as money

    assert (await run_job("digest", sessionmaker, settings, DEFAULT_NOW, force_slot="d"))["digests"] >= 1
    content = await session.scalar(select(Digest.content).where(Digest.manager_id == demo.user("manager1")))
    assert content is not None
    month = next(r for r in content["forecast"] if r["period"] == "2026-11")
    assert month["projected_to_miss"] is True and Decimal(month["plan"]) == high + 5000
    assert Decimal(month["forecast"]) == point and month["months"] == 6
    page = await client.get("/digests/2026-11-18")
    assert page.status_code == 200 and "Forecast vs plan" in page.text and "Projected to miss" in page.text
    assert "within ±8%" in page.text
    zh = await client.get("/digests/2026-11-18", headers={"Accept-Language": "zh-CN"})
    assert "预测与计划" in zh.text and "预计" in zh.text


async def test_reps_do_not_see_their_units_forecast_on_the_board(
    client: AsyncTestClient[Any],
    demo: Demo,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    await refit(sessionmaker, settings, demo)
    await login_session(client, "rep1")
    board = await client.get("/standup")
    assert board.status_code == 200 and 'data-section="forecast"' not in board.text
