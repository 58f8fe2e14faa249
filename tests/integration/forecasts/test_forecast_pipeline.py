"""The probability-weighted open pipeline in the in-period forecast: a deal expected to close in
the rest of the month raises the rep's forecast to actual + the weighted pipeline when that is
more than the model's rest; next month's, lost, won and overdue deals do not count this month;
units stay the sum of their reps. And the stand-up API's forecast vs plan."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.clock import Clock
from server.config import Settings
from server.core.org import OrgTree
from server.core.services import provide_services
from server.db.models import Customer, Forecast, Opportunity, OpportunityStage, User
from server.services.forecasts.service import ForecastService
from tests.conftest import DEFAULT_NOW, Demo
from tests.integration.forecasts.test_forecasts import AS_OF, refit

BIG = Decimal("10000000.00")  # far above any rep's month in the demo


async def rows_of(session: AsyncSession, run_id: UUID) -> dict[tuple[UUID, str], Forecast]:
    rows = await session.scalars(select(Forecast).where(Forecast.run_id == run_id))
    return {(r.scope_id, r.period): r for r in rows}


async def add_deals(session: AsyncSession, demo: Demo, rep: UUID) -> None:
    stages = (
        await session.scalars(select(OpportunityStage).where(OpportunityStage.company_id == demo.company_id))
    ).all()
    kind = {s.kind: s for s in sorted(stages, key=lambda s: s.position)}
    customer = await session.scalar(select(Customer).where(Customer.owner_rep_id == rep).limit(1))
    assert customer is not None and {"open", "won", "lost"} <= set(kind)
    deals = [
        ("this month", "open", BIG, 90, date(2026, 11, 25)),
        ("next month", "open", BIG / 2, 90, date(2026, 12, 10)),
        ("lost", "lost", BIG, 90, date(2026, 11, 20)),
        ("won", "won", BIG, 100, date(2026, 11, 20)),
        ("overdue", "open", BIG, 90, date(2026, 11, 10)),  # expected before as_of: not in any period
    ]
    session.add_all(
        Opportunity(
            company_id=demo.company_id,
            org_unit_id=customer.org_unit_id,
            customer_id=customer.id,
            title=title,
            amount=amount,
            stage_id=kind[stage].id,
            probability=probability,
            expected_close=close,
            owner_rep_id=rep,
            stage_changed_at=DEFAULT_NOW,
        )
        for title, stage, amount, probability, close in deals
    )
    await session.commit()


async def test_a_deal_closing_this_month_raises_the_forecast_by_the_weighted_pipeline(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, demo: Demo, session: AsyncSession
) -> None:
    rep1 = demo.user("rep1")
    # rep1's seeded deals out of the way, so the only pipeline is the one added below
    await session.execute(
        update(Opportunity).where(Opportunity.owner_rep_id == rep1).values(expected_close=date(2030, 1, 1))
    )
    await session.commit()
    before = await rows_of(session, await refit(sessionmaker, settings, demo))
    assert before[(rep1, "2026-11")].pipeline == 0
    await add_deals(session, demo, rep1)
    async with provide_services(sessionmaker, settings, Clock(fixed=DEFAULT_NOW)) as services:
        run = await services.get(ForecastService).update(demo.company_id, AS_OF)  # same model bands
        assert run is not None
    after = await rows_of(session, run.id)

    nov_before, nov = before[(rep1, "2026-11")], after[(rep1, "2026-11")]
    weighted = BIG * 90 / 100  # only the open deal expected in the rest of November
    assert nov.pipeline == weighted and nov.actual_to_date == nov_before.actual_to_date
    model_rest = nov_before.point - nov_before.actual_to_date
    assert weighted > model_rest  # so the documented rule gives: actual + the weighted pipeline
    assert nov.point == nov.actual_to_date + weighted
    assert nov.point - nov_before.point == weighted - model_rest
    assert nov.low == nov_before.low  # the lower bound stays the model's: a deal can slip
    assert abs(nov.high - nov_before.high - (weighted - model_rest)) <= Decimal("0.01")  # cents rounding

    dec = after[(rep1, "2026-12")]  # next month's deal counts there, and in the quarter
    assert dec.pipeline == BIG / 2 * 90 / 100 and dec.point == dec.pipeline + dec.actual_to_date
    q4 = after[(rep1, "2026-Q4")]
    assert q4.pipeline == weighted + dec.pipeline
    assert q4.point == q4.actual_to_date + weighted + dec.pipeline

    reps = dict(
        (await session.execute(select(User.id, User.org_unit_id).where(User.role == "rep"))).tuples().all()
    )
    for other in set(reps) - {rep1}:  # nobody else moved
        assert after[(other, "2026-11")].point == before[(other, "2026-11")].point

    tree = await OrgTree.load(session)
    for unit in tree.subtree(demo.company_id):
        leaves = [rep for rep, rep_unit in reps.items() if rep_unit in set(tree.subtree(unit))]
        if not leaves:
            continue
        for period in ("2026-11", "2026-12", "2026-Q4"):
            parent = after[(unit, period)]
            assert parent.point == sum(after[(rep, period)].point for rep in leaves), (unit, period)
            assert parent.pipeline == sum(after[(rep, period)].pipeline or 0 for rep in leaves)
            assert parent.low <= parent.point <= parent.high
        lift = nov.point - nov_before.point if rep1 in leaves else 0
        assert after[(unit, "2026-11")].point - before[(unit, "2026-11")].point == lift


async def test_standup_api_carries_the_units_forecast_vs_plan_like_the_page(
    client: AsyncTestClient[Any],
    auth: Any,
    demo: Demo,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    session: AsyncSession,
) -> None:
    run_id = await refit(sessionmaker, settings, demo)
    stored = await rows_of(session, run_id)
    team = demo.units["Shanghai Team 1"]
    response = await client.get(
        f"/api/v1/standup?org_unit_id={team}&date=2026-11-18", headers=await auth("manager1")
    )
    assert response.status_code == 200, response.text
    forecast = {row["period"]: row for row in response.json()["forecast"]}
    assert set(forecast) == {"2026-11", "2026-Q4"}
    for period, row in forecast.items():
        own = stored[(team, period)]
        assert row["scope_id"] == str(team) and row["as_of"] == "2026-11-18"
        assert Decimal(row["forecast"]) == own.point and Decimal(row["low"]) == own.low
        assert Decimal(row["high"]) == own.high and Decimal(row["actual"]) == own.actual_to_date
        assert Decimal(row["pipeline"]) == own.pipeline
        if row["plan"] is not None:
            assert Decimal(row["gap"]) == own.point - Decimal(row["plan"])
            assert row["projected_to_miss"] == (own.high < Decimal(row["plan"]))
    assert forecast["2026-11"]["plan"] is not None  # the demo team has an approved November plan
    page = await client.get(f"/standup?org_unit_id={team}&date=2026-11-18", headers=await auth("manager1"))
    section = page.text.split('data-section="forecast"')[1].split("</section>")[0]
    assert f"{stored[(team, '2026-11')].point:,.2f}" in section  # the same figure as the page

    company = await client.get(
        f"/api/v1/standup?org_unit_id={demo.company_id}&date=2026-11-18", headers=await auth("exec")
    )
    assert company.status_code == 200, company.text
    assert {Decimal(r["forecast"]) for r in company.json()["forecast"]} == {
        stored[(demo.company_id, "2026-11")].point,
        stored[(demo.company_id, "2026-Q4")].point,
    }
    rep = await client.get("/api/v1/standup", headers=await auth("rep1"))
    assert rep.status_code == 200 and rep.json()["forecast"] == []  # not for reps, as on the page
    other = await client.get(
        f"/api/v1/standup?org_unit_id={demo.units['Shanghai Team 2']}", headers=await auth("manager1")
    )
    assert other.status_code == 404, other.text
