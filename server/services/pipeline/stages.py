"""A company's funnel stages: read (the defaults are created on first use) and replaced by an admin."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import func, select

from server.core.audit import AuditService
from server.core.errors import ProblemError, field_error
from server.core.i18n import gettext as _
from server.core.org import company_id_for_unit
from server.core.services import Service
from server.core.upsert import insert_or_skip
from server.db.models import Opportunity, OpportunityStage
from server.domain.funnel import DEFAULT_STAGES

KINDS = ("open", "won", "lost")


@dataclass(frozen=True)
class StageIn:
    name: str
    default_probability: int
    kind: str
    id: UUID | None = None


def stage_snapshot(stages: list[OpportunityStage]) -> dict[str, object]:
    return {"stages": [[s.name, s.default_probability, s.kind, s.active] for s in stages]}


class StagesService(Service):
    async def company_of(self, unit_id: UUID | None) -> UUID:
        if unit_id is None:
            raise field_error("org_unit_id", _("is required"), 400)
        return await company_id_for_unit(self.session, unit_id)

    async def stages(self, company_id: UUID, active_only: bool = False) -> list[OpportunityStage]:
        """The company's stages in funnel order; a company without any gets the defaults now."""
        query = select(OpportunityStage).where(OpportunityStage.company_id == company_id)
        if active_only:
            query = query.where(OpportunityStage.active.is_(True))
        rows = list(await self.session.scalars(query.order_by(OpportunityStage.position)))
        if rows or (active_only and await self._has_any(company_id)):
            return rows
        await self.session.execute(
            insert_or_skip(self.session, OpportunityStage, ["company_id", "name"]),
            [
                {"company_id": company_id, "name": s.name, "position": n, "default_probability": s.probability,
                 "kind": s.kind, "active": True}
                for n, s in enumerate(DEFAULT_STAGES, start=1)
            ],
        )  # fmt: skip
        return list(await self.session.scalars(query.order_by(OpportunityStage.position)))

    async def _has_any(self, company_id: UUID) -> bool:
        count = await self.session.scalar(
            select(func.count()).where(OpportunityStage.company_id == company_id)
        )
        return bool(count)

    async def find(self, company_id: UUID, name_or_id: str, field: str = "stage") -> OpportunityStage:
        """An active stage of the company by id or (case-insensitive) name; 422 naming `field`."""
        wanted = name_or_id.strip().lower()
        for stage in await self.stages(company_id, active_only=True):
            if str(stage.id) == wanted or stage.name.lower() == wanted:
                return stage
        raise field_error(field, _("no such stage: %(name)s", name=name_or_id))

    async def replace(
        self, company_id: UUID, wanted: list[StageIn], actor_id: UUID
    ) -> list[OpportunityStage]:
        """Set the company's stages in this order. A stage left out is retired (kept for its history)
        when opportunities use it, else deleted."""
        problems = _check(wanted)
        if problems:
            raise ProblemError(422, problems[0]["field"] + ": " + problems[0]["message"], problems)
        current = await self.stages(company_id)
        before = stage_snapshot(current)
        by_id = {s.id: s for s in current}
        by_name = {s.name.lower(): s for s in current}
        kept: set[UUID] = set()
        for position, item in enumerate(wanted, start=1):
            stage = by_id.get(item.id) if item.id else by_name.get(item.name.lower())
            if item.id and stage is None:
                raise field_error(f"stages[{position - 1}].id", _("no such stage"))
            if stage is None:
                stage = OpportunityStage(company_id=company_id)
                self.session.add(stage)
            stage.name, stage.default_probability, stage.kind = item.name, item.default_probability, item.kind
            stage.position, stage.active = position, True
            if stage.id:
                kept.add(stage.id)
        used = set(
            await self.session.scalars(
                select(Opportunity.stage_id).where(Opportunity.company_id == company_id).distinct()
            )
        )
        for stage in current:
            if stage.id in kept:
                continue
            if stage.id in used:
                stage.active, stage.position = False, len(wanted) + stage.position
            else:
                await self.session.delete(stage)
        await self.session.flush()
        after = await self.stages(company_id)
        await self.ctx.get(AuditService).record(
            actor_id, "pipeline.stages", "org_unit", company_id, before, stage_snapshot(after)
        )
        return after


def _check(wanted: list[StageIn]) -> list[dict[str, str]]:
    """A funnel needs open stages, exactly one won and one lost stage, and unique names."""
    problems: list[dict[str, str]] = []
    names: set[str] = set()
    for n, item in enumerate(wanted):
        if not item.name.strip():
            problems.append({"field": f"stages[{n}].name", "message": _("is required")})
        elif item.name.strip().lower() in names:
            problems.append({"field": f"stages[{n}].name", "message": _("appears twice")})
        names.add(item.name.strip().lower())
        if item.kind not in KINDS:
            problems.append({"field": f"stages[{n}].kind", "message": _("must be open, won or lost")})
        if not 0 <= item.default_probability <= 100:
            problems.append(
                {"field": f"stages[{n}].default_probability", "message": _("must be between 0 and 100")}
            )
    kinds = [item.kind for item in wanted]
    if kinds.count("won") != 1 or kinds.count("lost") != 1 or "open" not in kinds:
        problems.append(
            {"field": "stages", "message": _("needs open stages, exactly one won and one lost stage")}
        )
    return problems
