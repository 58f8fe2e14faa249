"""CSV in and out: `POST /api/v1/import/{customers|orders|targets}` and the export helper that
list endpoints use for `?format=csv` / `Accept: text/csv`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from litestar import Request, Response, post
from litestar.datastructures import UploadFile

from server.core.access import Principal, Scope
from server.core.deps import require_role
from server.core.errors import ProblemError
from server.core.services import Services
from server.services.admin.imports import ImportService

# Spreadsheet apps run cells starting with these as formulas; prefix them so exports stay data.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (date, datetime, Decimal, int, float)):
        return value.isoformat() if isinstance(value, (date, datetime)) else str(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def wants_csv(request: Request[Any, Any, Any], output: str | None) -> bool:
    if output is not None:
        return output == "csv"
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept


def csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return out.getvalue()


def csv_or_json(
    request: Request[Any, Any, Any],
    output: str | None,
    name: str,
    columns: Sequence[str],
    rows: list[dict[str, Any]],
) -> Response[Any]:
    """The same rows as JSON, or as a CSV download when asked for."""
    if wants_csv(request, output):
        return Response(
            csv_text(columns, rows),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return Response(rows)


async def _body_text(request: Request[Any, Any, Any]) -> str:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ProblemError(
                400, "Attach the CSV as the form field `file`.", [{"field": "file", "message": "missing"}]
            )
        raw = await upload.read()
    else:
        raw = await request.body()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ProblemError(
            400, "The CSV must be UTF-8 text.", [{"field": "file", "message": "not UTF-8"}]
        ) from None


@post(
    "/api/v1/import/{kind:str}",
    status_code=200,
    guards=[require_role("manager", "admin")],
    tags=["imports"],
    summary="Import customers, orders or targets from CSV (body or multipart `file`); all or nothing",
)
async def import_csv(
    request: Request[Any, Any, Any],
    principal: Principal,
    access: Scope,
    services: Services,
    kind: Literal["customers", "orders", "targets"],
) -> dict[str, Any]:
    report = await services.get(ImportService).run(principal, access, kind, await _body_text(request))
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
    }


ROUTES = [import_csv]
