"""Admin screens for visit forms: the list, and a builder that defines or changes a form without
touching the database (plain HTML form rows; "More questions" adds blank rows)."""

from __future__ import annotations

import re
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from server.core.access import Principal
from server.core.deps import require_role
from server.core.errors import ProblemError, problem_errors
from server.core.i18n import gettext as _
from server.core.services import Services
from server.core.templates import redirect, render
from server.domain.visit_forms import GRADES, KINDS, STATUSES
from server.services.evidence.forms import FormDefinition, VisitFormIn, VisitFormPatch, VisitFormsService

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
BLANK_ROWS = 3
ATTRIBUTES = ("key", "kind", "label", "label_zh", "order", "unit", "min", "max", "choices", "choices_zh")


def _rows_of(definition: FormDefinition | None) -> list[dict[str, str]]:
    """The builder's rows for an existing form: every attribute as the text the admin edits."""
    rows = []
    for field in definition.fields if definition else []:
        row = {name: "" if field.get(name) is None else str(field.get(name)) for name in ATTRIBUTES}
        row["choices"] = "\n".join(field.get("choices") or [])
        row["choices_zh"] = "\n".join(field.get("choices_zh") or [])
        row["required"] = "on" if field.get("required") else ""
        rows.append(row)
    return rows


def _rows_posted(data: dict[str, str]) -> list[dict[str, str]]:
    count = int(data.get("rows", "0") or 0) if (data.get("rows") or "0").isdigit() else 0
    rows = [
        {name: data.get(f"q-{i}-{name}", "").strip() for name in (*ATTRIBUTES, "required", "remove")}
        for i in range(count)
    ]
    return rows


def _number(raw: str) -> int | float | str | None:
    if not raw:
        return None
    try:
        value = float(raw.replace(",", "."))
        return int(value) if value.is_integer() else value
    except ValueError:
        return raw  # msgspec names the field


def _field(row: dict[str, str]) -> dict[str, Any]:
    field: dict[str, Any] = {"key": row["key"], "kind": row["kind"], "label": row["label"]}
    field["required"] = row.get("required") == "on"
    field["order"] = int(row["order"]) if row["order"].isdigit() else 0
    if row["label_zh"]:
        field["label_zh"] = row["label_zh"]
    if row["unit"]:
        field["unit"] = row["unit"]
    for name in ("min", "max"):
        if (value := _number(row[name])) is not None:
            field[name] = value
    for name in ("choices", "choices_zh"):
        lines = [line.strip() for line in row[name].splitlines() if line.strip()]
        if lines:
            field[name] = lines
    return field


def _parse(data: dict[str, str]) -> tuple[dict[str, Any], list[int]]:
    """The body the API would take, and for each of its questions the builder row it came from."""
    rows = _rows_posted(data)
    used = [i for i, row in enumerate(rows) if (row["key"] or row["label"]) and row.get("remove") != "on"]
    body: dict[str, Any] = {
        "name": data.get("name", "").strip(),
        "fields": [_field(rows[i]) for i in used],
        "grades": [g for g in GRADES if data.get(f"grade_{g}") == "on"],
        "statuses": [s for s in STATUSES if data.get(f"status_{s}") == "on"],
        "active": data.get("active") == "on",
    }
    body["name_zh"] = data.get("name_zh", "").strip() or None
    return body, used


def _row_errors(problems: dict[str, str], used: list[int]) -> dict[str, str]:
    """`fields[2].max` (the API's name) as the builder's `q-5-max` (the row on the page)."""
    errors = {}
    for field, message in problems.items():
        match = re.fullmatch(r"fields\[(\d+)\]\.(\w+)", field)
        errors[f"q-{used[int(match[1])]}-{match[2]}" if match and int(match[1]) < len(used) else field] = (
            message
        )
    return errors


def _decode(body: dict[str, Any], used: list[int], cls: type[Any]) -> Any:
    try:
        return msgspec.convert(body, cls)
    except msgspec.ValidationError as exc:
        message = str(exc)
        found = re.search(r"\$\.fields\[(\d+)\]\.(\w+)", message)
        field = (
            f"fields[{found[1]}].{found[2]}" if found else (re.findall(r"\$\.(\w+)", message) or ["form"])[0]
        )
        raise ProblemError(422, message, [{"field": field, "message": message.split(" - at ")[0]}]) from None


class VisitFormPages(Controller):
    path = "/admin/visit-forms"
    include_in_schema = False
    guards = (require_role("admin"),)

    @get("/")
    async def index(self, request: Request[Any, Any, Any], principal: Principal, services: Services) -> Any:
        forms = services.get(VisitFormsService)
        today = forms.clock.local_date(principal.timezone)
        return render(
            request,
            "evidence/admin_forms.html",
            forms=await forms.of_company(principal),
            today=today.isoformat(),
            month_start=today.replace(day=1).isoformat(),
        )

    @get("/new")
    async def new(self, request: Request[Any, Any, Any]) -> Any:
        return self._builder(request, None, {"active": "on"}, [], {})

    @post("/new")
    async def create(
        self, request: Request[Any, Any, Any], principal: Principal, services: Services, data: Form
    ) -> Any:
        body, used = _parse(data)
        if "more" in data:
            return self._builder(request, None, data, _rows_posted(data), {}, extra=BLANK_ROWS)
        try:
            created = await services.get(VisitFormsService).create(
                principal, _decode(body, used, VisitFormIn)
            )
        except ProblemError as problem:
            return self._builder(
                request, None, data, _rows_posted(data), _row_errors(problem_errors(problem), used)
            )
        return redirect(f"/admin/visit-forms/{created.form.id}", "success", _("Visit form saved."))

    @get("/{form_id:uuid}")
    async def edit(
        self, request: Request[Any, Any, Any], principal: Principal, services: Services, form_id: UUID
    ) -> Any:
        definition = await services.get(VisitFormsService).get(principal, form_id)
        form = definition.form
        values = {"name": form.name, "name_zh": form.name_zh or "", "active": "on" if form.active else ""}
        values |= {f"grade_{g}": "on" for g in form.grades} | {f"status_{s}": "on" for s in form.statuses}
        return self._builder(request, definition, values, _rows_of(definition), {})

    @post("/{form_id:uuid}")
    async def update(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        services: Services,
        form_id: UUID,
        data: Form,
    ) -> Any:
        forms = services.get(VisitFormsService)
        definition = await forms.get(principal, form_id)
        body, used = _parse(data)
        if "more" in data:
            return self._builder(request, definition, data, _rows_posted(data), {}, extra=BLANK_ROWS)
        try:
            await forms.update(principal, form_id, _decode(body, used, VisitFormPatch))
        except ProblemError as problem:
            errors = _row_errors(problem_errors(problem), used)
            return self._builder(request, definition, data, _rows_posted(data), errors)
        return redirect(f"/admin/visit-forms/{form_id}", "success", _("Visit form saved."))

    def _builder(
        self,
        request: Request[Any, Any, Any],
        definition: FormDefinition | None,
        values: dict[str, str],
        rows: list[dict[str, str]],
        errors: dict[str, str],
        extra: int = BLANK_ROWS,
    ) -> Any:
        blank = dict.fromkeys((*ATTRIBUTES, "required"), "") | {"kind": "yes_no"}
        rows = [*rows, *[dict(blank) for _ in range(extra)]]
        return render(
            request,
            "evidence/admin_form.html",
            status_code=422 if errors else 200,
            definition=definition,
            values=values,
            rows=rows,
            errors=errors,
            kinds=KINDS,
            grades=GRADES,
            statuses=STATUSES,
        )


ROUTES = [VisitFormPages]
