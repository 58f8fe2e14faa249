"""CSV import of opportunities (`POST /api/v1/import/opportunities`), on the import machinery of
services/admin: idempotent by external_ref, all or nothing, every stage change recorded."""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID, uuid4

from sqlalchemy import insert, select

from server.db.models import Opportunity, OpportunityStage, OpportunityStageChange
from server.domain.plans import FieldProblem
from server.services.admin.import_rows import Handler, parse_date, parse_decimal, required
from server.services.checkins.orders import check_currency
from server.services.pipeline.stages import StagesService
from server.services.plans.progress import chunks


class OpportunityRows(Handler):
    MODEL = Opportunity
    COLUMNS: ClassVar[dict[str, bool]] = {"external_ref": True, "customer_ref": True, "title": True, "amount": True,
               "stage": False, "probability": False, "expected_close": False, "owner_email": False,
               "currency": False, "next_step": False, "lost_reason": False}  # fmt: skip

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.stage_moves: list[tuple[Opportunity, UUID]] = []  # (deal, the stage it left)

    async def check(self, rows: list[tuple[int, dict[str, str]]]) -> None:
        ctx = self.context
        stages_service = ctx.service.ctx.get(StagesService)
        company = await stages_service.company_of(ctx.principal.org_unit_id)
        stages = await stages_service.stages(company, active_only=True)
        by_name = {s.name.lower(): s for s in stages} | {str(s.id): s for s in stages}
        first_open = next(s for s in stages if s.kind == "open")
        customers = await ctx.customers({r.get("customer_ref", "") for _, r in rows})
        owners = await ctx.users({r["owner_email"].lower() for _, r in rows if r.get("owner_email")})
        existing = await self._existing({r.get("external_ref", "") for _, r in rows})
        now = ctx.service.clock.now()
        today = ctx.service.clock.local_date(ctx.principal.timezone)
        seen: set[str] = set()
        for number, row in rows:
            try:
                ref = ctx.new_ref(row, seen)
                customer = ctx.customer_of(row, customers)
                stage = by_name.get(row["stage"].lower()) if row.get("stage") else first_open
                if stage is None:
                    raise FieldProblem(
                        "stage", f"no such stage; expected {', '.join(s.name for s in stages)}"
                    )
                values = self._values(row, stage, owners, customer.owner_rep_id)
                if stage.kind == "lost" and not values.get("lost_reason"):
                    raise FieldProblem("lost_reason", "is required when a deal is lost")
                current = existing.get(ref)
                if current is None:
                    self.creates.append({
                        "id": uuid4(), "external_ref": ref, "company_id": company, "customer_id": customer.id,
                        "org_unit_id": customer.org_unit_id, "stage_changed_at": now, "created_at": now,
                        "updated_at": now, "closed_on": None if stage.kind == "open" else today, **values,
                    })  # fmt: skip
                elif current.company_id != company or not self._visible(current):
                    raise FieldProblem("external_ref", "is already used by a deal outside your scope")
                else:
                    changes = {k: v for k, v in values.items() if getattr(current, k) != v}
                    if "stage_id" in changes:
                        self.stage_moves.append((current, current.stage_id))
                        changes |= {
                            "stage_changed_at": now,
                            "closed_on": None if stage.kind == "open" else today,
                        }
                    self.count(changes, current)
            except FieldProblem as problem:
                self.report.reject(number, problem.field, problem.message)

    def _values(
        self, row: dict[str, str], stage: OpportunityStage, owners: dict[str, Any], default_owner: UUID | None
    ) -> dict[str, Any]:
        amount = parse_decimal("amount", required(row, "amount"))
        if amount < 0 or amount != amount.quantize(parse_decimal("amount", "0.01")):
            raise FieldProblem("amount", "must be zero or positive, with at most 2 decimal places")
        values: dict[str, Any] = {
            "title": required(row, "title")[:300],
            "amount": amount,
            "currency": check_currency("currency", (row.get("currency") or "USD").upper()),
            "stage_id": stage.id,
            "probability": stage.default_probability,
            "probability_overridden": False,
            "expected_close": parse_date("expected_close", row["expected_close"])
            if row.get("expected_close")
            else None,
            "next_step": (row.get("next_step") or "")[:500] or None,
            "lost_reason": (row.get("lost_reason") or "")[:500] or None,
            "owner_rep_id": default_owner,
        }
        if row.get("probability") and stage.kind == "open":
            raw = row["probability"]
            if not raw.isascii() or not raw.isdigit() or int(raw) > 100:
                raise FieldProblem("probability", "must be a whole number from 0 to 100")
            values["probability"], values["probability_overridden"] = int(raw), True
        if row.get("owner_email"):
            owner = owners.get(row["owner_email"].lower())
            if owner is None:
                raise FieldProblem("owner_email", "no such user in your scope")
            values["owner_rep_id"] = owner.id
        return values

    def _visible(self, deal: Opportunity) -> bool:
        principal, access = self.context.principal, self.context.access
        if principal.is_rep:
            return deal.owner_rep_id == principal.id
        return deal.org_unit_id in access.unit_ids

    async def _existing(self, refs: set[str]) -> dict[str, Opportunity]:
        found: dict[str, Opportunity] = {}
        for part in chunks(sorted(refs)):
            for deal in await self.context.session.scalars(
                select(Opportunity).where(Opportunity.external_ref.in_(part))
            ):
                found[deal.external_ref or ""] = deal
        return found

    async def write(self) -> None:
        """The rows, then a stage change for each new deal and each deal whose stage moved."""
        moved_from = {deal.id: before for deal, before in self.stage_moves}
        await super().write()
        now, actor = self.context.service.clock.now(), self.context.principal.id
        changes = [
            {"id": uuid4(), "opportunity_id": c["id"], "from_stage_id": None, "to_stage_id": c["stage_id"],
             "at": now, "by_user_id": actor, "checkin_id": None}
            for c in self.creates
        ] + [
            {"id": uuid4(), "opportunity_id": deal.id, "from_stage_id": moved_from[deal.id],
             "to_stage_id": deal.stage_id, "at": now, "by_user_id": actor, "checkin_id": None}
            for deal, _before in self.stage_moves
        ]  # fmt: skip
        for part in chunks(changes, 1000):
            await self.context.session.execute(insert(OpportunityStageChange), list(part))
