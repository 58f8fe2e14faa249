"""Helpers for plan tests: the invariant over every approved target, straight from the rows."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Target
from server.domain.plan_invariant import PlanCell, violations


async def plan_violations(session: AsyncSession) -> list[str]:
    """The invariant checked over all approved targets, one plan (metric) at a time."""
    session.expire_all()
    rows = (await session.scalars(select(Target).where(Target.status == "approved"))).all()
    by_metric: dict[str, list[PlanCell]] = defaultdict(list)
    for t in rows:
        by_metric[t.metric].append(
            PlanCell(
                t.id,
                (t.scope, t.scope_id),
                t.granularity,
                t.period_start,
                t.period_end,
                t.amount,
                t.parent_id,
            )
        )
    problems: list[str] = []
    for metric, cells in by_metric.items():
        problems += violations(cells, counted=metric != "revenue")
    return problems
