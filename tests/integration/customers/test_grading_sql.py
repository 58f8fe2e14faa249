"""The set-based regrade SQL gives exactly what the pure rules in server.domain give (both engines).

Each case builds a tiny company, runs GradingService.regrade_company and compares every written
field with domain.grading / domain.policy computed in Python on the same orders.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.schema import CreateTable, DropTable

from server.clock import Clock
from server.config import Settings
from server.core.services import Services
from server.db.models import Customer, GradeChange, Order, OrgUnit, User
from server.domain.grading import classify_abc, effective_grade, rfm_scores
from server.domain.policy import DEFAULT_VISIT_INTERVALS, next_due
from server.services.customers.grading import GradeDrop, GradingService, RegradeResult
from server.services.customers.grading_select import changes

TODAY = date(2026, 11, 18)
NOW = datetime(2026, 11, 18, 18, 30, tzinfo=UTC)


@dataclass
class Spec:
    """One customer: its orders (amount, days ago), last visit (days ago), override."""

    orders: list[tuple[str, int]] = field(default_factory=list)
    visited_days_ago: int | None = None
    override: str | None = None
    override_until: date | None = None


@dataclass
class World:
    company_id: UUID
    team_id: UUID
    rep_id: UUID
    ids: dict[str, UUID]


async def build_company(session: AsyncSession, specs: dict[str, Spec], tz: str = "UTC") -> World:
    """A company with one team, one rep and these customers; commits."""
    company = OrgUnit(name="Grading Co", kind="company", timezone=tz)
    session.add(company)
    await session.flush()
    team = OrgUnit(name="Grading Team", kind="team", timezone=tz, parent_id=company.id)
    session.add(team)
    await session.flush()
    rep = User(
        email=f"rep-{team.id.hex[:8]}@grading.test", name="Grading Rep", role="rep", org_unit_id=team.id
    )
    session.add(rep)
    await session.flush()
    ids: dict[str, UUID] = {}
    for name, spec in specs.items():
        customer = Customer(
            name=name,
            org_unit_id=team.id,
            owner_rep_id=rep.id,
            status="active",
            grade="D",
            last_visit_on=None
            if spec.visited_days_ago is None
            else TODAY - timedelta(days=spec.visited_days_ago),
            grade_override=spec.override,
            grade_override_reason="pinned" if spec.override else None,
            grade_override_until=spec.override_until,
        )
        session.add(customer)
        await session.flush()
        ids[name] = customer.id
        session.add_all(
            Order(
                customer_id=customer.id,
                rep_id=rep.id,
                amount=Decimal(amount),
                ordered_on=TODAY - timedelta(days=days_ago),
                source="import",
                created_at=NOW,
            )
            for amount, days_ago in spec.orders
        )
    await session.commit()
    return World(company.id, team.id, rep.id, ids)


async def regrade(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, company_id: UUID, today: date = TODAY
) -> RegradeResult:
    async with sessionmaker() as session:
        services = Services(session=session, settings=settings, clock=Clock(fixed=NOW))
        result = await services.get(GradingService).regrade_company(company_id, today)
        await session.commit()
    return result


def expected(specs: dict[str, Spec], today: date = TODAY) -> dict[str, dict[str, Any]]:
    """What the domain rules say each customer's grading is."""
    window: dict[str, list[tuple[Decimal, int]]] = {
        name: [(Decimal(a), d) for a, d in spec.orders if 0 <= d < 365] for name, spec in specs.items()
    }
    revenue = {name: sum((a for a, _ in rows), Decimal(0)) for name, rows in window.items()}
    rfm_input = {
        name: (min(d for _, d in rows) if rows else None, len(rows), revenue[name])
        for name, rows in window.items()
    }
    abc, rfm = classify_abc(revenue), rfm_scores(rfm_input)
    total = sum((r for r in revenue.values() if r > 0), Decimal(0))
    result = {}
    for name, spec in specs.items():
        grade = effective_grade(abc[name], spec.override, spec.override_until, today)  # type: ignore[arg-type]
        last = None if spec.visited_days_ago is None else TODAY - timedelta(days=spec.visited_days_ago)
        result[name] = {
            "computed_grade": abc[name],
            "grade": grade,
            "rfm": tuple(rfm[name]),
            "revenue_365": revenue[name],
            "revenue_share": (revenue[name] / total).quantize(Decimal("0.000001"))
            if revenue[name] > 0
            else Decimal(0),
            "next_visit_due": next_due(last, DEFAULT_VISIT_INTERVALS[grade], today),
        }
    return result


async def stored(session: AsyncSession, world: World) -> dict[str, dict[str, Any]]:
    rows = (await session.scalars(select(Customer).where(Customer.org_unit_id == world.team_id))).all()
    return {
        c.name: {
            "computed_grade": c.computed_grade,
            "grade": c.grade,
            "rfm": (c.r_score, c.f_score, c.m_score),
            "revenue_365": c.revenue_365,
            "revenue_share": None
            if c.revenue_share is None
            else Decimal(str(c.revenue_share)).quantize(Decimal("0.000001")),
            "next_visit_due": c.next_visit_due,
        }
        for c in rows
    }


EDGE_CASES: dict[str, dict[str, Spec]] = {
    # Ties straddling the 80% cutoff all take the better grade.
    "ties_at_a_cutoff": {"a": Spec([("70", 3)]), "b": Spec([("10", 5)]), "c": Spec([("10", 9)]), "d": Spec([("10", 1)])},
    # Ties straddling the 95% cutoff: all B, none C.
    "ties_at_b_cutoff": {
        "a": Spec([("85", 3)]), "b": Spec([("5", 5)]), "c": Spec([("5", 9)]), "d": Spec([("5", 1)]),
    },
    # Exactly at the cutoffs: c has 80 of 100 richer (not < 80%) so B; d has 95 richer so C.
    "exact_cutoff": {"a": Spec([("50", 1)]), "b": Spec([("30", 2)]), "c": Spec([("15", 3)]), "d": Spec([("5", 4)])},
    "all_zero_revenue": {"a": Spec(), "b": Spec([("0", 10)]), "c": Spec()},
    "single_customer": {"solo": Spec([("42.50", 10), ("7.50", 40)], visited_days_ago=3)},
    "one_huge_order": {
        "big": Spec([("1000000", 200)]),
        **{f"small{i}": Spec([("100", i + 1)] * (i % 4 + 1)) for i in range(8)},
    },
    # 10 x 0.10 and 1 x 1.00 are the same revenue: binary floats would split the tie.
    "cents_tie": {"dimes": Spec([("0.10", d) for d in range(1, 11)]), "dollar": Spec([("1.00", 5)]), "x": Spec([("3", 2)])},
    # Returns: net negative is D and does not dilute anyone's share; old and future orders ignored.
    "returns_and_window": {
        "a": Spec([("80", 1)]), "b": Spec([("20", 364)]), "neg": Spec([("50", 10), ("-80", 11)]),
        "old": Spec([("500", 365)]), "future": Spec([("900", -1)]),
    },
}  # fmt: skip


@pytest.mark.parametrize("case", EDGE_CASES, ids=list(EDGE_CASES))
async def test_edge_cases_match_domain(
    case: str, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    specs = EDGE_CASES[case]
    async with sessionmaker() as session:
        world = await build_company(session, specs)
    await regrade(sessionmaker, settings, world.company_id)
    async with sessionmaker() as session:
        assert await stored(session, world) == expected(specs)


async def test_the_edge_cases_say_what_they_claim(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """Pin the rule itself on the SQL side, so a shared mistake in SQL and domain would show."""
    grades = {}
    for case in (
        "ties_at_a_cutoff",
        "ties_at_b_cutoff",
        "exact_cutoff",
        "all_zero_revenue",
        "single_customer",
    ):
        async with sessionmaker() as session:
            world = await build_company(session, EDGE_CASES[case])
        await regrade(sessionmaker, settings, world.company_id)
        async with sessionmaker() as session:
            grades[case] = {
                name: row["computed_grade"] for name, row in (await stored(session, world)).items()
            }
            if case == "single_customer":
                solo = (await stored(session, world))["solo"]
                assert solo["rfm"] == (3, 3, 3) and solo["revenue_share"] == Decimal(1)
    assert grades["ties_at_a_cutoff"] == dict.fromkeys("abcd", "A")
    assert grades["ties_at_b_cutoff"] == {"a": "A", "b": "B", "c": "B", "d": "B"}
    assert grades["exact_cutoff"] == {"a": "A", "b": "A", "c": "B", "d": "C"}
    assert grades["all_zero_revenue"] == dict.fromkeys("abc", "D")
    assert grades["single_customer"] == {"solo": "A"}


def random_company(seed: int, size: int = 60) -> dict[str, Spec]:
    """Pareto-sized customers with repeated amounts (ties), visits and overrides of every kind."""
    rng = random.Random(seed)
    amounts = [f"{rng.paretovariate(1.2) * 100:.2f}" for _ in range(12)]
    specs = {}
    for i in range(size):
        orders = [(rng.choice(amounts), rng.randint(-2, 380)) for _ in range(rng.choice([0, 0, 1, 2, 3, 8]))]
        override = rng.choice([None, None, None, "A", "C", "D"])
        until = rng.choice([None, TODAY - timedelta(days=1), TODAY, TODAY + timedelta(days=9)])
        visited = rng.choice([None, 0, 3, 20, 90])
        specs[f"c{i:02d}"] = Spec(orders, visited, override, until if override else None)
    return specs


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_companies_match_domain_and_regrade_is_idempotent(
    seed: int, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    specs = random_company(seed)
    async with sessionmaker() as session:
        world = await build_company(session, specs)
    first = await regrade(sessionmaker, settings, world.company_id)
    async with sessionmaker() as session:
        assert await stored(session, world) == expected(specs)
        history = await session.scalar(select(func.count()).select_from(GradeChange))
    assert first.changed == len(specs)
    assert len({spec["computed_grade"] for spec in expected(specs).values()}) == 4  # every grade occurs

    second = await regrade(sessionmaker, settings, world.company_id)
    assert (second.changed, second.grade_changes) == (0, 0)
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(GradeChange)) == history


async def test_other_companies_are_neither_read_nor_written(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with sessionmaker() as session:
        ours = await build_company(session, {"a": Spec([("10", 1)]), "b": Spec([("90", 1)])})
        theirs = await build_company(session, {"x": Spec([("1000", 1)]), "y": Spec([("1", 1)])})
    await regrade(sessionmaker, settings, ours.company_id)
    async with sessionmaker() as session:
        # "a" would be C if the other company's big customer counted towards the total.
        assert {n: r["computed_grade"] for n, r in (await stored(session, ours)).items()} == {
            "a": "B",
            "b": "A",
        }
        assert {r["computed_grade"] for r in (await stored(session, theirs)).values()} == {None}


async def test_a_drop_from_a_names_the_customer_and_its_new_grade(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    specs = {"star": Spec([("900", 300)]), "steady": Spec([("60", 5)]), "small": Spec([("40", 5)])}
    async with sessionmaker() as session:
        world = await build_company(session, specs)
    assert (await regrade(sessionmaker, settings, world.company_id)).drops == []
    later = TODAY + timedelta(days=70)  # star's only order has left the 365-day window: D
    result = await regrade(sessionmaker, settings, world.company_id, later)
    assert result.drops == [GradeDrop(world.ids["star"], "star", "D", world.rep_id, world.team_id, later)]


@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)  # SQLite's own query shape
@pytest.mark.parametrize("companies", [1, 2], ids=["all_units", "subtree"])
async def test_sqlite_plan_seeks_orders_per_customer_and_rescans_no_subquery(
    companies: int,
    engine: AsyncEngine,
    engine_name: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    """Guards the SQLite plan: a subquery scanned once per customer made the regrade 10x slower."""
    assert engine_name == "sqlite"
    async with sessionmaker() as session:
        worlds = [await build_company(session, random_company(seed)) for seed in range(companies)]
    staged: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if "INSERT INTO grading_changes" in statement:
            staged.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        await regrade(sessionmaker, settings, worlds[0].company_id)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    async with engine.connect() as connection:
        await connection.execute(CreateTable(changes))
        statement, parameters = staged[0]
        plan = [
            row[3] for row in await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        ]
        await connection.execute(DropTable(changes))
    assert "SEARCH orders USING INDEX ix_orders_customer_id_ordered_on" in " | ".join(plan), plan
    assert not [step for step in plan if step.startswith("SCAN") and "JOIN" in step], plan
