"""The executive's organisation view: pace by region and team, red items, approvals waiting,
and for a region below 70% of its expected-to-date a suggestion of where help could come from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from server.core.access import Scope
from server.core.org import OrgTree
from server.core.services import Service
from server.db.models import Customer, Target, TargetAdjustment, User
from server.services.escalations.findings import group_by_local_date
from server.services.escalations.inbox import EscalationFilter, EscalationInbox, EscalationView
from server.services.plans.progress import ProgressService, ScopeProgress

REALLOCATION_BELOW = Decimal("0.70")  # region attainment (actual / expected to date) that asks for help
AHEAD_FROM = Decimal("1")  # a team at or above this pace is ahead
UNTAPPED_SHARE = Decimal("0.25")  # a backup customer buys at most this share of its potential
BACKUP_LIMIT = 10


@dataclass
class UnitRow:
    id: UUID
    name: str
    kind: str  # region | team
    parent_id: UUID | None
    revenue: ScopeProgress | None
    visits: ScopeProgress | None

    @property
    def pace(self) -> Decimal | None:
        return self.revenue.progress.pace if self.revenue else None

    @property
    def status(self) -> str:
        return self.revenue.progress.status.value if self.revenue else "none"


@dataclass
class Reallocation:
    region: UnitRow
    ahead_in_region: list[UnitRow]
    ahead_elsewhere: list[UnitRow]
    backup_customers: list[dict[str, Any]]


@dataclass
class OrgOverview:
    regions: list[tuple[UnitRow, list[UnitRow]]]  # each region with its teams
    red_escalations: list[EscalationView]
    red_units: list[UnitRow]
    pending_adjustments: list[dict[str, Any]]
    reallocations: list[Reallocation] = field(default_factory=list)


class OrgViewService(Service):
    async def overview(self, access: Scope) -> OrgOverview:
        """Everything on the /org page, scoped to the caller's subtree (all of it for executives)."""
        tree = await OrgTree.load(self.session)
        rows = await self.unit_rows(tree, access, ("region", "team"))
        regions = [r for r in rows.values() if r.kind == "region"]
        teams = [r for r in rows.values() if r.kind == "team"]
        nested = [(region, [t for t in teams if t.parent_id == region.id]) for region in regions]
        red, _total = await self.ctx.get(EscalationInbox).list(
            access, EscalationFilter(state="active", severity="red", limit=20)
        )
        overview = OrgOverview(
            regions=nested,
            red_escalations=red,
            red_units=[r for r in rows.values() if r.status == "red"],
            pending_adjustments=await self._pending_adjustments(access, tree),
        )
        for region, region_teams in nested:
            if region.pace is not None and region.pace < REALLOCATION_BELOW:
                overview.reallocations.append(
                    Reallocation(
                        region=region,
                        ahead_in_region=_ahead(region_teams),
                        ahead_elsewhere=_ahead([t for t in teams if t.parent_id != region.id]),
                        backup_customers=await self._backup_customers(tree.subtree(region.id)),
                    )
                )
        return overview

    async def unit_rows(
        self, tree: OrgTree, access: Scope, kinds: tuple[str, ...], at: datetime | None = None
    ) -> dict[UUID, UnitRow]:
        """Units of these kinds in scope, with month-to-date pace as of each unit's local date."""
        units = [u for u in tree.units.values() if u.kind in kinds and access.sees_unit(u.id)]
        by_date = group_by_local_date(((u.id, u.timezone) for u in units), at or self.clock.now())
        progress = self.ctx.get(ProgressService)
        found: dict[str, dict[UUID, ScopeProgress]] = {"revenue": {}, "visits": {}}
        for as_of, ids in by_date.items():
            for metric in found:
                found[metric].update(await progress.for_scopes("org_unit", ids, as_of, metric))
        return {
            u.id: UnitRow(
                u.id, u.name, u.kind, u.parent_id, found["revenue"].get(u.id), found["visits"].get(u.id)
            )
            for u in sorted(units, key=lambda u: u.name)
        }

    async def _pending_adjustments(self, access: Scope, tree: OrgTree) -> list[dict[str, Any]]:
        requester, subject = aliased(User), aliased(User)
        rows = await self.session.execute(
            select(
                TargetAdjustment.id,
                TargetAdjustment.old_amount,
                TargetAdjustment.new_amount,
                TargetAdjustment.reason,
                TargetAdjustment.requested_at,
                Target.id.label("target_id"),
                Target.scope,
                Target.scope_id,
                Target.metric,
                Target.period_start,
                requester.name.label("requested_by"),
                subject.name.label("user_name"),
                subject.org_unit_id.label("user_unit"),
            )
            .join(Target, Target.id == TargetAdjustment.target_id)
            .join(requester, requester.id == TargetAdjustment.requested_by)
            .outerjoin(subject, (Target.scope == "user") & (subject.id == Target.scope_id))
            .where(TargetAdjustment.status == "pending")
            .order_by(TargetAdjustment.requested_at)
        )
        pending = []
        for row in rows:
            unit_id = row.user_unit if row.scope == "user" else row.scope_id
            if row.scope == "customer" or not access.sees_unit(unit_id):
                continue
            name = row.user_name if row.scope == "user" else tree.units[row.scope_id].name
            pending.append({**row._asdict(), "subject_name": name})
        return pending

    async def _backup_customers(self, unit_ids: list[UUID]) -> list[dict[str, Any]]:
        """Active C/D customers with high potential and little revenue: who could be activated."""
        revenue = func.coalesce(Customer.revenue_365, 0)
        untapped = (Customer.potential - revenue).label("untapped")
        rows = await self.session.execute(
            select(
                Customer.id,
                Customer.name,
                Customer.grade,
                Customer.potential,
                Customer.revenue_365,
                untapped,
                User.name.label("owner_name"),
            )
            .outerjoin(User, User.id == Customer.owner_rep_id)
            .where(
                Customer.org_unit_id.in_(unit_ids),
                Customer.status == "active",
                Customer.grade.in_(("C", "D")),
                Customer.potential > 0,
                revenue <= Customer.potential * UNTAPPED_SHARE,
            )
            .order_by(untapped.desc(), Customer.name)
            .limit(BACKUP_LIMIT)
        )
        return [row._asdict() for row in rows]


def _ahead(teams: list[UnitRow]) -> list[UnitRow]:
    ahead = [t for t in teams if t.pace is not None and t.pace >= AHEAD_FROM]
    return sorted(ahead, key=lambda t: t.pace or 0, reverse=True)
