"""Adjusting an approved target: small moves at once, big ones through an executive.

Policy (docs/plans.md, "Adjustments"): the manager chooses a mode.
- `rebalance` (default): the parent stays; the target's open siblings (the rest of the year's
  open months, or the team-mates at the top) absorb the difference in proportion.
- `parent`: the parent moves with it (the year, and every unit above at the same periods).
Either way every changed target's children are re-split and the plan still adds up
(services/plans/ledger.py works the amounts out and checks the invariant).

The ±15% direct allowance is cumulative: every cell the change moves at or above the target
(itself, its ancestors or the siblings that absorb, and the units above them) must stay within
15% of its last approved baseline; otherwise, and for any quarter or year, the change is a
pending request that an executive other than the requester decides. A closed period (ended
before today in its unit's time zone) is locked: only an executive changes one, with a reason.
"""

from __future__ import annotations

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
from server.domain.breakdown import classify_adjustment
from server.domain.plans import FieldProblem, check_amount
from server.services.plans.approvals import check_four_eyes
from server.services.plans.ledger import MODES, Change, PlanIndex, PlanLedger
from server.services.plans.targets import visible_targets

DIRECT_GRANULARITIES = ("month", "week")


def adjustment_view(adjustment: TargetAdjustment) -> dict[str, Any]:
    return {
        "target_id": str(adjustment.target_id),
        "old_amount": str(adjustment.old_amount),
        "new_amount": str(adjustment.new_amount),
        "mode": adjustment.mode,
        "reason": adjustment.reason,
        "status": adjustment.status,
    }


def beyond_allowance(index: PlanIndex, change: Change) -> list[Target]:
    """Guarded cells the change moves beyond ±15% of their last approved baseline."""
    beyond = []
    for target_id in sorted(change.guarded, key=str):
        target = index.cells[target_id]
        new = change.amounts.get(target_id, target.amount)
        baseline = target.baseline_amount if target.baseline_amount is not None else target.amount
        if new != baseline and classify_adjustment(baseline, new) != "direct":
            beyond.append(target)
    return beyond


class AdjustmentsService(Service):
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

    @property
    def ledger(self) -> PlanLedger:
        return self.ctx.get(PlanLedger)

    async def preview(
        self, principal: Principal, target: Target, new_amount: Decimal, mode: str
    ) -> tuple[PlanIndex, Change]:
        """The change worked out and checked (nothing written): 4xx when it cannot be made."""
        if target.status != "approved":
            raise ProblemError(
                409,
                f"Target is {target.status}; only approved targets are adjusted (edit a draft directly).",
                [{"field": "status", "message": f"is {target.status}"}],
            )
        if mode not in MODES:
            raise field_error("mode", f"must be one of {', '.join(MODES)}")
        try:
            new_amount = check_amount("new_amount", new_amount, target.metric)
            if new_amount == target.amount:
                raise FieldProblem("new_amount", "equals the current amount")
            index = await self.ledger.load(target)
            change = index.change(target, new_amount, mode)
        except FieldProblem as problem:
            raise field_error(problem.field, problem.message) from None
        closed = [t for t in change.changed(index) if index.is_closed(t)]
        if closed and not principal.is_executive:
            raise ProblemError(
                409,
                f"The {closed[0].granularity} from {closed[0].period_start} is closed; only an executive "
                "changes a closed period.",
                [{"field": "period_end", "message": f"{closed[0].period_end} has ended (locked)"}],
            )
        index.enforce(change.amounts)
        return index, change

    async def request(
        self, principal: Principal, target: Target, new_amount: Decimal, reason: str, mode: str = "rebalance"
    ) -> TargetAdjustment:
        """Apply a move within the allowance now, or queue it for an executive."""
        if not reason.strip():
            raise field_error("reason", "say why the target moves")
        index, change = await self.preview(principal, target, new_amount, mode)
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
        direct = target.granularity in DIRECT_GRANULARITIES and not beyond_allowance(index, change)
        adjustment = TargetAdjustment(
            target_id=target.id,
            old_amount=target.amount,
            new_amount=change.amounts[target.id],
            reason=reason.strip(),
            mode=mode,
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
            await self._write(principal, index, change, adjustment, rebaseline=False)
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
        await check_four_eyes(self.session, self.settings, principal, {adjustment.requested_by}, "adjustment")
        target = await self.session.get(Target, adjustment.target_id)
        plan: tuple[PlanIndex, Change] | None = None
        if approve:
            if target is None or target.status != "approved" or target.amount != adjustment.old_amount:
                raise ProblemError(
                    409,
                    "The target changed since this adjustment was requested; reject it and request again.",
                    [{"field": "target_id", "message": "target changed"}],
                )
            try:  # worked out before anything changes: a page redirect would commit a half-done decision
                plan = await self.preview(principal, target, adjustment.new_amount, adjustment.mode)
            except ProblemError as problem:  # the plan moved on since the request: a conflict now
                problem.status_code = 409
                raise
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
        if plan is not None:
            await self._write(principal, *plan, adjustment, rebaseline=True)
        return adjustment

    async def _write(
        self,
        principal: Principal,
        index: PlanIndex,
        change: Change,
        adjustment: TargetAdjustment,
        rebaseline: bool,
    ) -> None:
        note = {"adjustment_id": str(adjustment.id), "mode": adjustment.mode}
        changed = self.ledger.write(principal.id, index, change, note, rebaseline)
        closed = [t for t in changed if index.is_closed(t)]
        audit = self.ctx.get(AuditService)
        for target in closed:  # a locked period changed (an executive's, with the reason)
            await audit.record(
                principal.id, "target.closed_period_changed", "target", target.id,
                after={"amount": str(target.amount), "reason": adjustment.reason, **note},
            )  # fmt: skip
        await self.session.flush()
        index.enforce()
