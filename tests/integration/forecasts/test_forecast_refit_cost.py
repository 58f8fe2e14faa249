"""The refit's cheaper path keeps its meaning: the history read from the per rep and day rollup
equals the raw GROUP BY over orders (deleted orders and months summing to zero included), and a
level whose method is chosen on a sample still stores every series' own track record and the
level's accuracy over all of them."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.clock import Clock
from server.config import Settings
from server.core.org import OrgTree
from server.core.services import provide_services
from server.db.models import Customer, ForecastAccuracy, ForecastRun, Order, User
from server.services.forecasts import service as forecast_service
from server.services.forecasts.history import load_history
from server.services.forecasts.service import ForecastService
from tests.conftest import DEFAULT_NOW, Demo

AS_OF = date(2026, 11, 18)


async def add_history(session: AsyncSession, months: int) -> list[UUID]:
    """`months` more months of orders for every rep, before the demo's own three."""
    reps = list((await session.scalars(select(User.id).where(User.role == "rep").order_by(User.id))).all())
    customer = await session.scalar(select(Customer.id).limit(1))
    rng = random.Random(5)
    rows = []
    for back in range(4, 4 + months):
        year, month = divmod(11 - 1 - back, 12)
        day = date(2026 + year, month + 1, 10)
        for rep in reps:
            amount = Decimal(f"{rng.uniform(5_000, 15_000):.2f}")
            rows.append(_order(customer, rep, amount, day))
    await session.execute(insert(Order), rows)
    await session.commit()
    return reps


def _order(customer: UUID | None, rep: UUID, amount: Decimal, day: date) -> dict[str, object]:
    return {
        "id": uuid4(),
        "customer_id": customer,
        "rep_id": rep,
        "amount": amount,
        "ordered_on": day,
        "source": "api",
        "created_at": datetime(2026, 11, 1, tzinfo=UTC),
    }


async def test_history_from_the_rollup_equals_the_raw_group_by(session: AsyncSession, demo: Demo) -> None:
    reps = await add_history(session, 3)
    customer = await session.scalar(select(Customer.id).limit(1))
    # an earlier month whose orders sum to zero (an order and its credit note): still a month of
    # history; a day whose only order was deleted: a rollup row with 0 orders, not a month
    await session.execute(
        insert(Order),
        [
            _order(customer, reps[0], Decimal("100.00"), date(2025, 3, 3)),
            _order(customer, reps[0], Decimal("-100.00"), date(2025, 3, 4)),
            _order(customer, reps[1], Decimal("50.00"), date(2024, 12, 5)),
        ],
    )
    await session.execute(delete(Order).where(Order.ordered_on == date(2024, 12, 5)))
    await session.commit()
    tree = await OrgTree.load(session)
    history = await load_history(session, tree, demo.company_id, AS_OF)
    raw: dict[UUID, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for rep_id, ordered_on, amount in await session.execute(
        select(Order.rep_id, Order.ordered_on, Order.amount)
        .join(User, User.id == Order.rep_id)
        .where(User.role == "rep", Order.ordered_on < AS_OF)
    ):
        raw[rep_id][ordered_on.strftime("%Y-%m")] += amount
    assert history.amounts == {rep: dict(months) for rep, months in raw.items()}
    assert history.amounts[reps[0]]["2025-03"] == 0
    assert history.months[0] == "2025-03"  # not 2024-12: its only order was deleted


async def test_a_sampled_level_keeps_every_series_track_record(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    demo: Demo,
    session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reps = await add_history(session, 12)
    monkeypatch.setattr(forecast_service, "SELECTION_SAMPLE", 3)  # of 8 reps and 4 teams
    async with provide_services(sessionmaker, settings, Clock(fixed=DEFAULT_NOW)) as services:
        run = await services.get(ForecastService).refit(demo.company_id, AS_OF)
        assert run is not None
    rows = (await session.scalars(select(ForecastAccuracy).where(ForecastAccuracy.run_id == run.id))).all()
    methods = (await session.get(ForecastRun, run.id)).methods  # type: ignore[union-attr]
    by_scope: dict[UUID | None, list[ForecastAccuracy]] = defaultdict(list)
    for row in rows:
        if row.level == "rep":
            by_scope[row.scope_id].append(row)
    assert set(by_scope) == {None, *reps}  # the level's row and one per rep, sampled or not
    for scope, scored in by_scope.items():
        assert sorted(r.horizon for r in scored) == [1, 2, 3]
        assert all(r.method == methods["rep"] for r in scored)
        if scope is not None:
            assert all(r.n > 0 and r.wape is not None and r.within is not None for r in scored)
    for horizon in (1, 2, 3):
        level = next(r for r in by_scope[None] if r.horizon == horizon)
        assert level.n == sum(
            r.n for s, rs in by_scope.items() if s is not None for r in rs if r.horizon == horizon
        )
    teams = await session.scalar(
        select(func.count(func.distinct(ForecastAccuracy.scope_id))).where(
            ForecastAccuracy.run_id == run.id, ForecastAccuracy.level == "team"
        )
    )
    assert teams == 4
