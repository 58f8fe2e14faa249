"""Forecasts on the demo company: coherent along the org tree, idempotent job, scoped API,
accuracy table, and a target proposal that sums exactly."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.clock import Clock
from server.config import Settings
from server.core.org import OrgTree
from server.core.services import provide_services
from server.db.models import Forecast, ForecastRun, Order, Target, User
from server.jobs.registry import run_job
from server.services.forecasts.service import ForecastService
from tests.conftest import DEFAULT_NOW, Demo, login_session

AS_OF = date(2026, 11, 18)  # Shanghai date at DEFAULT_NOW


async def refit(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, demo: Demo) -> UUID:
    async with provide_services(sessionmaker, settings, Clock(fixed=DEFAULT_NOW)) as services:
        run = await services.get(ForecastService).refit(demo.company_id, AS_OF)
        assert run is not None
        return run.id


async def test_children_sum_to_parent_and_actuals_match_orders(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, demo: Demo, session: AsyncSession
) -> None:
    run_id = await refit(sessionmaker, settings, demo)
    rows = (await session.scalars(select(Forecast).where(Forecast.run_id == run_id))).all()
    by_key = {(r.scope_id, r.period): r for r in rows}
    tree = await OrgTree.load(session)
    reps = dict(
        (await session.execute(select(User.id, User.org_unit_id).where(User.role == "rep"))).tuples().all()
    )
    periods = {r.period for r in rows}
    assert {"2026-11", "2026-12", "2026-Q4", "2027-Q1"} <= periods
    checked = 0
    for unit in tree.subtree(demo.company_id):
        below = set(tree.subtree(unit))
        leaves = [rep for rep, rep_unit in reps.items() if rep_unit in below]
        if not leaves:
            continue
        for period in periods:
            parent = by_key[(unit, period)]
            assert parent.point == sum(by_key[(rep, period)].point for rep in leaves), (unit, period)
            assert parent.actual_to_date == sum(by_key[(rep, period)].actual_to_date for rep in leaves)
            assert parent.low <= parent.point <= parent.high
            checked += 1
    assert checked >= 7 * len(periods)  # company, 2 regions, 4 teams
    rep1 = demo.user("rep1")
    raw = await session.scalar(
        select(func.sum(Order.amount)).where(
            Order.rep_id == rep1, Order.ordered_on >= date(2026, 11, 1), Order.ordered_on < AS_OF
        )
    )
    november = by_key[(rep1, "2026-11")]
    assert november.actual_to_date == raw and november.point >= raw and november.low >= raw
    assert by_key[(rep1, "2026-12")].actual_to_date == 0


async def test_job_is_idempotent_and_updates_nightly(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, demo: Demo, session: AsyncSession
) -> None:
    first = await run_job("forecast", sessionmaker, settings, DEFAULT_NOW, force_slot="a")
    again = await run_job("forecast", sessionmaker, settings, DEFAULT_NOW, force_slot="b")
    assert first == {"refits": 1, "updates": 0} and again == {"refits": 0, "updates": 0}
    count = await session.scalar(select(func.count()).select_from(Forecast))
    next_night = DEFAULT_NOW + timedelta(days=1)  # Thursday 10:00 Shanghai: in-period update
    assert await run_job("forecast", sessionmaker, settings, next_night, force_slot="c") == {
        "refits": 0,
        "updates": 1,
    }
    assert await run_job("forecast", sessionmaker, settings, next_night, force_slot="d") == {
        "refits": 0,
        "updates": 0,
    }
    runs = (
        await session.execute(select(ForecastRun.kind, ForecastRun.as_of).order_by(ForecastRun.as_of))
    ).all()
    assert [tuple(r) for r in runs] == [("refit", AS_OF), ("update", AS_OF + timedelta(days=1))]
    assert await session.scalar(select(func.count()).select_from(Forecast)) == 2 * (count or 0)
    monday = DEFAULT_NOW + timedelta(days=5)  # Monday 10:00 Shanghai: weekly refit
    assert await run_job("forecast", sessionmaker, settings, monday, force_slot="e") == {
        "refits": 1,
        "updates": 0,
    }


async def test_api_scoped_like_every_resource(
    client: AsyncTestClient[Any],
    auth: Any,
    demo: Demo,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    await refit(sessionmaker, settings, demo)
    rep1, rep2 = demo.user("rep1"), demo.user("rep2")
    own = await client.get("/api/v1/forecasts?period=2026-11", headers=await auth("rep1"))
    assert own.status_code == 200, own.text
    body = own.json()
    assert body["scope_id"] == str(rep1) and body["as_of"] == "2026-11-18" and body["method"]
    assert Decimal(body["low"]) <= Decimal(body["forecast"]) <= Decimal(body["high"])
    if body["plan"] is not None:
        assert Decimal(body["gap_to_plan"]) == Decimal(body["forecast"]) - Decimal(body["plan"])
        assert body["projected_to_miss"] == (Decimal(body["high"]) < Decimal(body["plan"]))
    for who, scope, scope_id in (
        ("rep1", "user", rep2),
        ("manager1", "user", rep2),
        ("rep1", "org_unit", demo.company_id),
        ("manager1", "org_unit", demo.company_id),
    ):
        denied = await client.get(
            f"/api/v1/forecasts?scope={scope}&scope_id={scope_id}&period=2026-11", headers=await auth(who)
        )
        assert denied.status_code == 404, (who, scope, denied.text)
    company = await client.get(
        f"/api/v1/forecasts?scope=org_unit&scope_id={demo.company_id}&period=2026-q4",
        headers=await auth("exec"),
    )
    assert company.status_code == 200 and company.json()["period"] == "2026-Q4"
    for query, field in (
        ("period=2026-13", "period"),
        ("period=2026-11&scope=team", "scope"),
        ("", "period"),
    ):
        bad = await client.get(f"/api/v1/forecasts?{query}", headers=await auth("rep1"))
        assert bad.status_code == 400 and field in bad.text, (query, bad.text)
    accuracy = await client.get("/api/v1/forecasts/accuracy", headers=await auth("manager1"))
    methods = accuracy.json()["methods"]
    assert accuracy.status_code == 200 and set(methods) == {
        "rep",
        "team",
        "region",
        "company",
        "reconciliation",
    }
    assert methods["reconciliation"] == "hierarchicalforecast MinTrace(ols)"


async def test_proposal_sums_exactly_to_the_requested_total(
    client: AsyncTestClient[Any],
    auth: Any,
    demo: Demo,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    await refit(sessionmaker, settings, demo)
    forecast = await client.get(
        f"/api/v1/forecasts?scope=org_unit&scope_id={demo.company_id}&period=2026-12",
        headers=await auth("exec"),
    )
    point = Decimal(forecast.json()["forecast"])
    payload = {"org_unit_id": str(demo.company_id), "period": "2026-12", "growth_pct": "7.5"}
    response = await client.post("/api/v1/targets/proposal", json=payload, headers=await auth("exec"))
    assert response.status_code == 200, response.text
    body = response.json()
    total = Decimal(body["total"])
    assert total == (point * Decimal("1.075")).quantize(Decimal("0.01"))
    assert sum(Decimal(t["amount"]) for t in body["targets"]) == total
    assert len(body["targets"]) == 2 and all(t["scope"] == "org_unit" for t in body["targets"])
    shares: dict[str, Decimal] = defaultdict(Decimal)
    for t in body["targets"]:
        shares[t["scope_id"]] = Decimal(t["amount"])
    assert all(v >= 0 for v in shares.values())
    manager = await client.post("/api/v1/targets/proposal", json=payload, headers=await auth("manager1"))
    assert manager.status_code == 403
    for bad, field in (
        ({**payload, "period": "2026-Q5"}, "period"),
        ({**payload, "growth_pct": "-100"}, "growth_pct"),
    ):
        rejected = await client.post("/api/v1/targets/proposal", json=bad, headers=await auth("exec"))
        assert rejected.status_code == 400 and field in rejected.text, rejected.text


async def test_pages_show_forecast_band_track_record_and_projected_miss(
    client: AsyncTestClient[Any],
    demo: Demo,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    session: AsyncSession,
) -> None:
    run_id = await refit(sessionmaker, settings, demo)
    rep1 = demo.user("rep1")
    row = await session.scalar(
        select(Forecast).where(
            Forecast.run_id == run_id, Forecast.scope_id == rep1, Forecast.period == "2026-11"
        )
    )
    assert row is not None
    await session.execute(
        update(Target)
        .where(
            Target.scope == "user",
            Target.scope_id == rep1,
            Target.granularity == "month",
            Target.period_start == date(2026, 11, 1),
            Target.metric == "revenue",
            Target.status == "approved",
        )
        .values(amount=row.high + 1000)
    )
    await session.commit()
    await login_session(client, "rep1")
    page = await client.get("/progress")
    assert page.status_code == 200
    assert "Forecast this month" in page.text and "chart-band" in page.text and 'role="img"' in page.text
    assert "Projected to miss" in page.text
    await login_session(client, "exec")
    org = await client.get("/org/")
    assert (
        org.status_code == 200
        and "Forecast this quarter" in org.text
        and "Projected to miss" not in org.text.split("Forecast this month")[0]
    )
    chinese = await client.get("/org/", headers={"Accept-Language": "zh-CN"})
    assert "本月预测" in chinese.text


async def test_a_company_without_history_gets_no_forecast_and_no_error(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, demo: Demo, session: AsyncSession
) -> None:
    from server.db.models import OrgUnit

    empty = OrgUnit(name="Empty Co", kind="company", timezone="UTC")
    session.add(empty)
    await session.commit()
    async with provide_services(sessionmaker, settings, Clock(fixed=DEFAULT_NOW)) as services:
        assert await services.get(ForecastService).refit(empty.id, AS_OF) is None
    result = await run_job("forecast", sessionmaker, settings, DEFAULT_NOW, force_slot="x")
    assert result == {"refits": 1, "updates": 0}  # the demo company; the empty one is skipped
