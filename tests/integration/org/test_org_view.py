"""The executive's /org page (heat table, red items, approvals, reallocation) and /org/weekly."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings
from server.core.access import Principal, Scope
from server.core.services import provide_services
from server.db.models import Customer, EscalationEvent, Order, Target, TargetAdjustment, User
from server.services.org.view import OrgViewService
from server.services.org.weekly import OrgWeeklyService
from tests.conftest import Demo, MutableClock, login_session
from tests.integration.escalations.test_escalations_api import make_escalation

NOV_1 = date(2026, 11, 1)


async def scale_november_target(session: AsyncSession, unit_id: UUID, factor: str) -> None:
    await session.execute(
        update(Target)
        .where(Target.scope_id == unit_id, Target.granularity == "month", Target.period_start == NOV_1)
        .values(amount=Target.amount * Decimal(factor))
    )


async def principal_of(session: AsyncSession, local: str) -> Principal:
    user = await session.scalar(select(User).where(User.email == f"{local}@demo.example"))
    return Principal(user.id, user.email, user.name, user.role, user.org_unit_id, user.timezone, None)


@pytest.fixture
async def east_china_behind(demo: Demo, sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    """East China's plan ten times over (far behind); within it Team 1 far ahead, Team 2 behind;
    a pending target change; the region's most promising customer already graded A."""
    async with sessionmaker() as session:
        await scale_november_target(session, demo.units["East China"], "10")
        await scale_november_target(session, demo.units["Shanghai Team 1"], "0.1")
        await scale_november_target(session, demo.units["Shanghai Team 2"], "10")
        shanghai_units = [demo.units["Shanghai Team 1"], demo.units["Shanghai Team 2"]]
        customers = (
            await session.scalars(
                select(Customer)
                .where(Customer.org_unit_id.in_(shanghai_units), Customer.status == "active")
                .order_by(Customer.potential.desc())
            )
        ).all()
        customers[0].grade = "A"  # not a backup customer: already a top account
        customers[1].revenue_365 = customers[1].potential * Decimal("0.5")  # already buys half its potential
        target = await session.scalar(
            select(Target).where(
                Target.scope_id == demo.user("rep1"),
                Target.metric == "revenue",
                Target.period_start == date(2026, 12, 1),
            )
        )
        session.add(
            TargetAdjustment(
                target_id=target.id,
                old_amount=target.amount,
                new_amount=target.amount * 2,
                reason="new distributor",
                status="pending",
                requested_by=demo.user("manager1"),
                requested_at=datetime(2026, 11, 17, tzinfo=UTC),
            )
        )
        await session.commit()
    return {"excluded": {customers[0].id, customers[1].id}}


async def test_overview_suggests_where_to_move_resources(
    demo: Demo,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: MutableClock,
    east_china_behind: dict[str, Any],
) -> None:
    red = await make_escalation(
        sessionmaker, "user", demo.user("rep2"), demo.units["Los Angeles Team 1"], "red", 3
    )
    async with provide_services(sessionmaker, settings, clock) as services:
        principal = await principal_of(services.session, "exec")
        overview = await services.get(OrgViewService).overview(await Scope.load(services.session, principal))
    regions = {region.name: (region, teams) for region, teams in overview.regions}
    assert set(regions) == {"East China", "US West"}
    assert [t.name for t in regions["East China"][1]] == ["Shanghai Team 1", "Shanghai Team 2"]
    east = regions["East China"][0]
    assert east.pace is not None and east.pace < Decimal("0.7")
    (move,) = [r for r in overview.reallocations if r.region.name == "East China"]
    assert [t.name for t in move.ahead_in_region] == ["Shanghai Team 1"]
    assert all(t.pace >= 1 for t in move.ahead_elsewhere)
    backups = move.backup_customers
    assert backups and not {c["id"] for c in backups} & east_china_behind["excluded"]
    assert all(c["grade"] in ("C", "D") for c in backups)
    untapped = [c["untapped"] for c in backups]
    assert untapped == sorted(untapped, reverse=True)
    assert [v.escalation.id for v in overview.red_escalations] == [red]
    assert "East China" in {u.name for u in overview.red_units}
    (pending,) = overview.pending_adjustments
    assert (pending["subject_name"], pending["reason"]) == ("Rep 1", "new distributor")


async def test_org_page_is_for_executives(
    client: AsyncTestClient[Any], demo: Demo, east_china_behind: dict[str, Any]
) -> None:
    await login_session(client, "exec")
    page = await client.get("/org")
    assert page.status_code == 200
    for text in (
        "East China",
        "Shanghai Team 2",
        "chip-red",
        "Where to move resources: East China",
        'href="/plans"',
    ):
        assert text in page.text, text
    await client.post("/logout", headers={"X-CSRF-Token": _csrf(page.text)})
    await login_session(client, "manager1")
    assert (await client.get("/org")).status_code == 403
    assert (await client.get("/org/weekly")).status_code == 403


async def test_weekly_summary(
    client: AsyncTestClient[Any],
    demo: Demo,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: MutableClock,
) -> None:
    rep1 = demo.user("rep1")
    clock.set(datetime(2026, 11, 18, 2, 0, tzinfo=UTC))  # Wednesday of ISO week 47 (Nov 16-22)
    escalation = await make_escalation(sessionmaker, "user", rep1, demo.units["Shanghai Team 1"])
    async with sessionmaker() as session:
        customer = await session.scalar(select(Customer.id).where(Customer.owner_rep_id == rep1).limit(1))
        session.add(
            Order(
                id=uuid4(),
                customer_id=customer,
                rep_id=rep1,
                amount=Decimal("250000"),
                ordered_on=date(2026, 11, 17),
                source="api",
                created_at=clock.now(),
            )
        )
        session.add(
            EscalationEvent(
                escalation_id=escalation, at=datetime(2026, 11, 17, 3, tzinfo=UTC), event="resolved"
            )
        )
        await session.commit()
    async with provide_services(sessionmaker, settings, clock) as services:
        principal = await principal_of(services.session, "exec")
        access = await Scope.load(services.session, principal)
        summary = await services.get(OrgWeeklyService).summary(access, date(2026, 11, 16), "Asia/Shanghai")
    assert (summary.week_start, summary.week_end, summary.as_of) == (
        date(2026, 11, 16),
        date(2026, 11, 22),
        date(2026, 11, 18),
    )
    east = next(r for r in summary.regions if r.name == "East China")
    assert east.week_revenue >= Decimal("250000")
    assert (east.opened, east.resolved) == (1, 1)  # opened Nov 17 02:00Z, resolved Nov 17 03:00Z
    assert summary.risers[0].name == "Rep 1" and summary.risers[0].change > 0
    await login_session(client, "exec")
    page = await client.get("/org/weekly?week=2026-W47")
    assert page.status_code == 200 and "Rep 1" in page.text and "East China" in page.text
    bad = await client.get("/org/weekly?week=47")
    assert bad.status_code == 400 and "week" in bad.text


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    return match.group(1) if match else ""
