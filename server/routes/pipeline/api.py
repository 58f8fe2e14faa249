"""Opportunities API: scoped list (JSON or CSV), create, partial update, won -> order; stages."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, patch, post, put
from litestar.params import Parameter, QueryParameter

from server.core.access import Scope
from server.core.csv import csv_response
from server.core.deps import require_login, require_role
from server.core.services import Services
from server.routes.pipeline.schemas import (
    CSV_COLUMNS,
    OpportunityDetailOut,
    OpportunityEdit,
    OpportunityIn,
    OpportunityList,
    OrderOut,
    StageOut,
    StagesIn,
    history_out,
    opportunity_out,
    sent_fields,
    stage_out,
)
from server.services.pipeline.opportunities import OpportunitiesService, OpportunityFilters
from server.services.pipeline.stages import StageIn as StageWanted
from server.services.pipeline.stages import StagesService


async def _detail(services: Services, access: Scope, opportunity_id: UUID) -> OpportunityDetailOut:
    opportunities = services.get(OpportunitiesService)
    row = await opportunities.get(access, opportunity_id)
    return OpportunityDetailOut(
        opportunity=opportunity_out(row), history=history_out(await opportunities.history(row.opportunity.id))
    )


class OpportunitiesApi(Controller):
    path = "/api/v1/opportunities"
    tags = ("pipeline",)
    guards = (require_login,)

    @get("/", summary="Opportunities in the caller's scope (JSON, or CSV with ?format=csv)")
    async def list_opportunities(
        self,
        services: Services,
        access: Scope,
        owner_rep_id: UUID | None = None,
        stage: Annotated[str | None, Parameter(max_length=100, description="Stage name or id")] = None,
        customer_id: UUID | None = None,
        closing_before: date | None = None,
        status: Literal["open", "won", "lost"] | None = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        offset: Annotated[int, Parameter(ge=0, le=1_000_000_000)] = 0,
        output: Annotated[Literal["json", "csv"], QueryParameter(name="format")] = "json",
    ) -> Response[Any]:
        filters = OpportunityFilters(owner_rep_id, stage, customer_id, closing_before, status)
        opportunities = services.get(OpportunitiesService)
        if output == "csv":
            everything, _total = await opportunities.list(access, filters, limit=None)
            rows = (msgspec.structs.asdict(opportunity_out(row)) for row in everything)
            return csv_response("opportunities", CSV_COLUMNS, rows)
        rows_, total = await opportunities.list(access, filters, limit, offset)
        items = [opportunity_out(row) for row in rows_]
        return Response(OpportunityList(items=items, total=total, limit=limit, offset=offset))

    @post("/", summary="Create an opportunity on a customer the caller sees")
    async def create(self, services: Services, access: Scope, data: OpportunityIn) -> OpportunityDetailOut:
        row = await services.get(OpportunitiesService).create(access, msgspec.structs.asdict(data))
        return await _detail(services, access, row.opportunity.id)

    @get("/{opportunity_id:uuid}", summary="One opportunity with its stage history")
    async def get_one(self, services: Services, access: Scope, opportunity_id: UUID) -> OpportunityDetailOut:
        return await _detail(services, access, opportunity_id)

    @patch(
        "/{opportunity_id:uuid}",
        summary="Change the fields sent; a stage change is recorded and resets the probability to "
        "the stage's default unless one is sent; Lost needs lost_reason",
    )
    async def edit(
        self, services: Services, access: Scope, opportunity_id: UUID, data: OpportunityEdit
    ) -> OpportunityDetailOut:
        await services.get(OpportunitiesService).update(access, opportunity_id, sent_fields(data))
        return await _detail(services, access, opportunity_id)

    @post(
        "/{opportunity_id:uuid}/order",
        status_code=200,
        summary="The won opportunity's order in the actuals (created once; a retry returns the same)",
    )
    async def to_order(self, services: Services, access: Scope, opportunity_id: UUID) -> OrderOut:
        order, created = await services.get(OpportunitiesService).to_order(access, opportunity_id)
        return OrderOut(
            order_id=order.id, amount=order.amount, currency=order.currency, ordered_on=order.ordered_on,
            created=created,
        )  # fmt: skip


class StagesApi(Controller):
    path = "/api/v1/pipeline/stages"
    tags = ("pipeline",)
    guards = (require_login,)

    @get("/", summary="The caller's company's funnel stages, in order")
    async def list_stages(self, services: Services, access: Scope) -> list[StageOut]:
        stages = services.get(StagesService)
        company = await stages.company_of(access.principal.org_unit_id)
        return [stage_out(s) for s in await stages.stages(company)]

    @put(
        "/",
        guards=[require_role("admin")],
        summary="Replace the company's stages (admins); a dropped stage in use is retired, not deleted",
    )
    async def replace_stages(self, services: Services, access: Scope, data: StagesIn) -> list[StageOut]:
        stages = services.get(StagesService)
        company = await stages.company_of(access.principal.org_unit_id)
        wanted = [StageWanted(s.name.strip(), s.default_probability, s.kind, s.id) for s in data.stages]
        return [stage_out(s) for s in await stages.replace(company, wanted, access.principal.id)]


ROUTES = [OpportunitiesApi, StagesApi]
