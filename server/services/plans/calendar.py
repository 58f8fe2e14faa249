"""Holiday calendars, pace thresholds and seasonal distributions plans read (the org tree they
walk is server/core/org.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.audit import AuditService
from server.core.errors import field_error
from server.core.org import OrgTree, company_settings
from server.core.services import Service
from server.core.upsert import dialect_of
from server.db.id_lists import id_batches, in_ids
from server.db.models import Holiday, SeasonalDistribution
from server.domain.breakdown import month_weights_from_json
from server.domain.pace import Thresholds


def _holidays_statement(postgresql: bool) -> Any:
    return select(Holiday.org_unit_id, Holiday.day).where(
        in_ids(Holiday.org_unit_id, "units", postgresql),
        Holiday.day >= bindparam("start"),
        Holiday.day <= bindparam("end"),
    )


_HOLIDAYS = {postgresql: _holidays_statement(postgresql) for postgresql in (False, True)}


async def load_holidays(
    session: AsyncSession, tree: OrgTree, unit_ids: Iterable[UUID], start: date, end: date
) -> dict[UUID, frozenset[date]]:
    """Each unit's non-working days in [start, end]: its own plus every ancestor's."""
    chains = {unit: tree.ancestors(unit) for unit in unit_ids}
    needed = {u for chain in chains.values() for u in chain}
    if not needed:
        return {}
    postgresql = dialect_of(session) == "postgresql"
    own: dict[UUID, set[date]] = defaultdict(set)
    for units in id_batches(list(needed), postgresql):
        rows = await session.execute(_HOLIDAYS[postgresql], {"units": units, "start": start, "end": end})
        for unit, day in rows:
            own[unit].add(day)
    # Units with the same days share one set object: the pace calendar is cached per holiday set,
    # and an identical object compares at once where an equal one compares day by day.
    shared: dict[frozenset[date], frozenset[date]] = {}
    return {
        unit: shared.setdefault(days, days)
        for unit, chain in chains.items()
        for days in [frozenset().union(*(own.get(u, set()) for u in chain))]
    }


async def load_thresholds(
    session: AsyncSession, company_ids: Iterable[UUID | None]
) -> dict[UUID, Thresholds]:
    """Pace thresholds from org_settings per company (defaults where a company has none)."""
    found = await company_settings(session, company_ids)
    return {
        company: Thresholds(row.pace_yellow, row.pace_orange, row.pace_red, row.grace_working_days)
        for company, row in found.items()
    }


class SeasonalDistributionsService(Service):
    """Named month weights (12 values summing to 100) a company breaks its years down by."""

    async def list(self, company_id: UUID) -> list[SeasonalDistribution]:
        query = select(SeasonalDistribution).where(SeasonalDistribution.company_id == company_id)
        return list((await self.session.scalars(query.order_by(SeasonalDistribution.name))).all())

    async def create(
        self, actor_id: UUID, company_id: UUID, name: str, month_weights: Mapping[str, Decimal]
    ) -> SeasonalDistribution:
        """Store validated weights as {"1": "8.5", ...} (strings keep Decimal exact in JSON)."""
        try:
            parsed = month_weights_from_json(month_weights)
        except ValueError as error:
            raise field_error("month_weights", str(error)) from None
        if not name.strip():
            raise field_error("name", "must not be empty")
        distribution = SeasonalDistribution(
            company_id=company_id,
            name=name.strip(),
            month_weights={str(month): str(weight) for month, weight in sorted(parsed.items())},
        )
        self.session.add(distribution)
        await self.session.flush()
        await self.ctx.get(AuditService).record(
            actor_id, "seasonal_distribution.created", "seasonal_distribution", distribution.id,
            after={"name": distribution.name, **distribution.month_weights},
        )  # fmt: skip
        return distribution
