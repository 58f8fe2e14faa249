"""Admin screens: company settings (with seasonal distributions), imports, and the audit log
(admins and executives)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body

from server.core.access import Principal, Scope
from server.core.csv import TableError, read_table
from server.core.deps import require_role
from server.core.errors import ProblemError, problem_errors
from server.core.i18n import gettext as _
from server.core.org import company_id_for_unit
from server.core.services import Services
from server.core.templates import redirect, render
from server.services.admin.audit_log import PAGE_SIZE, AuditFilters, AuditLogService
from server.services.admin.import_rows import CustomerRows, OrderRows
from server.services.admin.import_targets import TargetRows
from server.services.admin.imports import ImportService
from server.services.admin.settings import EFFORT_KEYS, FIELDS, CompanySettingsService, settings_values
from server.services.auth.user_import import COLUMNS as USER_COLUMNS
from server.services.auth.user_import import UserImportService
from server.services.pipeline.import_rows import OpportunityRows
from server.services.plans.calendar import SeasonalDistributionsService

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
IMPORT_KINDS = ("customers", "orders", "targets", "opportunities", "users")
PERCENT_KEYS = ("pace_yellow", "pace_orange", "pace_red", *EFFORT_KEYS)  # shown in %, stored as fractions


def import_columns() -> dict[str, list[str]]:
    """Each import kind's columns, the required ones first (shown on the page)."""
    handlers = {"customers": CustomerRows.COLUMNS, "orders": OrderRows.COLUMNS, "targets": TargetRows.COLUMNS,
                "opportunities": OpportunityRows.COLUMNS, "users": USER_COLUMNS}  # fmt: skip
    return {kind: sorted(columns, key=lambda c: not columns[c]) for kind, columns in handlers.items()}


async def _company(services: Services, principal: Principal) -> UUID:
    if principal.org_unit_id is None:
        raise ProblemError(409, _("Your account belongs to no company."))
    return await company_id_for_unit(services.session, principal.org_unit_id)


class SettingsPages(Controller):
    path = "/admin/settings"
    include_in_schema = False
    guards = (require_role("admin"),)

    @get("/")
    async def page(self, request: Request[Any, Any, Any], services: Services, principal: Principal) -> Any:
        row = await services.get(CompanySettingsService).settings_for(await _company(services, principal))
        values = {k: str(v) for k, v in settings_values(row).items()}
        return await self._render(request, services, principal, values, {})

    @post("/")
    async def save(
        self, request: Request[Any, Any, Any], services: Services, principal: Principal, data: Form
    ) -> Any:
        changes = {key: (data.get(key) or "").strip() for key in FIELDS if key in data}
        for key in PERCENT_KEYS:
            if changes.get(key):  # the page shows percentages; the setting is a fraction
                try:
                    changes[key] = str(Decimal(changes[key]) / 100)
                except ArithmeticError:
                    pass
        try:
            await services.get(CompanySettingsService).update(
                principal.id, await _company(services, principal), changes
            )
        except ProblemError as problem:
            return await self._render(
                request, services, principal, dict(data), problem_errors(problem), 422, raw=True
            )
        return redirect("/admin/settings", "success", _("Settings saved."))

    @post("/distributions")
    async def add_distribution(
        self, request: Request[Any, Any, Any], services: Services, principal: Principal, data: Form
    ) -> Any:
        weights = {str(m): (data.get(f"m{m}") or "0").strip() for m in range(1, 13)}
        try:
            parsed = {k: Decimal(v) for k, v in weights.items()}
            await services.get(SeasonalDistributionsService).create(
                principal.id, await _company(services, principal), data.get("name", ""), parsed
            )
        except ArithmeticError:
            errors = {"distribution.month_weights": _("Enter numbers (percent) for every month.")}
            return await self._settings_again(request, services, principal, errors)
        except ProblemError as problem:
            errors = {f"distribution.{k}": v for k, v in problem_errors(problem).items()}
            return await self._settings_again(request, services, principal, errors)
        return redirect("/admin/settings", "success", _("Seasonal distribution saved."))

    async def _settings_again(self, request: Request[Any, Any, Any], services: Services, principal: Principal,
                              errors: dict[str, str]) -> Any:  # fmt: skip
        row = await services.get(CompanySettingsService).settings_for(await _company(services, principal))
        values = {k: str(v) for k, v in settings_values(row).items()}
        return await self._render(request, services, principal, values, errors, 422)

    async def _render(self, request: Request[Any, Any, Any], services: Services, principal: Principal,
                      values: dict[str, str], errors: dict[str, str], status_code: int = 200, raw: bool = False) -> Any:  # fmt: skip
        if not raw:
            for key in PERCENT_KEYS:
                values[key] = f"{(Decimal(values[key]) * 100).normalize():f}"
        distributions = await services.get(SeasonalDistributionsService).list(
            await _company(services, principal)
        )
        return render(request, "admin/settings.html", status_code=status_code, values=values, errors=errors,
                      distributions=distributions)  # fmt: skip


class ImportPages(Controller):
    path = "/admin/imports"
    include_in_schema = False
    guards = (require_role("admin"),)

    @get("/")
    async def page(self, request: Request[Any, Any, Any]) -> Any:
        return render(
            request,
            "admin/imports.html",
            columns=import_columns(),
            kinds=IMPORT_KINDS,
            report=None,
            errors={},
        )

    @post("/")
    async def upload(
        self, request: Request[Any, Any, Any], services: Services, principal: Principal, access: Scope,
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Any:  # fmt: skip
        kind = str(data.get("kind") or "")
        upload = data.get("file")
        errors: dict[str, str] = {}
        report: Any = None
        if kind not in IMPORT_KINDS:
            errors["kind"] = _("Choose what the file holds.")
        elif not isinstance(upload, UploadFile) or not upload.filename:
            errors["file"] = _("Choose a file.")
        else:
            try:
                table = read_table(await upload.read(), delimiter=str(data.get("delimiter") or "") or None,
                                   encoding=str(data.get("encoding") or "") or None)  # fmt: skip
            except TableError as problem:
                errors[problem.field if problem.field in ("delimiter", "encoding") else "file"] = (
                    problem.message
                )
            else:
                if kind == "users":
                    report = await services.get(UserImportService).run(principal.id, table)
                else:
                    report = await services.get(ImportService).run(principal, access, kind, table)
        if errors or (report is not None and report.errors):
            return render(request, "admin/imports.html", status_code=422, columns=import_columns(), kinds=IMPORT_KINDS,
                          report=report,
                          errors=errors, kind=kind)  # fmt: skip
        return render(
            request,
            "admin/imports.html",
            columns=import_columns(),
            kinds=IMPORT_KINDS,
            report=report,
            errors={},
            kind=kind,
        )


class AuditPages(Controller):
    path = "/admin/audit"
    include_in_schema = False
    guards = (require_role("executive", "admin"),)

    @get("/")
    async def search(
        self, request: Request[Any, Any, Any], services: Services, actor: str = "", action: str = "",
        entity: str = "", since: str = "", until: str = "", page: int = 1,
    ) -> Any:  # fmt: skip
        errors: dict[str, str] = {}
        dates: dict[str, date | None] = {}
        for name, raw in (("since", since), ("until", until)):
            try:
                dates[name] = date.fromisoformat(raw) if raw else None
            except ValueError:
                errors[name] = _("Enter a date (YYYY-MM-DD).")
                dates[name] = None
        filters = AuditFilters(actor=actor.strip()[:100] or None, action=action.strip()[:64] or None,
                               entity=entity.strip()[:32] or None, since=dates["since"], until=dates["until"])  # fmt: skip
        page = max(1, min(page, 100_000))
        rows, total = await services.get(AuditLogService).search(filters, page)
        return render(request, "admin/audit.html", status_code=400 if errors else 200, rows=rows, total=total,
                      page=page, pages=max(1, -(-total // PAGE_SIZE)), errors=errors,
                      q={"actor": actor, "action": action, "entity": entity, "since": since, "until": until})  # fmt: skip


ROUTES = [SettingsPages, ImportPages, AuditPages]
