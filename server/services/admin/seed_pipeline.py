"""The demo's opportunities: a handful per rep, created over the last quarter, each walked through
the default stages with its history, so the funnel, the opportunity pages and the planner's deal
candidates have believable data on first start."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.db.models import Customer, Opportunity, OpportunityStage, OpportunityStageChange
from server.domain.funnel import DEFAULT_STAGES
from server.services.admin.seed_world import World, bulk_insert

PER_REP = 6
TITLES = (
    "Spring order",
    "Shelf expansion",
    "New product line trial",
    "Annual supply contract",
    "Promotion display",
    "Reorder top-up",
    "Second store opening",
    "Holiday season stock",
)


def stage_rows(world: World, company_id: uuid.UUID) -> list[dict[str, Any]]:
    """The default stages for one company."""
    return [
        {
            "id": world.uid(),
            "company_id": company_id,
            "name": stage.name,
            "position": position,
            "default_probability": stage.probability,
            "kind": stage.kind,
            "active": True,
        }
        for position, stage in enumerate(DEFAULT_STAGES, start=1)
    ]


async def seed_pipeline(connection: AsyncConnection, world: World) -> int:
    """Insert the company's stages and PER_REP opportunities per rep; returns the opportunities."""
    stages = stage_rows(world, world.company_id)
    await bulk_insert(connection, OpportunityStage.__table__, stages, world.now)
    open_stages = [s for s in stages if s["kind"] == "open"]
    won = next(s for s in stages if s["kind"] == "won")
    lost = next(s for s in stages if s["kind"] == "lost")
    customers: dict[uuid.UUID, list[uuid.UUID]] = {}
    rows = await connection.execute(
        select(Customer.id, Customer.owner_rep_id)
        .where(Customer.status != "closed", Customer.owner_rep_id.is_not(None))
        .order_by(Customer.external_ref, Customer.id)
    )
    for customer_id, rep_id in rows:
        customers.setdefault(rep_id, []).append(customer_id)
    opportunities: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for rep in world.reps:
        mine = customers.get(rep["id"], [])
        if not mine:
            continue
        target = world.month_revenue_target.get(rep["id"], Decimal(20000))
        for _ in range(PER_REP):
            customer_id = world.rng.choice(mine)
            # How far it got: most still open, some won, some lost.
            reached = world.rng.randint(1, len(open_stages))
            fate = world.rng.choices(("open", "won", "lost"), weights=(6, 2, 2))[0]
            path = open_stages[:reached] + ([won] if fate == "won" else [lost] if fate == "lost" else [])
            at = world.now - timedelta(days=world.rng.randint(20, 85), hours=world.rng.randint(0, 8))
            opportunity_id = world.uid()
            previous: dict[str, Any] | None = None
            for stage in path:
                changes.append(
                    {
                        "id": world.uid(),
                        "opportunity_id": opportunity_id,
                        "from_stage_id": previous["id"] if previous else None,
                        "to_stage_id": stage["id"],
                        "at": at,
                        "by_user_id": rep["id"],
                        "checkin_id": None,
                    }
                )
                previous, changed_at = stage, at
                at = min(at + timedelta(days=world.rng.randint(3, 14)), world.now - timedelta(hours=1))
            final = path[-1]
            amount = (target * Decimal(str(world.rng.uniform(0.08, 0.5)))).quantize(Decimal("100"))
            closed = final["kind"] != "open"
            opportunities.append(
                {
                    "id": opportunity_id,
                    "company_id": world.company_id,
                    "org_unit_id": world.team_of_rep[rep["id"]],
                    "customer_id": customer_id,
                    "external_ref": None,
                    "title": world.rng.choice(TITLES),
                    "amount": max(amount, Decimal(500)),
                    "currency": "USD",
                    "stage_id": final["id"],
                    "probability": final["default_probability"],
                    "probability_overridden": False,
                    "expected_close": changed_at.date()
                    if closed
                    else world.today + timedelta(days=world.rng.randint(3, 45)),
                    "owner_rep_id": rep["id"],
                    "next_step": None if closed else "Call to confirm the quantities",
                    "lost_reason": "Chose a cheaper supplier" if final["kind"] == "lost" else None,
                    "stage_changed_at": changed_at,
                    "closed_on": changed_at.date() if closed else None,
                    "order_id": None,
                    "source_checkin_id": None,
                    "created_at": changes[-len(path)]["at"],
                    "updated_at": changed_at,
                }
            )
    await bulk_insert(connection, Opportunity.__table__, opportunities, world.now)
    await bulk_insert(connection, OpportunityStageChange.__table__, changes, world.now)
    return len(opportunities)
