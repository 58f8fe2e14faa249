"""Visit forms API (/api/v1/visit-forms): define and change forms (admins), read them (everyone of
the company), export a form's answers as CSV per period and team (managers and above)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import QueryParameter

from server.core.access import Principal, Scope
from server.core.csv import csv_or_json
from server.core.deps import require_login, require_role
from server.core.errors import field_error
from server.core.params import query_date
from server.core.services import Services
from server.services.evidence.forms import VisitFormIn, VisitFormPatch, VisitFormsService
from server.services.evidence.forms_review import FormsReviewService


def _unit(raw: str | None) -> UUID | None:
    try:
        return UUID(raw) if raw else None
    except ValueError:
        raise field_error("org_unit_id", "must be a UUID", 400) from None


class VisitFormsApi(Controller):
    path = "/api/v1/visit-forms"
    tags = ("visit forms",)
    guards = (require_login,)

    @get("/", summary="The company's visit forms with their current questions")
    async def list_forms(
        self, principal: Principal, services: Services, active: bool = False
    ) -> list[dict[str, Any]]:
        forms = await services.get(VisitFormsService).of_company(principal, active_only=active)
        return [d.as_json() for d in forms]

    @post("/", guards=[require_role("admin")], status_code=201, summary="Define a visit form (version 1)")
    async def create_form(
        self, principal: Principal, services: Services, data: VisitFormIn
    ) -> dict[str, Any]:
        return (await services.get(VisitFormsService).create(principal, data)).as_json()

    @get("/{form_id:uuid}", summary="One form, at its current version or `?version=`")
    async def get_form(
        self,
        principal: Principal,
        services: Services,
        form_id: UUID,
        version: Annotated[int | None, QueryParameter(ge=1)] = None,
    ) -> dict[str, Any]:
        return (await services.get(VisitFormsService).get(principal, form_id, version)).as_json()

    @patch(
        "/{form_id:uuid}",
        guards=[require_role("admin")],
        summary="Change a form; new questions make a new version (earlier answers keep theirs)",
    )
    async def update_form(
        self, principal: Principal, services: Services, form_id: UUID, data: VisitFormPatch
    ) -> dict[str, Any]:
        return (await services.get(VisitFormsService).update(principal, form_id, data)).as_json()

    @get(
        "/{form_id:uuid}/answers",
        guards=[require_role("manager", "executive")],
        summary="A form's answers from `from` to `to`, for a team (`org_unit_id`); `?format=csv` for CSV",
    )
    async def answers(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        access: Scope,
        services: Services,
        form_id: UUID,
        # Required, and so documented: an export always names its period.
        from_date: Annotated[str, QueryParameter(name="from", description="YYYY-MM-DD")],
        to_date: Annotated[str, QueryParameter(name="to", description="YYYY-MM-DD")],
        org_unit_id: str | None = None,
        output: Annotated[str | None, QueryParameter(name="format", description="csv or json")] = None,
    ) -> Response[Any]:
        first, last = query_date(from_date, "from"), query_date(to_date, "to")
        if first is None:
            raise field_error("from", "is required", 400)
        if last is None:
            raise field_error("to", "is required", 400)
        if first > last:
            raise field_error("from", "is after to", 400)
        review = services.get(FormsReviewService)
        columns, rows = await review.export(
            access,
            await review.company_of(principal),
            form_id,
            first,
            last,
            _unit(org_unit_id),
            principal.timezone,
        )
        return csv_or_json(request, output, f"visit-form-{form_id}-{first}-{last}", columns, rows)


ROUTES = [VisitFormsApi]
