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
from server.domain.breakdown import shares_from_actuals, split_amount, split_grid, split_period
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

    months = [(part.start, part.end) for part in split_period(company_amount, start, end, "month")]

    def add(
        scope: str, scope_id: uuid.UUID, amount: Decimal, monthly: list[Decimal], parent: uuid.UUID | None
    ) -> uuid.UUID:
        target_id = world.uid()
        rows.append(_target(target_id, scope, scope_id, "revenue", start, end, "year", amount, parent, world))
        for (month_start, month_end), month_amount in zip(months, monthly, strict=True):
            if scope == "user" and month_start == world.month_start:
                world.month_revenue_target[scope_id] = month_amount
            rows.append(
                _target(world.uid(), scope, scope_id, "revenue", month_start, month_end, "month",
                        month_amount, target_id, world)
            )  # fmt: skip
        return target_id

    def below(
        amounts: dict[uuid.UUID, Decimal], parent_months: list[Decimal]
    ) -> dict[uuid.UUID, list[Decimal]]:
        # The children's months under the parent's: every rep's months sum to the rep's year and
        # every month's reps to the team's month (the plan invariant, docs/plans.md).
        grid = split_grid(amounts, dict(enumerate(parent_months)))
        return {child: [grid[child][i] for i in range(len(months))] for child in amounts}

    company_months = [p.amount for p in split_period(company_amount, start, end, "month")]
    company_target = add("org_unit", world.company_id, company_amount, company_months, None)
    region_amounts = split_amount(company_amount, shares_from_actuals(region_revenue))
    region_months = below(region_amounts, company_months)
    for region_id, region_amount in region_amounts.items():
        region_target = add("org_unit", region_id, region_amount, region_months[region_id], company_target)
        teams = {t: team_revenue[t] for t, r in world.region_of_team.items() if r == region_id}
        team_amounts = split_amount(region_amount, shares_from_actuals(teams))
        team_months = below(team_amounts, region_months[region_id])
        for team_id, team_amount in team_amounts.items():
            team_target = add("org_unit", team_id, team_amount, team_months[team_id], region_target)
            reps = {r: world.revenue_by_rep[r] for r, t in world.team_of_rep.items() if t == team_id}
            rep_amounts = split_amount(team_amount, shares_from_actuals(reps))
            rep_months = below(rep_amounts, team_months[team_id])
            for rep_id, rep_amount in rep_amounts.items():
                add("user", rep_id, rep_amount, rep_months[rep_id], team_target)
    # Visit targets per rep per month: the rep's own pace of the last 13 weeks (never below a
    # visit a working day); this month's follows the rep's form (server/services/admin/seed_month.py).
    for rep in world.reps:
        usual = max(Decimal(21), (Decimal(world.recent_visits_by_rep[rep["id"]]) / 3).quantize(Decimal(1)))
        visit_months = split_period(usual * 12, start, end, "month")
        whole = split_amount(usual * 12, {part.start: part.amount for part in visit_months}, 0)
        for part in visit_months:
            amount = whole[part.start]
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
        "baseline_amount": amount,
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
