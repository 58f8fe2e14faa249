"""ProgressService: numbers equal an independent computation from raw rows; set-based queries."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from sqlalchemy import event, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.core.services import Services
from server.db.models import Checkin, Customer, Holiday, Order, OrgSettings, Target, User
from server.domain.pace import PaceStatus, Thresholds, compute_progress
from server.services.plans.progress import ProgressService
from tests.conftest import Demo, MutableClock

AS_OF = date(2026, 11, 18)  # a Wednesday; the demo's "today"
NOV_START, NOV_END = date(2026, 11, 1), date(2026, 11, 30)


def weekdays(start: date, end: date, holidays: set[date] | None = None) -> int:
    """Counted by hand here, not with the domain's calendar, so the test is independent."""
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    return sum(1 for d in days if d.weekday() < 5 and d not in (holidays or set()))


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


async def month_target(
    session: AsyncSession, scope: str, scope_id: uuid.UUID, metric: str = "revenue"
) -> Target:
    return (
        await session.scalars(
            select(Target).where(
                Target.scope == scope,
                Target.scope_id == scope_id,
                Target.metric == metric,
                Target.granularity == "month",
                Target.period_start == NOV_START,
            )
        )
    ).one()


async def raw_revenue(session: AsyncSession, rep_ids: list[uuid.UUID], start: date, end: date) -> Decimal:
    total = Decimal(0)
    for rep_id in rep_ids:
        rows = await session.execute(
            select(Order.amount).where(
                Order.rep_id == rep_id, Order.ordered_on >= start, Order.ordered_on <= end
            )
        )
        total += sum((amount for (amount,) in rows), Decimal(0))
    return total


def services(session: AsyncSession, settings: Any, clock: MutableClock) -> ProgressService:
    return Services(session=session, settings=settings, clock=clock).get(ProgressService)


async def test_rep_progress_equals_independent_computation(
    session: AsyncSession, demo: Demo, settings: Any, clock: MutableClock
) -> None:
    rep1 = demo.user("rep1")
    target = await month_target(session, "user", rep1)
    actual = await raw_revenue(session, [rep1], NOV_START, AS_OF)
    assert actual > 0, "the demo has November orders for rep1"

    result = await services(session, settings, clock).for_one("user", rep1, AS_OF)

    assert result is not None
    elapsed, total = weekdays(NOV_START, AS_OF), weekdays(NOV_START, NOV_END)
    assert (elapsed, total) == (13, 21)
    expected = target.amount * elapsed / total
    assert result.target_id == target.id
    assert (result.period_start, result.period_end) == (NOV_START, NOV_END)
    assert result.actual == actual
    assert result.progress.expected_to_date == cents(expected)
    assert result.progress.pace == (actual / expected).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    gap = max(Decimal(0), target.amount - actual)
    assert result.progress.remaining_gap == cents(gap)
    assert result.progress.working_days_left == total - elapsed
    assert result.progress.required_daily_run_rate == cents(gap / (total - elapsed))
    assert result.progress.projection == cents(actual * total / elapsed)


async def test_team_and_company_actuals_roll_up_from_reps(
    session: AsyncSession, demo: Demo, settings: Any, clock: MutableClock
) -> None:
    team = demo.units["Shanghai Team 1"]
    team_reps = list((await session.scalars(select(User.id).where(User.org_unit_id == team))).all())
    all_reps = list((await session.scalars(select(User.id).where(User.role == "rep"))).all())
    # An imported order with no rep counts for the customer's unit (and so the company).
    customer = (await session.scalars(select(Customer).where(Customer.org_unit_id == team).limit(1))).one()
    await session.execute(
        insert(Order).values(
            id=uuid.uuid4(),
            customer_id=customer.id,
            rep_id=None,
            amount=Decimal("1234.56"),
            ordered_on=date(2026, 11, 10),
            source="import",
            created_at=datetime(2026, 11, 10, tzinfo=UTC),
        )
    )
    progress = services(session, settings, clock)

    result = await progress.for_scopes("org_unit", [team, demo.company_id], AS_OF)

    team_expected = await raw_revenue(session, team_reps, NOV_START, AS_OF) + Decimal("1234.56")
    company_expected = await raw_revenue(session, all_reps, NOV_START, AS_OF) + Decimal("1234.56")
    assert result[team].actual == team_expected
    assert result[demo.company_id].actual == company_expected
    assert result[team].target == (await month_target(session, "org_unit", team)).amount


async def test_only_approved_targets_count(
    session: AsyncSession, demo: Demo, settings: Any, clock: MutableClock
) -> None:
    rep1, rep2 = demo.user("rep1"), demo.user("rep2")
    await session.execute(
        update(Target)
        .where(Target.scope_id == rep1, Target.granularity == "month", Target.period_start == NOV_START)
        .values(status="submitted")
    )
    await session.execute(
        update(Target)
        .where(Target.scope_id == rep2, Target.granularity == "month", Target.period_start == NOV_START)
        .values(status="draft")
    )
    progress = services(session, settings, clock)
    result = await progress.for_scopes("user", [rep1, rep2, demo.user("rep3")], AS_OF)
    assert set(result) == {demo.user("rep3")}

    # A newer approved version wins over an older one still marked approved.
    rep3_target = await month_target(session, "user", demo.user("rep3"))
    newer = uuid.uuid4()
    await session.execute(
        insert(Target).values(
            id=newer,
            scope="user",
            scope_id=demo.user("rep3"),
            metric="revenue",
            period_start=NOV_START,
            period_end=NOV_END,
            granularity="month",
            amount=rep3_target.amount + 100,
            status="approved",
            version=2,
        )
    )
    assert (await progress.for_one("user", demo.user("rep3"), AS_OF)).target_id == newer  # type: ignore[union-attr]


async def test_company_holiday_shifts_expected_for_every_rep_below(
    session: AsyncSession, demo: Demo, settings: Any, clock: MutableClock
) -> None:
    rep1 = demo.user("rep1")
    progress = services(session, settings, clock)
    before = await progress.for_one("user", rep1, AS_OF)
    # A holiday on the company (rep1's team's grandparent) on Monday 16 November.
    await session.execute(
        insert(Holiday).values(
            id=uuid.uuid4(), org_unit_id=demo.company_id, day=date(2026, 11, 16), name="Founders"
        )
    )
    after = await progress.for_one("user", rep1, AS_OF)

    assert before is not None and after is not None
    amount = before.target
    assert before.progress.expected_to_date == cents(amount * 13 / 21)
    assert after.progress.expected_to_date == cents(amount * 12 / 20)
    assert after.progress.working_days_total == 20
    assert after.progress.expected_to_date < before.progress.expected_to_date


async def test_thresholds_come_from_org_settings(
    session: AsyncSession, demo: Demo, settings: Any, clock: MutableClock
) -> None:
    rep1 = demo.user("rep1")
    progress = services(session, settings, clock)
    default = await progress.for_one("user", rep1, AS_OF)
    assert default is not None and default.progress.lag is not None
    lag = default.progress.lag
    # Move every band above this rep's lag: the same numbers become green.
    await session.execute(
        update(OrgSettings)
        .where(OrgSettings.company_id == demo.company_id)
        .values(
            pace_yellow=min(Decimal("0.99"), lag + Decimal("0.01")),
            pace_orange=Decimal("0.995"),
            pace_red=Decimal("0.999"),
        )
    )
    relaxed = await progress.for_one("user", rep1, AS_OF)
    assert relaxed is not None and relaxed.progress.status is PaceStatus.GREEN


async def test_visits_and_new_customers(
    session: AsyncSession, demo: Demo, settings: Any, clock: MutableClock
) -> None:
    rep1 = demo.user("rep1")
    tz = (await session.scalar(select(User.timezone).where(User.id == rep1))) or "UTC"
    progress = services(session, settings, clock)
    visits = await progress.for_one("user", rep1, AS_OF, metric="visits")
    assert visits is not None
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    rows = await session.execute(
        select(Checkin.checked_in_at, Checkin.checked_out_at).where(Checkin.rep_id == rep1)
    )
    by_hand = sum(
        1
        for checked_in, checked_out in rows
        if checked_out is not None and NOV_START <= checked_in.astimezone(zone).date() <= NOV_END
    )
    assert visits.actual == by_hand > 0

    # new_customers: a brand-new customer ordering in November counts; an old one does not.
    customer_id = uuid.uuid4()
    team = demo.units["Shanghai Team 1"]
    await session.execute(
        insert(Customer).values(
            id=customer_id, name="Brand New Ltd.", owner_rep_id=rep1, org_unit_id=team, status="active"
        )
    )
    for ordered_on in (date(2026, 11, 3), date(2026, 11, 9)):
        await session.execute(
            insert(Order).values(
                id=uuid.uuid4(),
                customer_id=customer_id,
                rep_id=rep1,
                amount=Decimal(10),
                ordered_on=ordered_on,
                source="api",
                created_at=datetime(2026, 11, 9, tzinfo=UTC),
            )
        )
    first_order: dict[uuid.UUID, date] = {}
    rows = await session.execute(
        select(Order.customer_id, Order.ordered_on)
        .join(Customer, Customer.id == Order.customer_id)
        .where(Customer.owner_rep_id == rep1)
    )
    for customer, ordered_on in rows:
        first_order[customer] = min(ordered_on, first_order.get(customer, ordered_on))
    expected_new = sum(1 for first in first_order.values() if NOV_START <= first <= NOV_END)
    actuals = await progress.actuals("user", [rep1], NOV_START, NOV_END, "new_customers")
    assert actuals[rep1] == expected_new >= 1


@pytest.mark.parametrize("reps", [1, 8])
async def test_query_count_does_not_grow_with_scopes(
    engine: AsyncEngine, session: AsyncSession, demo: Demo, settings: Any, clock: MutableClock, reps: int
) -> None:
    rep_ids = list(
        (await session.scalars(select(User.id).where(User.role == "rep").order_by(User.email))).all()
    )
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        result = await services(session, settings, clock).for_scopes("user", rep_ids[:reps], AS_OF)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert len(result) == reps
    assert len(statements) <= 6, statements


async def test_unknown_metric_is_refused(
    session: AsyncSession, demo: Demo, settings: Any, clock: MutableClock
) -> None:
    with pytest.raises(ValueError, match="metric"):
        await services(session, settings, clock).for_scopes(
            "user", [demo.user("rep1")], AS_OF, metric="profit"
        )


async def test_every_rep_at_once_equals_each_rep_computed_alone(
    session: AsyncSession, demo: Demo, settings: Any, clock: MutableClock
) -> None:
    """The calendar shared per (period, holidays, weights) must not leak between reps: a holiday
    on one team and seasonal weights on one rep's target change only their own figures."""
    reps = list((await session.execute(select(User.id, User.org_unit_id).where(User.role == "rep"))).all())
    team = demo.units["Shanghai Team 1"]
    assert 0 < sum(unit == team for _, unit in reps) < len(reps)
    await session.execute(
        insert(Holiday).values(id=uuid.uuid4(), org_unit_id=team, day=date(2026, 11, 16), name="Team day")
    )
    # November weighs 0: this rep's month target falls back to calendar days (18 of 30 by the 18th).
    no_november = {str(month): str({11: 0, 12: 20}.get(month, 8)) for month in range(1, 13)}
    weighted = next(rep for rep, unit in reps if unit != team)
    await session.execute(
        update(Target)
        .where(Target.scope_id == weighted, Target.granularity == "month", Target.period_start == NOV_START)
        .values(weights=no_november)
    )
    row = (
        await session.scalars(select(OrgSettings).where(OrgSettings.company_id == demo.company_id))
    ).first()
    thresholds = (
        Thresholds(row.pace_yellow, row.pace_orange, row.pace_red, row.grace_working_days)
        if row
        else Thresholds()
    )

    result = await services(session, settings, clock).for_scopes("user", [rep for rep, _ in reps], AS_OF)

    assert set(result) == {rep for rep, _ in reps}
    for rep, unit in reps:
        holidays = frozenset({date(2026, 11, 16)}) if unit == team else frozenset()
        weights = {int(m): Decimal(w) for m, w in no_november.items()} if rep == weighted else None
        item = result[rep]
        actual = await raw_revenue(session, [rep], NOV_START, AS_OF)
        alone = compute_progress(
            item.target, actual, NOV_START, NOV_END, AS_OF, holidays, weights, thresholds
        )
        assert item.actual == actual
        assert item.progress == alone, rep
        fraction = (
            Decimal(18) / 30 if rep == weighted else Decimal(12) / 20 if unit == team else Decimal(13) / 21
        )
        assert item.progress.elapsed_fraction == fraction.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


async def test_more_ids_than_one_in_list_holds(
    session: AsyncSession, demo: Demo, settings: Any, clock: MutableClock
) -> None:
    """Past 5,000 ids SQLite binds chunks and PostgreSQL one array: the same answer either way."""
    rep_ids = list((await session.scalars(select(User.id).where(User.role == "rep"))).all())
    progress = services(session, settings, clock)
    alone = await progress.for_scopes("user", rep_ids, AS_OF)
    unknown = [uuid.uuid4() for _ in range(6000)]
    # The reps on both sides of the 5,000th id, and twice (asked twice, answered once).
    mixed = [*rep_ids[:4], *unknown, *rep_ids[4:], rep_ids[0]]

    assert await progress.for_scopes("user", mixed, AS_OF) == alone
    assert len(alone) == len(rep_ids)


async def test_the_collector_pauses_for_a_sweep_sized_question_only(
    session: AsyncSession, demo: Demo, settings: Any, clock: MutableClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pause is process-wide (server/core/gc_pause.py): a team page must not hold it.
    import gc
    from contextlib import contextmanager

    from server.services.plans import progress as progress_module

    seen: list[bool] = []
    real_pause = progress_module.paused_gc

    @contextmanager
    def recording_pause() -> Any:
        seen.append(True)
        with real_pause():
            yield

    monkeypatch.setattr(progress_module, "paused_gc", recording_pause)
    service = Services(session=session, settings=settings, clock=clock).get(ProgressService)
    reps = [demo.user("rep1"), demo.user("rep2")]
    await service.for_scopes("user", reps, clock.now().date())
    assert seen == [] and gc.isenabled()
    monkeypatch.setattr(progress_module, "GC_PAUSE_FROM_SCOPES", 2)
    await service.for_scopes("user", reps, clock.now().date())
    assert seen == [True] and gc.isenabled()
