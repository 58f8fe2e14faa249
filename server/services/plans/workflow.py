"""The plan workflow: submit, approve, return. Each acts on a target and every descendant in the
matching state (and on the rest of its breakdown), so a plan moves as a whole and still adds up.
Approving supersedes the approved target of the same key; a re-plan (version + 1) takes over the
approved version's place, its children and its parents' amounts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update

from server.core.access import Principal
from server.core.errors import ProblemError, field_error
from server.core.services import Service
from server.db.models import Target
from server.domain.plans import FieldProblem
from server.services.plans.approvals import check_four_eyes
from server.services.plans.ledger import PlanLedger
from server.services.plans.progress import chunks
from server.services.plans.targets import PlansService, target_key


@dataclass(frozen=True)
class Transition:
    from_states: frozenset[str]
    to_state: str
    verb: str


TRANSITIONS = {
    "submit": Transition(frozenset({"draft", "returned"}), "submitted", "submitted"),
    "approve": Transition(frozenset({"submitted"}), "approved", "approved"),
    "return": Transition(frozenset({"submitted"}), "returned", "returned"),
}


class PlanWorkflowService(Service):
    @property
    def plans(self) -> PlansService:
        return self.ctx.get(PlansService)

    async def transition(
        self, principal: Principal, target: Target, action: str, comment: str | None = None
    ) -> list[Target]:
        """Submit, approve or return a target and its descendants in the matching state."""
        rule = TRANSITIONS[action]
        if target.status not in rule.from_states:
            allowed = " or ".join(sorted(rule.from_states))
            raise ProblemError(
                409,
                f"Target is {target.status}; only {allowed} targets can be {rule.verb}.",
                [{"field": "status", "message": f"is {target.status}, must be {allowed}"}],
            )
        if action == "return" and not (comment or "").strip():
            raise field_error("comment", "say what to change when returning a plan")
        if action == "approve" and target.parent_id is not None:
            parent_status = await self.session.scalar(
                select(Target.status).where(Target.id == target.parent_id)
            )
            if parent_status != "approved":
                raise ProblemError(
                    409,
                    f"The parent target is {parent_status}; approve the parent (it approves this too).",
                    [{"field": "parent_id", "message": f"parent is {parent_status}"}],
                )
        roots = [target] + await self._breakdown_siblings(target, rule.from_states)
        below = await self.plans.descendants([r.id for r in roots])
        moved = roots + [t for t in below if t.status in rule.from_states]
        now = self.clock.now()
        if action == "approve":
            submitters = {t.submitted_by for t in moved}
            await check_four_eyes(self.session, self.settings, principal, submitters, "plan")
            for old, new in await self._replanned(moved):
                await self._take_over(principal, old, new)
        for item in moved:
            item.status = rule.to_state
            if action == "submit":
                item.submitted_by = principal.id
            elif action == "approve":
                item.approved_by, item.approved_at = principal.id, now
                item.baseline_amount = item.amount
            else:
                item.review_comment = comment
        if action == "approve":
            await self._supersede(principal, moved)
        await self.session.flush()
        self.plans.audit_many(
            principal, f"target.{rule.verb}", moved, {"comment": comment} if comment else {}
        )
        if action == "approve":
            await self.ctx.get(PlanLedger).enforce_for([target])
        return moved

    async def _breakdown_siblings(self, target: Target, states: frozenset[str]) -> list[Target]:
        """The other children of the same breakdown (a parent's months, or its reps) in these
        states: a breakdown is submitted, approved and returned as a whole, so it adds up."""
        if target.parent_id is None or target.version > 1:
            return []
        parent = await self.session.get(Target, target.parent_id)
        if parent is None:
            return []
        same_scope = (parent.scope, parent.scope_id) == (target.scope, target.scope_id)
        rows = await self.session.scalars(
            select(Target).where(
                Target.parent_id == parent.id, Target.id != target.id, Target.status.in_(states),
                Target.version == 1,
            )
        )  # fmt: skip
        return [t for t in rows if ((t.scope, t.scope_id) == (parent.scope, parent.scope_id)) == same_scope]

    async def _replanned(self, approving: Sequence[Target]) -> list[tuple[Target, Target]]:
        """(approved version, its re-plan) for every approving target that re-plans one."""
        keys = {target_key(t): t for t in approving if t.version > 1}
        pairs = []
        for part in chunks(sorted({k[1] for k in keys})):
            rows = await self.session.scalars(
                select(Target).where(Target.scope_id.in_(part), Target.status == "approved")
            )
            pairs += [(old, keys[target_key(old)]) for old in rows if target_key(old) in keys]
        return pairs

    async def _take_over(self, principal: Principal, old: Target, new: Target) -> None:
        """A re-plan takes the approved version's place: the plan moves with the new amount (its
        children re-split, the parents above move by the difference) and the children follow."""
        ledger = self.ctx.get(PlanLedger)
        index = await ledger.load(old)
        try:
            change = index.change(old, new.amount, "parent")
        except FieldProblem as problem:
            raise field_error("amount", problem.message, status_code=409) from None
        index.enforce(change.amounts)
        ledger.write(principal.id, index, change, {"replanned_by": str(new.id)}, rebaseline=True)
        await self.session.execute(
            update(Target).where(Target.parent_id == old.id, Target.id != new.id).values(parent_id=new.id)
        )
        old.status = "superseded"
        await self.session.flush()
        self.plans.audit_many(principal, "target.superseded", [old], {"by": str(new.id)})

    async def _supersede(self, principal: Principal, approved: Sequence[Target]) -> None:
        keys = {target_key(t): t.id for t in approved}
        ids = {t.id for t in approved}
        old: list[Target] = []
        for part in chunks(sorted({k[1] for k in keys})):
            candidates = await self.session.scalars(
                select(Target).where(Target.scope_id.in_(part), Target.status == "approved")
            )
            old += [t for t in candidates if t.id not in ids and target_key(t) in keys]
        for target in old:
            target.status = "superseded"
        self.plans.audit_many(principal, "target.superseded", old, {})
