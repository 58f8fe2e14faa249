"""Reallocation: the suggestion as JSON (GET /api/v1/org/reallocation) and acting on it (reassign a
rep's customers, ask a manager to plan backup customers), by API and from the /org page."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from server.core.access import Principal, Scope
from server.core.deps import require_role
from server.core.errors import ProblemError
from server.core.i18n import gettext as _
from server.core.services import Services
from server.core.templates import redirect
from server.services.org.reallocation import ReallocationService, suggestion_json
from server.services.org.view import REALLOCATION_BELOW

Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


class ReassignIn(msgspec.Struct, forbid_unknown_fields=True):
    from_rep_id: UUID
    to_rep_id: UUID
    reason: Reason
    customer_ids: list[UUID] | None = None


class BackupRequestIn(msgspec.Struct, forbid_unknown_fields=True):
    org_unit_id: UUID
    customer_ids: Annotated[list[UUID], msgspec.Meta(min_length=1, max_length=100)]
    note: Annotated[str, msgspec.Meta(max_length=1000)] = ""


class ReallocationApi(Controller):
    path = "/api/v1/org/reallocation"
    tags = ("org",)
    guards = (require_role("executive"),)

    @get("/", summary="Regions under 70% of expected-to-date, teams ahead, backup customers")
    async def suggestions(self, access: Scope, services: Services) -> dict[str, Any]:
        found = await services.get(ReallocationService).suggestions(access)
        return {"threshold": str(REALLOCATION_BELOW), "regions": [suggestion_json(s) for s in found]}

    @post("/reassign", status_code=200, summary="Move a rep's customers (all, or those named) to another rep")
    async def reassign(
        self, principal: Principal, access: Scope, services: Services, data: ReassignIn
    ) -> dict[str, Any]:
        done = await services.get(ReallocationService).reassign(
            principal, access, data.from_rep_id, data.to_rep_id, data.customer_ids, data.reason
        )
        return {
            "from_rep_id": str(done.from_rep_id),
            "to_rep_id": str(done.to_rep_id),
            "customer_ids": [str(c) for c in done.customer_ids],
        }

    @post("/backup-requests", status_code=201, summary="Ask a unit's manager to plan backup customers")
    async def backup_request(
        self, principal: Principal, access: Scope, services: Services, data: BackupRequestIn
    ) -> dict[str, Any]:
        manager = await services.get(ReallocationService).ask_for_backup_plan(
            principal, access, data.org_unit_id, data.customer_ids, data.note
        )
        return {"org_unit_id": str(data.org_unit_id), "manager_id": str(manager)}


FormData = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


class ReallocationForms(Controller):
    path = "/org/reallocation"
    include_in_schema = False
    guards = (require_role("executive"),)

    @post("/backup-requests")
    async def backup_request(
        self, principal: Principal, access: Scope, services: Services, data: FormData
    ) -> Any:
        try:
            unit_id = UUID(str(data.get("org_unit_id")))
            raw = data.get("customer_ids") or []
            customer_ids = [UUID(c) for c in (raw if isinstance(raw, list) else [raw])]
            await services.get(ReallocationService).ask_for_backup_plan(
                principal, access, unit_id, customer_ids, str(data.get("note") or "")
            )
        except (ValueError, ProblemError) as problem:
            await services.session.rollback()
            return redirect("/org#reallocation", "error", getattr(problem, "detail", _("Check the form.")))
        return redirect("/org#reallocation", "success", _("The manager has been asked to plan them."))

    @post("/reassign")
    async def reassign(self, principal: Principal, access: Scope, services: Services, data: FormData) -> Any:
        try:
            await services.get(ReallocationService).reassign(
                principal,
                access,
                UUID(str(data.get("from_rep_id"))),
                UUID(str(data.get("to_rep_id"))),
                None,
                str(data.get("reason") or ""),
            )
        except (ValueError, ProblemError) as problem:
            await services.session.rollback()
            return redirect("/org#reallocation", "error", getattr(problem, "detail", _("Check the form.")))
        return redirect("/org#reallocation", "success", _("Customers reassigned."))


ROUTES = [ReallocationApi, ReallocationForms]
