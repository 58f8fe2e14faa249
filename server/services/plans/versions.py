"""Two versions of a plan side by side: old, new and the change, in total and per child.

A re-plan draft is not broken down itself: when it is approved it takes over the approved
version's breakdown, re-split by the plan ledger. Until then its children are that projection
(the same arithmetic, nothing written), so the manager sees per child what approval will do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from server.core.access import Scope
from server.core.errors import field_error
from server.core.services import Service
from server.db.models import Target
from server.domain.plans import FieldProblem
from server.services.plans.ledger import PlanLedger
from server.services.plans.targets import PlansService
from server.services.plans.tree import PlanTreeService

ChildKey = tuple[str, UUID, str, date, date]


@dataclass(frozen=True)
class ChangeRow:
    name: str
    period_start: date
    period_end: date
    old: Decimal | None
    new: Decimal | None

    @property
    def change(self) -> Decimal | None:
        if self.old is None or self.new is None:
            return None
        return self.new - self.old


@dataclass(frozen=True)
class Comparison:
    old: Target
    new: Target
    name: str
    rows: list[ChangeRow]
    projected: bool = False  # the new version's children are what approving it would make them

    @property
    def change(self) -> Decimal:
        return self.new.amount - self.old.amount


def _key(target: Target) -> ChildKey:
    return (target.scope, target.scope_id, target.granularity, target.period_start, target.period_end)


class PlanVersionsService(Service):
    async def compare(self, access: Scope, old_id: UUID, new_id: UUID) -> Comparison:
        """Both targets must be versions of the same plan (scope, metric, period) in the caller's scope."""
        plans = self.ctx.get(PlansService)
        old, new = await plans.get(access, old_id), await plans.get(access, new_id)
        same = (old.scope, old.scope_id, old.metric, old.granularity, old.period_start) == (
            new.scope,
            new.scope_id,
            new.metric,
            new.granularity,
            new.period_start,
        )
        if not same or old.id == new.id:
            raise field_error("with", "must be another version of the same plan", 422)
        if old.version > new.version:
            old, new = new, old
        children: dict[UUID, dict[ChildKey, Decimal]] = {
            target.id: {
                _key(c): c.amount for c in await plans.list(access, [Target.parent_id == target.id], 5000, 0)
            }
            for target in (old, new)
        }
        projected = False
        if not children[new.id] and children[old.id] and old.status == "approved":
            taken_over = await self._taken_over(old, new)
            projected = taken_over is not None
            children[new.id] = taken_over or {}
        keys = sorted(set(children[old.id]) | set(children[new.id]), key=lambda k: (k[3], str(k[1])))
        scopes = [(k[0], k[1]) for k in keys] + [(old.scope, old.scope_id)]
        names = await self.ctx.get(PlanTreeService).scope_names(scopes)
        rows = [
            ChangeRow(
                names.get(key[1], ""), key[3], key[4], children[old.id].get(key), children[new.id].get(key)
            )
            for key in keys
        ]
        return Comparison(old, new, names.get(old.scope_id, ""), rows, projected)

    async def _taken_over(self, old: Target, new: Target) -> dict[ChildKey, Decimal] | None:
        """The approved version's children as approving `new` would re-split them (None when the
        ledger could not: approval would refuse it and say why)."""
        index = await self.ctx.get(PlanLedger).load(old)
        try:
            change = index.change(old, new.amount, "parent")
        except FieldProblem:
            return None
        return {
            _key(child): change.amounts.get(child.id, child.amount)
            for child in index.cells.values()
            if child.parent_id == old.id
        }
