"""Targets: who sees them, creating and editing them, and their versions.

A plan is a target with its descendants (parent_id); the draft -> submitted -> approved flow that
moves a plan as a whole is services/plans/workflow.py. A target's key is (scope, scope id, metric,
granularity, period); a re-plan is the same key's next version.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, or_, select

from server.core.access import Principal, Scope
from server.core.audit import AuditService
from server.core.errors import ProblemError, field_error, not_found
from server.core.services import Service
from server.db.models import AuditEntry, Customer, OrgUnit, Target, User
from server.domain.plans import (
    METRICS,
    SCOPES,
    FieldProblem,
    check_amount,
    check_choice,
    check_period,
    check_weights,
)
from server.services.plans.ledger import PlanIndex, in_force_below
from server.services.plans.progress import chunks

EDITABLE = frozenset({"draft", "returned"})
LIVE = ("draft", "submitted", "returned", "approved")  # everything but superseded
Key = tuple[str, UUID, str, str, date, date]


def target_key(target: Target) -> Key:
    return (
        target.scope,
        target.scope_id,
        target.metric,
        target.granularity,
        target.period_start,
        target.period_end,
    )


def snapshot(target: Target) -> dict[str, Any]:
    """What the audit log keeps of a target."""
    return {
        "scope": target.scope,
        "scope_id": str(target.scope_id),
        "metric": target.metric,
        "granularity": target.granularity,
        "period": f"{target.period_start}..{target.period_end}",
        "amount": str(target.amount),
        "status": target.status,
        "version": target.version,
    }


def visible_targets(access: Scope) -> ColumnElement[bool]:
    """Targets the caller may see: a rep their own (and their customers'); others their subtree."""
    principal = access.principal
    customers = Target.scope_id.in_(select(Customer.id).where(access.customer_clause(Customer)))
    by_customer = and_(Target.scope == "customer", customers)
    if principal.is_rep:
        return or_(and_(Target.scope == "user", Target.scope_id == principal.id), by_customer)
    return or_(
        and_(Target.scope == "user", access.user_clause(Target.scope_id)),
        and_(Target.scope == "org_unit", access.unit_clause(Target.scope_id)),
        by_customer,
    )


class PlansService(Service):
    @property
    def audit(self) -> AuditService:
        return self.ctx.get(AuditService)

    async def get(self, access: Scope, target_id: UUID) -> Target:
        """The target, or 404 when it does not exist or is outside the caller's scope."""
        target = await self.session.scalar(
            select(Target).where(Target.id == target_id, visible_targets(access))
        )
        if target is None:
            raise not_found("Target", target_id)
        return target

    async def list(
        self, access: Scope, filters: Sequence[ColumnElement[bool]], limit: int, offset: int
    ) -> list[Target]:
        query = (
            select(Target)
            .where(visible_targets(access), *filters)
            .order_by(Target.period_start, Target.scope, Target.granularity, Target.scope_id, Target.version)
            .limit(limit)
            .offset(offset)
        )
        return list((await self.session.scalars(query)).all())

    async def check_scope(self, access: Scope, scope: str, scope_id: UUID) -> None:
        """404 naming scope_id unless the caller may see this user, unit or customer."""
        check_choice("scope", scope, SCOPES)
        principal = access.principal
        if scope == "user":
            row = (
                await self.session.execute(select(User.id, User.org_unit_id).where(User.id == scope_id))
            ).first()
            visible = row is not None and access.sees_user(row.id, row.org_unit_id)
        elif scope == "org_unit":
            exists = await self.session.scalar(select(OrgUnit.id).where(OrgUnit.id == scope_id))
            visible = exists is not None and not principal.is_rep and access.sees_unit(scope_id)
        else:
            visible = (
                await self.session.scalar(
                    select(Customer.id).where(Customer.id == scope_id, access.customer_clause(Customer))
                )
            ) is not None
        if not visible:
            raise not_found(scope, scope_id, "scope_id")

    async def create(self, principal: Principal, access: Scope, **fields: Any) -> Target:
        """A new draft target (version = latest of its key + 1)."""
        try:
            check_choice("metric", fields["metric"], METRICS)
            fields["period_end"] = check_period(
                fields["granularity"], fields["period_start"], fields.get("period_end")
            )
            fields["amount"] = check_amount("amount", fields["amount"], fields["metric"])
            check_weights(fields.get("weights"))
        except FieldProblem as problem:
            raise field_error(problem.field, problem.message) from None
        await self.check_scope(access, fields["scope"], fields["scope_id"])
        target = Target(status="draft", **fields)
        target.version = (await self.next_versions([target_key(target)]))[target_key(target)]
        self.session.add(target)
        await self.session.flush()
        await self.audit.record(principal.id, "target.created", "target", target.id, after=snapshot(target))
        return target

    async def next_versions(
        self,
        keys: Sequence[Key],
        replacing: Iterable[UUID] = (),
        on_conflict: Callable[[Key, UUID, str], None] | None = None,
    ) -> dict[Key, int]:
        """Version for a new target of each key (latest + 1); 409 when one is already pending.

        `replacing` are targets about to be deleted (a breakdown redone), so they do not count.
        `on_conflict(key, id, status)` replaces the 409 (imports report it per row instead).
        """
        replaced, wanted = set(replacing), set(keys)
        latest = dict.fromkeys(wanted, 0)
        for part in chunks(sorted({key[1] for key in wanted})):
            rows = await self.session.execute(
                select(Target.id, Target.scope, Target.scope_id, Target.metric, Target.granularity,
                       Target.period_start, Target.period_end, Target.status, Target.version)
                .where(Target.scope_id.in_(part))
            )  # fmt: skip
            for row in rows:
                key = (row.scope, row.scope_id, row.metric, row.granularity, row.period_start, row.period_end)
                if key not in wanted or row.id in replaced:
                    continue
                if row.status in ("draft", "submitted", "returned") and on_conflict is not None:
                    on_conflict(key, row.id, row.status)
                elif row.status in ("draft", "submitted", "returned"):
                    raise ProblemError(
                        409,
                        f"A {row.status} {row.granularity} target for this {row.scope} and period already "
                        f"exists ({row.id}); edit or re-plan that one.",
                        [{"field": "period_start", "message": f"a {row.status} target exists: {row.id}"}],
                    )
                latest[key] = max(latest[key], row.version)
        return {key: version + 1 for key, version in latest.items()}

    async def edit(
        self, principal: Principal, target: Target, amount: Decimal | None, weights: Any
    ) -> Target:
        """Change a draft's (or returned target's) amount or seasonal weights."""
        if target.status not in EDITABLE:
            raise ProblemError(
                409,
                f"Target is {target.status}; only draft or returned targets are edited "
                "(adjust an approved one, or re-plan it).",
                [{"field": "status", "message": f"is {target.status}"}],
            )
        before = snapshot(target)
        try:
            if amount is not None:
                await self._resplit_drafts(principal, target, check_amount("amount", amount, target.metric))
        except FieldProblem as problem:
            raise field_error(problem.field, problem.message) from None
        try:
            check_weights(weights)
        except FieldProblem as problem:
            raise field_error(problem.field, problem.message) from None
        if weights is not None:
            target.weights = weights or None
        await self.session.flush()
        await self.audit.record(principal.id, "target.edited", "target", target.id, before, snapshot(target))
        return target

    async def _resplit_drafts(self, principal: Principal, target: Target, amount: Decimal) -> None:
        """A draft's new amount re-splits its draft breakdown (org and time), so it still adds up."""
        below = [
            t for t in await in_force_below(self.session, target, tuple(EDITABLE)) if t.status in EDITABLE
        ]
        index = PlanIndex(below)
        change = index.change(target, amount, "parent")
        index.enforce(change.amounts)
        moved = [t for t in change.changed(index) if t.id != target.id]
        for item in change.changed(index):
            item.amount = change.amounts[item.id]
        self.audit_many(principal, "target.rescaled", moved, {"by": str(target.id)})

    async def replan(self, principal: Principal, access: Scope, target: Target, amount: Decimal) -> Target:
        """A new draft version of an approved target; it supersedes the old one once approved."""
        if target.status != "approved":
            raise ProblemError(
                409,
                f"Target is {target.status}; only an approved target is re-planned (edit a draft directly).",
                [{"field": "status", "message": f"is {target.status}"}],
            )
        return await self.create(
            principal,
            access,
            scope=target.scope,
            scope_id=target.scope_id,
            metric=target.metric,
            granularity=target.granularity,
            period_start=target.period_start,
            period_end=target.period_end,
            amount=amount,
            parent_id=target.parent_id,
            weights=target.weights,
            distribution_id=target.distribution_id,
        )

    async def descendants(self, root_ids: Sequence[UUID]) -> builtins.list[Target]:
        """Every live target below these (breadth first, parents before children)."""
        found: list[Target] = []
        frontier = list(root_ids)
        while frontier:  # one query per level: a plan is a handful of levels deep
            level: list[Target] = []
            for part in chunks(frontier):
                level += (
                    await self.session.scalars(
                        select(Target).where(Target.parent_id.in_(part), Target.status.in_(LIVE))
                    )
                ).all()
            found += level
            frontier = [t.id for t in level]
        return found

    def audit_many(
        self, principal: Principal, action: str, targets: Sequence[Target], extra: dict[str, Any]
    ) -> None:
        # One audit row per target; added in bulk (a company plan can move thousands at once).
        now = self.clock.now()
        self.session.add_all(
            AuditEntry(
                actor_id=principal.id,
                action=action,
                entity="target",
                entity_id=t.id,
                after={**snapshot(t), **extra},
                at=now,
            )
            for t in targets
        )
