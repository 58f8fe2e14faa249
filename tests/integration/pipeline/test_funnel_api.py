"""The funnel API against an independent computation from the raw rows (both engines): per rep,
team, region and company; movement after live changes; CSV; scope."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.core.org import subtree_unit_ids
from server.db.models import (
    Opportunity,
    OpportunityStage,
    OpportunityStageChange,
    Order,
    OrgUnit,
    Target,
    User,
)
from tests.conftest import DEFAULT_NOW, Demo


class Raw:
    """Every row the funnel reads, loaded plainly, and the figures recomputed with loops."""

    def __init__(
        self, stages: list[Any], deals: list[Any], changes: list[Any], orders: list[Any], targets: list[Any]
    ):
        self.stages = {s.id: s for s in stages}
        self.deals, self.changes, self.orders, self.targets = deals, changes, orders, targets

    def figures(
        self, deal_ids: set[UUID], target_key: tuple[str, UUID], order_filter: Any, tz: str
    ) -> dict[str, Any]:
        """The figures of November in the scope's time zone."""
        month_start = datetime(2026, 11, 1, tzinfo=ZoneInfo(tz))
        month_end = datetime(2026, 12, 1, tzinfo=ZoneInfo(tz))
        today = DEFAULT_NOW.astimezone(ZoneInfo(tz)).date()
        ordered = sorted((s for s in self.stages.values() if s.kind != "lost"), key=lambda s: s.position)
        names = [s.name for s in ordered]  # the open stages then Won
        visited: dict[UUID, set[str]] = defaultdict(set)
        per_deal: dict[UUID, list[Any]] = defaultdict(list)
        moves = {"entered": 0, "advanced": 0, "won": 0, "lost": 0}
        for c in self.changes:
            if c.opportunity_id not in deal_ids or c.at >= month_end:
                continue
            to = self.stages[c.to_stage_id]
            visited[c.opportunity_id].add(to.name)
            per_deal[c.opportunity_id].append(c)
            if c.at >= month_start:
                before = self.stages.get(c.from_stage_id)
                if before is None:
                    moves["entered"] += 1
                elif to.kind in ("won", "lost"):
                    moves[to.kind] += 1
                elif before.kind == "open" and to.position > before.position:
                    moves["advanced"] += 1
        conversions = []
        for n in range(len(names) - 1):
            reached = sum(1 for seen in visited.values() if seen & set(names[n:]))
            converted = sum(1 for seen in visited.values() if seen & set(names[n + 1 :]))
            conversions.append((names[n], names[n + 1], reached, converted))
        stays: dict[str, list[float]] = defaultdict(list)
        for changes in per_deal.values():
            changes.sort(key=lambda c: c.at)
            for here, after in pairwise(changes):
                if self.stages[here.to_stage_id].kind == "open":
                    stays[self.stages[here.to_stage_id].name].append(
                        (after.at - here.at).total_seconds() / 86400
                    )
        weighted = Decimal(0)
        for d in self.deals:
            if d.id in deal_ids and self.stages[d.stage_id].kind == "open" and d.expected_close:
                if today <= d.expected_close <= date(2026, 11, 30):
                    weighted += (d.amount * d.probability / 100).quantize(Decimal("0.01"))
        target = next((t.amount for t in self.targets if (t.scope, t.scope_id) == target_key), None)
        actual = sum((o.amount for o in self.orders if order_filter(o) and o.ordered_on <= today), Decimal(0))
        gap = None if target is None else max(target - actual, Decimal(0))
        decided = moves["won"] + moves["lost"]
        return {
            **moves,
            "win_rate": round(moves["won"] / decided, 4) if decided else None,
            "conversions": conversions,
            "days_in_stage": {
                n: round(sum(stays[n]) / len(stays[n]), 2) if stays[n] else None for n in names[:-1]
            },
            "weighted_pipeline": weighted,
            "gap": gap,
            "coverage": round(float(weighted / gap), 4) if gap else None,
        }


async def load_raw(sessionmaker: async_sessionmaker[AsyncSession]) -> Raw:
    async with sessionmaker() as session:
        targets = list(await session.scalars(select(Target).where(
            Target.status == "approved", Target.metric == "revenue", Target.granularity == "month",
            Target.period_start == date(2026, 11, 1),
        )))  # fmt: skip
        orders = list(
            await session.execute(
                select(Order.amount, Order.rep_id, Order.ordered_on, User.org_unit_id)
                .outerjoin(User, User.id == Order.rep_id)
                .where(Order.ordered_on.between(date(2026, 11, 1), date(2026, 11, 30)))
            )
        )
        return Raw(
            list(await session.scalars(select(OpportunityStage))),
            list(await session.scalars(select(Opportunity))),
            list(await session.scalars(select(OpportunityStageChange))),
            orders,
            targets,
        )


def api_figures(body: dict[str, Any]) -> dict[str, Any]:
    return {
        **{
            k: body[k]
            for k in ("entered", "advanced", "won", "lost", "win_rate", "days_in_stage", "coverage")
        },
        "conversions": [
            (c["from_stage"], c["to_stage"], c["reached"], c["converted"]) for c in body["conversions"]
        ],
        "weighted_pipeline": Decimal(body["weighted_pipeline"]),
        "gap": None if body["gap"] is None else Decimal(body["gap"]),
    }


async def test_funnel_matches_raw_rows_for_rep_team_region_company(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # Live activity in the period on top of the seeded history: one new deal won, one lost.
    headers = await auth("rep1")
    customer = (await client.get("/api/v1/customers?limit=1", headers=headers)).json()["items"][0]["id"]
    for stage, extra in (("Won", {}), ("Lost", {"lost_reason": "Price"})):
        body = {
            "customer_id": customer,
            "title": f"Deal {stage}",
            "amount": "5000",
            "expected_close": "2026-11-25",
        }
        made = (await client.post("/api/v1/opportunities", json=body, headers=headers)).json()["opportunity"]
        moved = await client.patch(
            f"/api/v1/opportunities/{made['id']}", json={"stage": stage, **extra}, headers=headers
        )
        assert moved.status_code == 200, moved.text
    raw = await load_raw(sessionmaker)
    async with sessionmaker() as session:
        units = {u.name: u for u in await session.scalars(select(OrgUnit))}
        reps = {u.id: u for u in await session.scalars(select(User).where(User.role == "rep"))}
        subtrees = {u.id: set(await subtree_unit_ids(session, u.id)) for u in units.values()}
        zones = {u.id: u.timezone for u in units.values()}

    def unit_expected(unit_id: UUID) -> dict[str, Any]:
        deals = {d.id for d in raw.deals if d.org_unit_id in subtrees[unit_id]}
        return raw.figures(
            deals, ("org_unit", unit_id), lambda o: o.org_unit_id in subtrees[unit_id], zones[unit_id]
        )

    def rep_expected(rep_id: UUID) -> dict[str, Any]:
        deals = {d.id for d in raw.deals if d.owner_rep_id == rep_id}
        return raw.figures(
            deals, ("user", rep_id), lambda o: o.rep_id == rep_id, zones[reps[rep_id].org_unit_id]
        )

    mine = (await client.get("/api/v1/funnel?period=2026-11", headers=headers)).json()
    assert "total" in mine, mine
    assert mine["total"]["scope_id"] == str(demo.user("rep1")) and mine["rows"] == []
    assert api_figures(mine["total"]) == rep_expected(demo.user("rep1"))
    assert mine["total"]["won"] >= 1 and mine["total"]["lost"] >= 1 and mine["total"]["entered"] >= 2

    for local in ("manager1", "director1", "exec"):
        report = (await client.get("/api/v1/funnel?period=2026-11", headers=await auth(local))).json()
        total_id = UUID(report["total"]["scope_id"])
        assert api_figures(report["total"]) == unit_expected(total_id), local
        assert report["rows"], local
        for row in report["rows"]:
            key = UUID(row["scope_id"])
            expected = rep_expected(key) if row["scope"] == "user" else unit_expected(key)
            assert api_figures(row) == expected, (local, row["name"])
        if local == "manager1":
            team_reps = {k for k, u in reps.items() if u.org_unit_id == total_id}
            assert {UUID(r["scope_id"]) for r in report["rows"]} == team_reps
    company = (await client.get("/api/v1/funnel?period=2026-11", headers=await auth("exec"))).json()
    assert any(r["gap"] is not None and r["coverage"] is not None for r in company["rows"])


async def test_funnel_week_csv_and_scope(client: AsyncTestClient[Any], demo: Demo, auth: Any) -> None:
    headers = await auth("manager1")
    week = (await client.get("/api/v1/funnel?period=2026-W47", headers=headers)).json()
    assert (week["period_start"], week["period_end"], week["plan_start"]) == (
        "2026-11-16",
        "2026-11-22",
        "2026-11-01",
    )
    exported = await client.get("/api/v1/funnel?period=2026-W47&format=csv", headers=headers)
    assert exported.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(exported.text.removeprefix("\ufeff"))))
    assert [line["name"] for line in lines] == [week["total"]["name"], *(r["name"] for r in week["rows"])]
    assert lines[0]["weighted_pipeline"] == week["total"]["weighted_pipeline"]
    assert "Lead->Qualified" in lines[0] and "days_in_Proposal" in lines[0]

    other_team = demo.units[next(n for n in demo.units if n != "Shanghai Team 1" and "Team" in n)]
    rep_headers = await auth("rep1")
    assert (
        await client.get(f"/api/v1/funnel?scope=user&scope_id={demo.user('rep2')}", headers=rep_headers)
    ).status_code == 404
    assert (await client.get("/api/v1/funnel?scope=org_unit", headers=rep_headers)).status_code == 404
    outside = await client.get(f"/api/v1/funnel?scope=org_unit&scope_id={demo.company_id}", headers=headers)
    assert outside.status_code == 404
    assert other_team
    bad = await client.get("/api/v1/funnel?period=November", headers=headers)
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "period"


@pytest.mark.parametrize("period", ["2026-13", "2026-W60"])
async def test_funnel_rejects_impossible_periods(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, period: str
) -> None:
    response = await client.get(f"/api/v1/funnel?period={period}", headers=await auth("exec"))
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "period"
