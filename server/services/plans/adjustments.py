"""Adjusting an approved target: small moves at once, big ones through an executive.

Policy (docs/plans.md): an adjustment re-phases, it never changes the parent's total. The
difference is taken from (or given to) the target's siblings under the same parent, in
proportion to their amounts: the later periods of the same scope (a month moved, the rest of
the year absorbs it), or the other units/reps of the same period (one rep's month moved, the
team-mates absorb it). Every changed target's own children are re-split in proportion, so every
level still sums exactly. Changing a plan's total is a re-plan (new version, approval).

A month or week target may move by up to 15% directly; larger moves, and any move of a
quarter or year, become a pending request that an executive other than the requester decides.
"""

from __future__ import annotations

import builtins
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, select

from server.core.access import Principal, Scope
from server.core.audit import AuditService
from server.core.errors import ProblemError, field_error, not_found
from server.core.services import Service
from server.db.models import Target, TargetAdjustment
from server.domain.breakdown import classify_adjustment, shares_even, split_amount
from server.domain.plans import FieldProblem, check_amount
from server.services.plans.breakdown import places_for
from server.services.plans.targets import PlansService, visible_targets

DIRECT_GRANULARITIES = ("month", "week")


def adjustment_view(adjustment: TargetAdjustment) -> dict[str, Any]:
    return {
        "target_id": str(adjustment.target_id),
        "old_amount": str(adjustment.old_amount),
        "new_amount": str(adjustment.new_amount),
        "reason": adjustment.reason,
        "status": adjustment.status,
    }


class AdjustmentsService(Service):
    @property
    def plans(self) -> PlansService:
        return self.ctx.get(PlansService)

    async def get(self, access: Scope, adjustment_id: UUID) -> TargetAdjustment:
        found = await self.session.scalar(
            select(TargetAdjustment)
            .join(Target, Target.id == TargetAdjustment.target_id)
            .where(TargetAdjustment.id == adjustment_id, visible_targets(access))
        )
        if found is None:
            raise not_found("Adjustment", adjustment_id)
        return found

    async def list(
        self, access: Scope, filters: Sequence[ColumnElement[bool]], limit: int, offset: int
    ) -> list[tuple[TargetAdjustment, Target]]:
        rows = await self.session.execute(
            select(TargetAdjustment, Target)
            .join(Target, Target.id == TargetAdjustment.target_id)
            .where(visible_targets(access), *filters)
            .order_by(TargetAdjustment.requested_at.desc())
            .limit(limit)
            .offset(offset)
        )
        return [(adjustment, target) for adjustment, target in rows.tuples()]

    async def request(
        self, principal: Principal, target: Target, new_amount: Decimal, reason: str
    ) -> TargetAdjustment:
        """Apply a small move now, or queue a big one for an executive."""
        if target.status != "approved":
            raise ProblemError(
                409,
                f"Target is {target.status}; only approved targets are adjusted (edit a draft directly).",
                [{"field": "status", "message": f"is {target.status}"}],
            )
        if not reason.strip():
            raise field_error("reason", "say why the target moves")
        try:
            new_amount = check_amount("new_amount", new_amount, target.metric)
            if new_amount == target.amount:
                raise FieldProblem("new_amount", "equals the current amount")
            await self._rephase_plan(target, new_amount)  # refuse now what could never be applied
        except FieldProblem as problem:
            raise field_error(problem.field, problem.message) from None
        pending = await self.session.scalar(
            select(TargetAdjustment.id).where(
                TargetAdjustment.target_id == target.id, TargetAdjustment.status == "pending"
            )
        )
        if pending is not None:
            raise ProblemError(
                409,
                f"Adjustment {pending} for this target is waiting for an executive.",
                [{"field": "target_id", "message": "an adjustment is already pending"}],
            )
        direct = (
            target.granularity in DIRECT_GRANULARITIES
            and classify_adjustment(target.amount, new_amount) == "direct"
        )
        adjustment = TargetAdjustment(
            target_id=target.id,
            old_amount=target.amount,
            new_amount=new_amount,
            reason=reason.strip(),
            status="applied" if direct else "pending",
            requested_by=principal.id,
            requested_at=self.clock.now(),
        )
        self.session.add(adjustment)
        await self.session.flush()
        await self.ctx.get(AuditService).record(
            principal.id,
            "adjustment.applied" if direct else "adjustment.requested",
            "target_adjustment",
            adjustment.id,
            after=adjustment_view(adjustment),
        )
        if direct:
            await self._apply(principal, target, new_amount, adjustment)
        return adjustment

    async def decide(
        self, principal: Principal, adjustment: TargetAdjustment, approve: bool, note: str | None
    ) -> TargetAdjustment:
        """An executive approves (applies) or rejects a pending request; never their own."""
        if adjustment.status != "pending":
            raise ProblemError(
                409,
                f"Adjustment is {adjustment.status}; only pending adjustments are decided.",
                [{"field": "status", "message": f"is {adjustment.status}"}],
            )
        if adjustment.requested_by == principal.id:
            raise ProblemError(403, "You requested this adjustment; another executive decides it.")
        target = await self.session.get(Target, adjustment.target_id)
        if approve and (
            target is None or target.status != "approved" or target.amount != adjustment.old_amount
        ):
            raise ProblemError(
                409,
                "The target changed since this adjustment was requested; reject it and request again.",
                [{"field": "target_id", "message": "target changed"}],
            )
        if approve and target is not None:
            try:  # check before changing anything: a page redirect would commit a half-done decision
                await self._rephase_plan(target, adjustment.new_amount)
            except FieldProblem as problem:
                raise field_error(problem.field, problem.message, status_code=409) from None
        before = adjustment_view(adjustment)
        adjustment.status = "approved" if approve else "rejected"
        adjustment.decided_by, adjustment.decided_at = principal.id, self.clock.now()
        adjustment.decision_note = (note or "").strip() or None
        await self.session.flush()
        await self.ctx.get(AuditService).record(
            principal.id,
            f"adjustment.{adjustment.status}",
            "target_adjustment",
            adjustment.id,
            before,
            {**adjustment_view(adjustment), "note": adjustment.decision_note},
        )
        if approve and target is not None:
            await self._apply(principal, target, adjustment.new_amount, adjustment)
        return adjustment

    async def _rephase_plan(self, target: Target, new_amount: Decimal) -> dict[UUID, tuple[Target, Decimal]]:
        """New amounts for the target and the siblings that absorb the difference."""
        changes = {target.id: (target, new_amount)}
        if target.parent_id is None:
            return changes  # a standalone target: nothing above it to keep whole
        # Time siblings are the later periods of this scope; org siblings share its period.
        later_period = (Target.scope_id == target.scope_id) & (Target.period_start > target.period_end)
        same_period = (
            (Target.scope_id != target.scope_id)
            & (Target.period_start == target.period_start)
            & (Target.period_end == target.period_end)
        )
        query = select(Target).where(
            Target.parent_id == target.parent_id,
            Target.id != target.id,
            Target.scope == target.scope,
            Target.metric == target.metric,
            Target.granularity == target.granularity,
            Target.status == "approved",
            later_period | same_period,
        )
        siblings = list((await self.session.scalars(query.order_by(Target.period_start))).all())
        if not siblings:
            raise FieldProblem(
                "new_amount",
                "nothing under the same parent can absorb the change (no later period or sibling); "
                "re-plan the parent target instead",
            )
        weights = {s.id: s.amount for s in siblings}
        if not any(weights.values()):
            weights = shares_even(weights)
        delta = new_amount - target.amount
        shares = split_amount(-delta, weights, places_for(target.metric, delta))
        for sibling in siblings:
            moved = sibling.amount + shares[sibling.id]
            if moved < 0:
                raise FieldProblem(
                    "new_amount",
                    f"the {sibling.period_start} target ({sibling.amount}) cannot absorb the change "
                    "without going below zero",
                )
            changes[sibling.id] = (sibling, moved)
        return changes

    async def _apply(
        self, principal: Principal, target: Target, new_amount: Decimal, adjustment: TargetAdjustment
    ) -> None:
        changes = await self._rephase_plan(target, new_amount)
        before = {t.id: t.amount for t, _ in changes.values()}
        for changed, amount in changes.values():
            changed.amount = amount
        rescaled = await self._rescale_descendants([t for t, _ in changes.values()])
        await self.session.flush()
        note = {"adjustment_id": str(adjustment.id)}
        for changed, _ in changes.values():
            await self.ctx.get(AuditService).record(
                principal.id,
                "target.adjusted",
                "target",
                changed.id,
                {"amount": str(before[changed.id])},
                {"amount": str(changed.amount), **note},
            )
        self.plans.audit_many(principal, "target.rescaled", rescaled, note)

    async def _rescale_descendants(self, roots: builtins.list[Target]) -> builtins.list[Target]:
        """Re-split every changed target's children in proportion, level by level."""
        below = await self.plans.descendants([r.id for r in roots])
        children: dict[UUID, list[Target]] = defaultdict(list)
        for item in below:
            if item.parent_id is not None:
                children[item.parent_id].append(item)
        queue, changed = list(roots), []
        while queue:
            node = queue.pop(0)
            groups: dict[tuple[str, bool, str], list[Target]] = defaultdict(list)
            for child in children.get(node.id, []):
                groups[(child.scope, child.scope_id == node.scope_id, child.granularity)].append(child)
            for group in groups.values():
                weights = {c.id: c.amount for c in group}
                if not any(weights.values()):
                    weights = shares_even(weights)
                amounts = split_amount(node.amount, weights, places_for(node.metric, node.amount))
                for child in group:
                    if child.amount != amounts[child.id]:
                        child.amount = amounts[child.id]
                        changed.append(child)
                queue.extend(group)
        return changed
