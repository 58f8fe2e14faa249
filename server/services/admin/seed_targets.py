"""This year's approved plan for the demo: revenue top-down from last year's actuals with growth,
and visit targets each rep's recent visiting can meet."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from server.db.models import Target
from server.domain.breakdown import shares_from_actuals, split_amount, split_period
from server.services.admin.seed_month import month_visit_target
from server.services.admin.seed_world import SeedOptions, World, bulk_insert


async def seed_targets(connection: AsyncConnection, world: World, options: SeedOptions) -> int:
    """This year's approved revenue plan, top-down: company -> region -> team -> rep, year -> month."""
    year = world.today.year
    start, end = date(year, 1, 1), date(year, 12, 31)
    rows: list[dict[str, Any]] = []
    team_revenue: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    for rep_id, revenue in world.revenue_by_rep.items():
        team_revenue[world.team_of_rep[rep_id]] += revenue
    region_revenue: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    for team_id, revenue in team_revenue.items():
        region_revenue[world.region_of_team[team_id]] += revenue
    # Annualise a shorter history so monthly targets stay realistic with --months < 12.
    history_months = Decimal(max(1, min(options.months, 12)))
    annual = sum(region_revenue.values(), Decimal(0)) * Decimal(12) / history_months
    company_amount = (annual * options.year_growth).quantize(Decimal("1000"))
    company_amount = max(company_amount, Decimal("1000"))

    def add(scope: str, scope_id: uuid.UUID, amount: Decimal, parent: uuid.UUID | None) -> uuid.UUID:
        target_id = world.uid()
        rows.append(_target(target_id, scope, scope_id, "revenue", start, end, "year", amount, parent, world))
        for part in split_period(amount, start, end, "month"):
            if scope == "user" and part.start == world.month_start:
                world.month_revenue_target[scope_id] = part.amount
            rows.append(
                _target(
                    world.uid(),
                    scope,
                    scope_id,
                    "revenue",
                    part.start,
                    part.end,
                    "month",
                    part.amount,
                    target_id,
                    world,
                )
            )
        return target_id

    company_target = add("org_unit", world.company_id, company_amount, None)
    region_amounts = split_amount(company_amount, shares_from_actuals(region_revenue))
    for region_id, region_amount in region_amounts.items():
        region_target = add("org_unit", region_id, region_amount, company_target)
        teams = {t: team_revenue[t] for t, r in world.region_of_team.items() if r == region_id}
        for team_id, team_amount in split_amount(region_amount, shares_from_actuals(teams)).items():
            team_target = add("org_unit", team_id, team_amount, region_target)
            reps = {r: world.revenue_by_rep[r] for r, t in world.team_of_rep.items() if t == team_id}
            for rep_id, rep_amount in split_amount(team_amount, shares_from_actuals(reps)).items():
                add("user", rep_id, rep_amount, team_target)
    # Visit targets per rep per month: the rep's own pace of the last 13 weeks (never below a
    # visit a working day); this month's follows the rep's form (server/services/admin/seed_month.py).
    for rep in world.reps:
        usual = max(Decimal(21), (Decimal(world.recent_visits_by_rep[rep["id"]]) / 3).quantize(Decimal(1)))
        for part in split_period(usual * 12, start, end, "month"):
            amount = part.amount.quantize(Decimal(1))
            if part.start == world.month_start:
                amount = month_visit_target(world, rep["id"], amount)
            rows.append(
                _target(
                    world.uid(), "user", rep["id"], "visits", part.start, part.end, "month",
                    amount, None, world,
                )
            )  # fmt: skip
    await bulk_insert(connection, Target.__table__, rows, world.now)
    return len(rows)


def _target(
    target_id: uuid.UUID,
    scope: str,
    scope_id: uuid.UUID,
    metric: str,
    start: date,
    end: date,
    granularity: str,
    amount: Decimal,
    parent: uuid.UUID | None,
    world: World,
) -> dict[str, Any]:
    return {
        "id": target_id,
        "scope": scope,
        "scope_id": scope_id,
        "metric": metric,
        "period_start": start,
        "period_end": end,
        "granularity": granularity,
        "amount": amount,
        "parent_id": parent,
        "weights": None,
        "distribution_id": None,
        "status": "approved",
        "version": 1,
        "approved_at": world.now,
        "created_at": world.now,
        "updated_at": world.now,
        "external_ref": None,
    }
