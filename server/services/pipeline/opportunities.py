"""Opportunities as the caller may see them: scoped lists, create, partial update with every stage
change recorded, and won deals turned into one order."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, false, func, select
from sqlalchemy.orm import aliased

from server.core.access import Scope
from server.core.audit import AuditService
from server.core.errors import field_error, not_found
from server.core.i18n import gettext as _
from server.core.services import Service
from server.db.models import Customer, Opportunity, OpportunityStage, OpportunityStageChange, Order, User
from server.domain.plans import FieldProblem
from server.services.checkins.orders import OrdersService, check_currency
from server.services.pipeline.stages import StagesService

MAX_AMOUNT = Decimal("99999999999999.99")
EDITABLE = ("title", "amount", "currency", "probability", "expected_close", "next_step", "lost_reason")
_OWNER = aliased(User)


@dataclass(frozen=True)
class OpportunityFilters:
    owner_rep_id: UUID | None = None
    stage: str | None = None  # a stage id or name
    customer_id: UUID | None = None
    closing_before: date | None = None
    status: str | None = None  # open | won | lost


@dataclass(frozen=True)
class OpportunityRow:
    opportunity: Opportunity
    stage: OpportunityStage
    customer_name: str
    owner_name: str | None

    @property
    def weighted(self) -> Decimal:
        return (self.opportunity.amount * self.opportunity.probability / 100).quantize(Decimal("0.01"))


def opportunity_clause(access: Scope) -> ColumnElement[bool]:
    """Reps see the deals they own; managers and executives those of customers in their subtree."""
    if access.principal.is_rep:
        return Opportunity.owner_rep_id == access.principal.id
    if not access.unit_ids:
        return false()
    return Opportunity.org_unit_id.in_(access.unit_ids)


def check_amount(value: Decimal) -> Decimal:
    if not value.is_finite() or value < 0:
        raise field_error("amount", _("must be zero or a positive amount"))
    if value > MAX_AMOUNT or value != value.quantize(Decimal("0.01")):
        raise field_error("amount", _("must have at most 2 decimal places and 14 digits before the point"))
    return value.quantize(Decimal("0.01"))


def _check_fields(fields: dict[str, Any]) -> None:
    if "title" in fields and not (fields["title"] or "").strip():
        raise field_error("title", _("is required"))
    if "amount" in fields:
        fields["amount"] = check_amount(fields["amount"])
    if fields.get("probability") is not None and not 0 <= fields["probability"] <= 100:
        raise field_error("probability", _("must be between 0 and 100"))
    if "currency" in fields:
        try:
            fields["currency"] = check_currency("currency", (fields["currency"] or "").upper())
        except FieldProblem as problem:
            raise field_error(problem.field, problem.message) from None


class OpportunitiesService(Service):
    def _rows(self) -> Select[Opportunity, OpportunityStage, str, str]:
        return (
            select(Opportunity, OpportunityStage, Customer.name, _OWNER.name)
            .join(OpportunityStage, OpportunityStage.id == Opportunity.stage_id)
            .join(Customer, Customer.id == Opportunity.customer_id)
            .outerjoin(_OWNER, _OWNER.id == Opportunity.owner_rep_id)
        )

    async def list(
        self, access: Scope, filters: OpportunityFilters, limit: int | None, offset: int = 0
    ) -> tuple[builtins.list[OpportunityRow], int]:
        """`limit` deals from `offset` of those the caller sees (None: all), soonest close first."""
        where = [opportunity_clause(access)]
        if filters.owner_rep_id:
            where.append(Opportunity.owner_rep_id == filters.owner_rep_id)
        if filters.customer_id:
            where.append(Opportunity.customer_id == filters.customer_id)
        if filters.closing_before:
            where.append(Opportunity.expected_close < filters.closing_before)
        if filters.stage:
            company = await self.ctx.get(StagesService).company_of(access.principal.org_unit_id)
            stage = await self.ctx.get(StagesService).find(company, filters.stage)
            where.append(Opportunity.stage_id == stage.id)
        if filters.status:
            where.append(OpportunityStage.kind == filters.status)
        total = await self.session.scalar(
            select(func.count())
            .select_from(Opportunity)
            .join(OpportunityStage, OpportunityStage.id == Opportunity.stage_id)
            .where(*where)
        )
        stmt = (
            self._rows()
            .where(*where)
            .order_by(
                OpportunityStage.kind != "open",
                Opportunity.expected_close.asc().nulls_last(),
                Opportunity.title,
                Opportunity.id,
            )
        )
        if limit:
            stmt = stmt.offset(offset).limit(limit)
        rows = [OpportunityRow(*row) for row in await self.session.execute(stmt)]
        return rows, int(total or 0)

    async def get(self, access: Scope, opportunity_id: UUID, lock: bool = False) -> OpportunityRow:
        """The deal if the caller may see it; 404 otherwise (out of scope looks the same as missing)."""
        stmt = self._rows().where(Opportunity.id == opportunity_id, opportunity_clause(access))
        if lock:
            stmt = stmt.with_for_update(of=Opportunity)
        row = (await self.session.execute(stmt)).first()
        if row is None:
            raise not_found("Opportunity", opportunity_id)
        return OpportunityRow(*row)

    async def history(self, opportunity_id: UUID) -> builtins.list[Any]:
        """(change, from name, to name, by name), oldest first."""
        before, after = aliased(OpportunityStage), aliased(OpportunityStage)
        return list(
            await self.session.execute(
                select(OpportunityStageChange, before.name, after.name, User.name)
                .outerjoin(before, before.id == OpportunityStageChange.from_stage_id)
                .join(after, after.id == OpportunityStageChange.to_stage_id)
                .outerjoin(User, User.id == OpportunityStageChange.by_user_id)
                .where(OpportunityStageChange.opportunity_id == opportunity_id)
                .order_by(OpportunityStageChange.at, OpportunityStageChange.id)
            )
        )

    async def create(
        self, access: Scope, fields: dict[str, Any], checkin_id: UUID | None = None
    ) -> OpportunityRow:
        """A new deal on a customer the caller sees, at the given stage (the first one by default)."""
        _check_fields(fields)
        customer = await self.session.scalar(
            select(Customer).where(Customer.id == fields["customer_id"], access.customer_clause(Customer))
        )
        if customer is None:
            raise not_found("Customer", fields["customer_id"], "customer_id")
        stages = self.ctx.get(StagesService)
        company_id = await stages.company_of(customer.org_unit_id)
        if fields.get("stage"):
            stage = await stages.find(company_id, fields["stage"])
        else:
            stage = next(s for s in await stages.stages(company_id, active_only=True) if s.kind == "open")
        owner = await self._owner(access, fields.get("owner_rep_id") or customer.owner_rep_id)
        now = self.clock.now()
        opportunity = Opportunity(
            company_id=company_id,
            org_unit_id=customer.org_unit_id,
            customer_id=customer.id,
            external_ref=fields.get("external_ref"),
            title=fields["title"].strip(),
            amount=fields["amount"],
            currency=fields.get("currency") or "USD",
            stage_id=stage.id,
            probability=stage.default_probability,
            owner_rep_id=owner,
            expected_close=fields.get("expected_close"),
            next_step=fields.get("next_step"),
            lost_reason=fields.get("lost_reason"),
            stage_changed_at=now,
            source_checkin_id=checkin_id,
        )
        self._apply_probability(opportunity, stage, fields.get("probability"))
        self._check_lost(opportunity, stage)
        if stage.kind != "open":
            opportunity.closed_on = self.clock.local_date(access.principal.timezone)
        self.session.add(opportunity)
        await self.session.flush()
        self.session.add(
            OpportunityStageChange(
                opportunity_id=opportunity.id, from_stage_id=None, to_stage_id=stage.id, at=now,
                by_user_id=access.principal.id, checkin_id=None,
            )
        )  # fmt: skip
        await self.ctx.get(AuditService).record(
            access.principal.id,
            "opportunity.created",
            "opportunity",
            opportunity.id,
            after=_snapshot(opportunity),
        )
        if fields.get("create_order"):
            await self.to_order(access, opportunity.id)
        return await self.get(access, opportunity.id)

    async def update(
        self, access: Scope, opportunity_id: UUID, fields: dict[str, Any], checkin_id: UUID | None = None
    ) -> OpportunityRow:
        """Change only the fields sent. A stage change is recorded (time, actor, check-out) and
        resets the probability to the new stage's default unless one is sent with it."""
        _check_fields(fields)
        row = await self.get(access, opportunity_id, lock=True)
        opportunity, stage = row.opportunity, row.stage
        before = _snapshot(opportunity)
        if "owner_rep_id" in fields:
            opportunity.owner_rep_id = await self._owner(access, fields["owner_rep_id"])
        for name in EDITABLE:
            if name in fields and name != "probability":
                setattr(opportunity, name, fields[name])
        if fields.get("stage"):
            new_stage = await self.ctx.get(StagesService).find(opportunity.company_id, fields["stage"])
            if new_stage.id != stage.id:
                await self._move(access, opportunity, stage, new_stage, checkin_id)
                if "probability" not in fields:
                    self._apply_probability(opportunity, new_stage, None)
                stage = new_stage
        if "probability" in fields:
            self._apply_probability(opportunity, stage, fields["probability"])
        self._check_lost(opportunity, stage)
        await self.session.flush()
        after = _snapshot(opportunity)
        if after != before:
            await self.ctx.get(AuditService).record(
                access.principal.id, "opportunity.updated", "opportunity", opportunity.id, before, after
            )
        if fields.get("create_order"):
            await self.to_order(access, opportunity.id)
        return await self.get(access, opportunity.id)

    async def _move(
        self,
        access: Scope,
        opportunity: Opportunity,
        old: OpportunityStage,
        new: OpportunityStage,
        checkin_id: UUID | None,
    ) -> None:
        now = self.clock.now()
        opportunity.stage_id, opportunity.stage_changed_at = new.id, now
        opportunity.closed_on = (
            None if new.kind == "open" else self.clock.local_date(access.principal.timezone)
        )
        self.session.add(
            OpportunityStageChange(
                opportunity_id=opportunity.id, from_stage_id=old.id, to_stage_id=new.id, at=now,
                by_user_id=access.principal.id, checkin_id=checkin_id,
            )
        )  # fmt: skip

    @staticmethod
    def _apply_probability(opportunity: Opportunity, stage: OpportunityStage, given: int | None) -> None:
        """Decided deals are 100 or 0; open ones take the stage default unless one is given."""
        if stage.kind != "open" or given is None:
            opportunity.probability, opportunity.probability_overridden = stage.default_probability, False
        else:
            opportunity.probability, opportunity.probability_overridden = given, True

    @staticmethod
    def _check_lost(opportunity: Opportunity, stage: OpportunityStage) -> None:
        if stage.kind == "lost" and not (opportunity.lost_reason or "").strip():
            raise field_error("lost_reason", _("is required when a deal is lost"))

    async def _owner(self, access: Scope, owner_id: UUID | None) -> UUID | None:
        """The owner must be a user the caller sees (a rep can only own their own deals)."""
        if owner_id is None:
            return access.principal.id if access.principal.is_rep else None
        user = (
            await self.session.execute(select(User.id, User.org_unit_id).where(User.id == owner_id))
        ).first()
        if user is None or not access.sees_user(user.id, user.org_unit_id):
            raise not_found("User", owner_id, "owner_rep_id")
        return user.id

    async def to_order(self, access: Scope, opportunity_id: UUID) -> tuple[Order, bool]:
        """The won deal's order in the actuals: created once, the same one on every retry."""
        row = await self.get(access, opportunity_id, lock=True)
        opportunity = row.opportunity
        if row.stage.kind != "won":
            raise field_error("stage", _("only a won deal becomes an order"), 409)
        if opportunity.order_id is not None:
            order = await self.session.get(Order, opportunity.order_id)
            assert order is not None  # FK
            return order, False
        if opportunity.amount <= 0:
            raise field_error("amount", _("must be positive to become an order"))
        order, outcome = await self.ctx.get(OrdersService).upsert(
            access.principal,
            access,
            {
                "external_ref": f"opportunity:{opportunity.id}",
                "customer_id": opportunity.customer_id,
                "rep_id": opportunity.owner_rep_id,
                "amount": opportunity.amount,
                "currency": opportunity.currency,
                "ordered_on": opportunity.closed_on or self.clock.local_date(access.principal.timezone),
            },
        )
        opportunity.order_id = order.id
        await self.session.flush()
        return order, outcome == "created"


def _snapshot(opportunity: Opportunity) -> dict[str, Any]:
    names = (*EDITABLE, "stage_id", "owner_rep_id", "order_id")
    return {
        name: None if getattr(opportunity, name) is None else str(getattr(opportunity, name))
        for name in names
    }
