"""Company settings and the audit log: `GET|PATCH /api/v1/settings`, `GET /api/v1/audit-log`."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, get, patch
from litestar.params import Parameter

from server.core.access import Principal
from server.core.deps import require_role
from server.core.errors import ProblemError
from server.core.org import company_id_for_unit as company_of
from server.core.services import Services
from server.services.admin.audit_log import AuditFilters, AuditLogService
from server.services.admin.settings import CompanySettingsService, settings_values


class AuditOut(msgspec.Struct):
    at: datetime
    actor_name: str | None
    actor_email: str | None
    action: str
    entity: str
    entity_id: UUID | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(msgspec.Struct):
    items: list[AuditOut]
    total: int
    page: int


async def caller_company(services: Services, principal: Principal) -> UUID:
    if principal.org_unit_id is None:
        raise ProblemError(409, "Your account belongs to no company, so it has no settings.")
    return await company_of(services.session, principal.org_unit_id)


def _json(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in values.items()}


class SettingsApi(Controller):
    path = "/api/v1"
    tags = ("settings",)

    @get("/settings", guards=[require_role("executive", "admin")], summary="The caller's company settings")
    async def read(self, services: Services, principal: Principal) -> dict[str, Any]:
        company_id = await caller_company(services, principal)
        row = await services.get(CompanySettingsService).settings_for(company_id)
        return {"company_id": company_id, **_json(settings_values(row))}

    @patch(
        "/settings",
        guards=[require_role("admin")],
        summary="Change company settings (audited; keys in docs/settings.md)",
    )
    async def update(self, services: Services, principal: Principal, data: dict[str, Any]) -> dict[str, Any]:
        company_id = await caller_company(services, principal)
        row = await services.get(CompanySettingsService).update(principal.id, company_id, data)
        return {"company_id": company_id, **_json(settings_values(row))}

    @get("/audit-log", guards=[require_role("executive", "admin")], summary="Search who changed what")
    async def audit_log(
        self,
        services: Services,
        actor: Annotated[str | None, Parameter(max_length=100)] = None,
        action: Annotated[str | None, Parameter(max_length=64)] = None,
        entity: Annotated[str | None, Parameter(max_length=32)] = None,
        since: Annotated[date | None, Parameter(query="from")] = None,
        until: Annotated[date | None, Parameter(query="to")] = None,
        page: Annotated[int, Parameter(ge=1, le=100_000)] = 1,
    ) -> AuditPage:
        filters = AuditFilters(actor=actor, action=action, entity=entity, since=since, until=until)
        rows, total = await services.get(AuditLogService).search(filters, page)
        items = [AuditOut(**{f: getattr(r, f) for f in AuditOut.__struct_fields__}) for r in rows]
        return AuditPage(items=items, total=total, page=page)


ROUTES = [SettingsApi]
