"""SharedActuals (many progress questions, each rollup day read once) answers exactly what each
question asked alone through ProgressService.actuals answers: reps and units, revenue and
visits, several windows and time zones (partial UTC days at the edges), orders without a rep,
inactive reps, both when every rep is read and when only the reps asked are."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.org import OrgTree
from server.core.services import Services
from server.db.models import Target, User
from server.services.plans import progress_targets, shared_actuals
from server.services.plans.progress import ProgressService
from server.services.plans.progress_targets import ProgressQuery
from server.services.plans.shared_actuals import SharedActuals
from tests.conftest import Demo, MutableClock
from tests.integration.plans.test_actuals_rollup import new_checkin, new_order, some_customer

AS_OF = date(2026, 11, 18)
WINDOWS = [(date(2026, 11, 1), AS_OF), (date(2026, 10, 1), AS_OF), (date(2026, 11, 3), date(2026, 11, 16))]
ZONES = ["UTC", "Asia/Kolkata", "America/Los_Angeles"]


async def edge_world(session: AsyncSession, demo: Demo) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """Check-ins either side of local midnights at every window's ends, an order without a rep,
    and an inactive rep whose rows still count for the unit: returns (reps, units)."""
    reps = list((await session.scalars(select(User.id).where(User.role == "rep").order_by(User.email))).all())
    rep1 = demo.user("rep1")
    customer = await some_customer(session, rep1)
    for timezone in ZONES:
        zone = ZoneInfo(timezone)
        for start, end in WINDOWS:
            for local_day in (start, end + timedelta(days=1)):
                midnight = datetime.combine(local_day, time.min, zone).astimezone(UTC)
                for minutes in (-20, -1, 0, 1, 20):
                    session.add(new_checkin(rep1, customer, midnight + timedelta(minutes=minutes)))
    session.add(new_order(customer, None, "321.09", date(2026, 11, 5)))
    session.add(new_order(customer, None, "10.00", date(2026, 10, 2)))
    await session.flush()
    await session.execute(update(User).where(User.id == reps[-1]).values(active=False))
    units = [demo.units["Shanghai Team 1"], demo.company_id, *demo.units.values()]
    return reps, list(dict.fromkeys(units))


@pytest.mark.parametrize("whole", [True, False])
async def test_shared_reads_equal_each_question_asked_alone(
    session: AsyncSession,
    demo: Demo,
    settings: Any,
    clock: MutableClock,
    monkeypatch: pytest.MonkeyPatch,
    whole: bool,
) -> None:
    reps, units = await edge_world(session, demo)
    # Every rep read and filtered in Python, or only the reps asked (and the units') by id.
    monkeypatch.setattr(shared_actuals, "WHOLE_AT_REPS", 1 if whole else 10**9)
    monkeypatch.setattr(shared_actuals, "WHOLE_AT_UNITS", 1 if whole else 10**9)
    progress = Services(session=session, settings=settings, clock=clock).get(ProgressService)
    tree = await OrgTree.load(session)
    asked = {"user": reps[:3] + reps[-1:], "org_unit": units}
    questions = [
        (scope, metric, start, end, timezone)
        for scope in ("user", "org_unit")
        for metric in ("revenue", "visits")
        for start, end in WINDOWS
        for timezone in (ZONES if metric == "visits" else ["UTC"])
    ]
    shared = SharedActuals(tree)
    for scope, metric, start, end, timezone in questions:
        shared.need(scope, metric, asked[scope], start, end, timezone)
    await shared.read(session)

    checked = 0
    for scope, metric, start, end, timezone in questions:
        alone = await progress.actuals(scope, asked[scope], start, end, metric, timezone, tree)
        together = {i: shared.actual(scope, metric, i, start, end, timezone) for i in asked[scope]}
        assert together == alone, (scope, metric, start, end, timezone)
        checked += sum(1 for value in alone.values() if value)
    assert checked > 50  # not a comparison of zeros


@pytest.mark.parametrize("whole", [True, False])
async def test_sweep_questions_together_equal_each_alone(
    session: AsyncSession,
    demo: Demo,
    settings: Any,
    clock: MutableClock,
    monkeypatch: pytest.MonkeyPatch,
    whole: bool,
) -> None:
    """for_queries with shared reads gives what for_scopes gives question by question, with
    the targets read by id or every scope's read and the asked ones kept."""
    reps, units = await edge_world(session, demo)
    progress = Services(session=session, settings=settings, clock=clock).get(ProgressService)
    queries = [
        ProgressQuery(scope, ids, as_of, metric, granularity)
        for scope, ids in (("user", reps), ("user", reps[:3]), ("org_unit", units), ("org_unit", units[:2]))
        for metric in ("revenue", "visits")
        for granularity in ("month", "quarter")
        for as_of in (AS_OF, AS_OF - timedelta(days=2))
    ]
    # One question at a time, by id (the demo is far below the thresholds)...
    alone = [
        await progress.for_scopes(q.scope, list(q.scope_ids), q.as_of, q.metric, q.granularity)
        for q in queries
    ]
    # ...equals all together, read by id or every scope's read and the asked ones kept.
    monkeypatch.setattr(progress_targets, "WHOLE_TARGETS_AT", 1 if whole else 10**9)
    monkeypatch.setattr(shared_actuals, "WHOLE_AT_REPS", 1 if whole else 10**9)
    monkeypatch.setattr(shared_actuals, "WHOLE_AT_UNITS", 1 if whole else 10**9)
    together = await progress.for_queries(queries)
    for query, answer, expected in zip(queries, together, alone, strict=True):
        assert answer == expected, query
        assert set(answer) <= set(query.scope_ids)
    # ...and so does each question alone through the same read (one question's rows kept by its ids).
    for query, expected in zip(queries, alone, strict=True):
        one = await progress.for_scopes(
            query.scope, list(query.scope_ids), query.as_of, query.metric, query.granularity
        )
        assert one == expected, query
    assert sum(len(answer) for answer in together) > 20
    assert any(item.actual for answer in together for item in answer.values())


async def test_no_rep_revenue_of_customers_outside_the_units_asked_is_left_out(
    session: AsyncSession, demo: Demo, settings: Any, clock: MutableClock
) -> None:
    team = demo.units["Shanghai Team 1"]
    other = next(u for name, u in demo.units.items() if name != "Shanghai Team 1" and "Team" in name)
    customer = await some_customer(session, demo.user("rep1"))
    session.add(new_order(customer, None, "5.00", date(2026, 11, 5)))
    await session.flush()
    tree = await OrgTree.load(session)
    shared = SharedActuals(tree)
    shared.need("org_unit", "revenue", [team, other], date(2026, 11, 1), AS_OF, "UTC")
    await shared.read(session)
    progress = Services(session=session, settings=settings, clock=clock).get(ProgressService)
    alone = await progress.actuals(
        "org_unit", [team, other], date(2026, 11, 1), AS_OF, "revenue", "UTC", tree
    )
    assert {
        u: shared.actual("org_unit", "revenue", u, date(2026, 11, 1), AS_OF, "UTC") for u in alone
    } == alone
    assert alone[team] != Decimal(0)


@pytest.mark.parametrize("whole", [True, False])
async def test_reps_whose_targets_cover_different_days_get_their_own_figures(
    session: AsyncSession,
    demo: Demo,
    settings: Any,
    clock: MutableClock,
    monkeypatch: pytest.MonkeyPatch,
    whole: bool,
) -> None:
    """One question whose targets have two periods (two rollup windows): each rep's actual is
    its own period's, also when every rep's rollup is read (the figures of one window must not
    overwrite another's)."""
    reps = list((await session.scalars(select(User.id).where(User.role == "rep").order_by(User.email))).all())
    late_start = date(2026, 11, 10)
    moved = reps[1]
    changed = await session.execute(
        update(Target)
        .where(
            Target.scope == "user",
            Target.scope_id == moved,
            Target.metric == "revenue",
            Target.granularity == "month",
            Target.status == "approved",
            Target.period_start == date(2026, 11, 1),
        )
        .values(period_start=late_start)
    )
    assert changed.rowcount == 1  # type: ignore[attr-defined]
    monkeypatch.setattr(progress_targets, "WHOLE_TARGETS_AT", 1 if whole else 10**9)
    monkeypatch.setattr(shared_actuals, "WHOLE_AT_REPS", 1 if whole else 10**9)
    progress = Services(session=session, settings=settings, clock=clock).get(ProgressService)
    answer = await progress.for_scopes("user", reps, AS_OF, "revenue", "month")

    assert answer[moved].period_start == late_start
    from_late = await progress.actuals("user", [moved], late_start, AS_OF, "revenue")
    from_first = await progress.actuals("user", [moved], date(2026, 11, 1), AS_OF, "revenue")
    assert answer[moved].actual == from_late[moved] != from_first[moved]
    for rep in reps[:1] + reps[2:]:
        if rep in answer:
            alone = await progress.actuals("user", [rep], answer[rep].period_start, AS_OF, "revenue")
            assert answer[rep].actual == alone[rep], rep
    assert sum(1 for item in answer.values() if item.actual) > 3
