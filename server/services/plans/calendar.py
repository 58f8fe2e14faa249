"""The org tree, holiday calendars, pace thresholds and seasonal distributions plans read.

Loaded once per call and walked in Python: an organisation has hundreds of units at most, so one
query for the whole tree beats a recursive query per scope.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.audit import AuditService
from server.core.errors import field_error
from server.core.services import Service
from server.db.models import Holiday, OrgSettings, OrgUnit, SeasonalDistribution
from server.domain.breakdown import month_weights_from_json
from server.domain.pace import Thresholds


@dataclass(frozen=True)
class UnitInfo:
    id: UUID
    parent_id: UUID | None
    name: str
    kind: str
    timezone: str


@dataclass
class OrgTree:
    units: dict[UUID, UnitInfo]
    children: dict[UUID, list[UUID]] = field(default_factory=dict)

    @classmethod
    async def load(cls, session: AsyncSession) -> OrgTree:
        rows = await session.execute(
            select(OrgUnit.id, OrgUnit.parent_id, OrgUnit.name, OrgUnit.kind, OrgUnit.timezone)
        )
        units = {row.id: UnitInfo(*row) for row in rows}
        children: dict[UUID, list[UUID]] = defaultdict(list)
        for unit in sorted(units.values(), key=lambda u: u.name):
            if unit.parent_id is not None:
                children[unit.parent_id].append(unit.id)
        return cls(units, dict(children))

    def ancestors(self, unit_id: UUID) -> list[UUID]:
        """The unit and its ancestors, nearest first (stops on a cycle rather than looping)."""
        chain: list[UUID] = []
        current: UUID | None = unit_id
        while current is not None and current in self.units and current not in chain:
            chain.append(current)
            current = self.units[current].parent_id
        return chain

    def subtree(self, unit_id: UUID) -> list[UUID]:
        """The unit and everything below it."""
        found, stack = [], [unit_id]
        while stack:
            current = stack.pop()
            if current in found:
                continue
            found.append(current)
            stack.extend(self.children.get(current, []))
        return found

    def company_of(self, unit_id: UUID | None) -> UUID | None:
        return self.ancestors(unit_id)[-1] if unit_id in self.units else None  # type: ignore[arg-type]

    def timezone(self, unit_id: UUID | None) -> str:
        unit = self.units.get(unit_id) if unit_id else None
        return unit.timezone if unit else "UTC"


async def load_holidays(
    session: AsyncSession, tree: OrgTree, unit_ids: Iterable[UUID], start: date, end: date
) -> dict[UUID, frozenset[date]]:
    """Each unit's non-working days in [start, end]: its own plus every ancestor's."""
    chains = {unit: tree.ancestors(unit) for unit in unit_ids}
    needed = {u for chain in chains.values() for u in chain}
    if not needed:
        return {}
    rows = await session.execute(
        select(Holiday.org_unit_id, Holiday.day).where(
            Holiday.org_unit_id.in_(needed), Holiday.day >= start, Holiday.day <= end
        )
    )
    own: dict[UUID, set[date]] = defaultdict(set)
    for unit, day in rows:
        own[unit].add(day)
    return {unit: frozenset().union(*(own.get(u, set()) for u in chain)) for unit, chain in chains.items()}


async def load_thresholds(
    session: AsyncSession, company_ids: Iterable[UUID | None]
) -> dict[UUID, Thresholds]:
    """Pace thresholds from org_settings per company (defaults where a company has none)."""
    ids = [c for c in company_ids if c is not None]
    if not ids:
        return {}
    rows = await session.execute(
        select(
            OrgSettings.company_id,
            OrgSettings.pace_yellow,
            OrgSettings.pace_orange,
            OrgSettings.pace_red,
            OrgSettings.grace_working_days,
        ).where(OrgSettings.company_id.in_(ids))
    )
    return {
        row.company_id: Thresholds(row.pace_yellow, row.pace_orange, row.pace_red, row.grace_working_days)
        for row in rows
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
