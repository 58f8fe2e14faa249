"""Data in: `POST /api/v1/import/{customers|orders|targets}` from CSV or .xlsx, all or nothing."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Request, post
from litestar.params import Parameter

from server.core.access import Principal, Scope
from server.core.csv import read_upload
from server.core.deps import require_role
from server.core.errors import ProblemError
from server.core.services import Services
from server.services.admin.imports import ImportService


@post(
    "/api/v1/import/{kind:str}",
    status_code=200,
    guards=[require_role("manager", "admin")],
    tags=["imports"],
    summary="Import customers, orders, targets or opportunities from CSV or .xlsx (body or multipart `file`); "
    "all or nothing",
    description="CSV in UTF-8 (with or without BOM) or GB18030/GBK; comma, semicolon or tab "
    "delimiters are detected (or set `delimiter`). Customers and orders regrade the company at once.",
)
async def import_table(
    request: Request[Any, Any, Any],
    principal: Principal,
    access: Scope,
    services: Services,
    kind: Literal["customers", "orders", "targets", "opportunities"],
    delimiter: Annotated[Literal["comma", "semicolon", "tab"] | None, Parameter(query="delimiter")] = None,
    encoding: Annotated[Literal["utf-8", "gb18030", "gbk"] | None, Parameter(query="encoding")] = None,
) -> dict[str, Any]:
    table = await read_upload(request, delimiter, encoding)
    report = await services.get(ImportService).run(principal, access, kind, table)
    if report.errors:
        raise ProblemError(
            422,
            f"{len(report.errors)} row(s) rejected; nothing was imported.",
            report.errors,
            rows=report.rows,
        )
    return {
        "kind": kind,
        "rows": report.rows,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "regraded": report.regraded,
    }


ROUTES = [import_table]
