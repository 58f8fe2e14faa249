"""OpenAPI: the contract as the server keeps it, so a generated client and schemathesis agree.

- every error response is the RFC 9457 problem details the app really sends, and every operation
  lists the statuses it can answer (400 malformed, 401/403 sign-in and role, 404 out of scope,
  409 conflicts on writes, 413 body too large, 422 a rule the schema cannot express, 429
  throttled sign-in, 503 database unavailable);
- Decimal values are documented as decimal strings (Litestar's default is any string);
- query parameters parsed by hand state their domain in their description (`YYYY-MM-DD`,
  `One of a, b`, `a | b`, `Month like 2026-11`, `ISO week like 2026-W47`, `... id`); the schema
  carries the same rule as a format, enum or pattern;
- OPTIONS answers `Allow` with every method of the path (Litestar lists one handler's only).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import msgspec
import msgspec.inspect
from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar._openapi.schema_generation import schema as litestar_schema
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Parameter,
    Schema,
)

from server.core.errors import PROBLEM

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

DECIMAL_PATTERN = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
# Litestar documents Decimal as any string; msgspec reads and writes decimal strings.
litestar_schema.TYPE_MAP[litestar_schema.Decimal] = Schema(type=OpenAPIType.STRING, pattern=DECIMAL_PATTERN)

PROBLEM_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    title="ProblemDetails",
    required=["title", "status", "detail"],
    properties={
        "type": Schema(type=OpenAPIType.STRING),
        "title": Schema(type=OpenAPIType.STRING),
        "status": Schema(type=OpenAPIType.INTEGER),
        "detail": Schema(type=OpenAPIType.STRING),
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(
                type=OpenAPIType.OBJECT,
                properties={
                    "field": Schema(type=OpenAPIType.STRING),
                    "message": Schema(type=OpenAPIType.STRING),
                },
            ),
        ),
    },
)
CSV_SCHEMA = Schema(type=OpenAPIType.STRING, description="CSV with a header row")
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


STANDARD_ERRORS = {
    "400": "Malformed request: a parameter or the body does not match this schema",
    "401": "Sign-in required, or the bearer token is invalid or expired",
    "403": "The caller's role may not do this (or a cookie session's CSRF token is missing)",
    "404": "The object, or one the request refers to, is not in the caller's scope",
    "422": "A rule the schema cannot express was broken (a date outside 1970-2100, a number "
    "outside its column, a NUL character, a business rule); `errors` names each field",
    "503": "The database is unavailable; retry after `Retry-After` seconds",
}
WRITE_ERRORS = {
    "409": "Conflicts with the stored state (already exists, registered to another account, "
    "or an id reused with a different body)",
    "413": "The request body is larger than the server accepts",
}
THROTTLED = {"429": "Too many sign-in attempts from this address: wait `Retry-After` seconds"}
_LIST = re.compile(r"^(?:One of )?([\w-]+(?:\s*(?:,|\|)\s*[\w-]+)+)(?:;|$)")


def _refined(description: str) -> dict[str, Any]:
    """The schema keywords a parameter's description promises."""
    if "YYYY-MM-DD" in description:
        return {"format": "date"}
    if "date like" in description:  # empty means "today"
        return {"pattern": r"^([0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8]))?$"}
    # Parsed by hand, these treat an empty value as "not given" (`?org_unit_id=` from a form).
    if "Month like" in description:
        return {"pattern": r"^([0-9]{4}-(0[1-9]|1[0-2]))?$"}
    if "ISO week like" in description:
        return {"pattern": r"^([0-9]{4}-W(0[1-9]|[1-4][0-9]|5[0-3]))?$"}
    if re.search(r"\bid\b", description):
        return {
            "pattern": r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$"
        }
    match = _LIST.match(description.strip())
    if match:
        return {"enum": [v.strip() for v in re.split(r"[,|]", match.group(1))]}
    return {}


def _refine_parameter(parameter: Any) -> None:
    schema = getattr(parameter, "schema", None)
    if not isinstance(parameter, Parameter) or not isinstance(schema, Schema):
        return
    description = schema.description or parameter.description or ""
    keywords = _refined(description)
    if not keywords:
        return
    targets = [b for b in (schema.one_of or []) if isinstance(b, Schema) and b.type == OpenAPIType.STRING]
    for target in targets or ([schema] if schema.type == OpenAPIType.STRING else []):
        for key, value in keywords.items():
            if getattr(target, key, None) is None:
                setattr(target, key, value)


def _closed_structs(root: type = msgspec.Struct) -> list[type]:
    found: list[type] = []
    subclasses: list[type] = root.__subclasses__()
    for cls in subclasses:
        if getattr(getattr(cls, "__struct_config__", None), "forbid_unknown_fields", False):
            found.append(cls)
        found.extend(_closed_structs(cls))
    return found


def _document_closed_bodies(components: dict[str, Any]) -> None:
    """Bodies that refuse unknown fields say so (`additionalProperties: false`), and dicts keyed
    by ids say their keys are UUIDs."""
    for cls in _closed_structs():
        component = components.get(cls.__name__)
        if not isinstance(component, Schema):
            continue
        component.additional_properties = False
        info = msgspec.inspect.type_info(cls)
        for field in getattr(info, "fields", ()):
            prop = (component.properties or {}).get(field.encode_name)
            if isinstance(prop, Schema):
                _place_number_bounds(prop, _union_members(field.type))
            keyed = [t for t in _union_members(field.type) if isinstance(t, msgspec.inspect.DictType)]
            if isinstance(prop, Schema) and keyed and isinstance(keyed[0].key_type, msgspec.inspect.UUIDType):
                for branch in [prop, *(prop.one_of or [])]:
                    if isinstance(branch, Schema) and branch.type == OpenAPIType.OBJECT:
                        branch.property_names = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.UUID)


_BOUNDS = {"ge": "minimum", "le": "maximum", "gt": "exclusive_minimum", "lt": "exclusive_maximum"}


def _place_number_bounds(prop: Schema, members: list[Any]) -> None:
    """Litestar drops `ge=0` (falsy) and puts the other bounds beside a oneOf, where they bind
    nothing: put every bound of an optional number on its number branch."""
    numeric = [m for m in members if isinstance(m, (msgspec.inspect.IntType, msgspec.inspect.FloatType))]
    if not numeric:
        return
    branches = [b for b in (prop.one_of or [prop]) if isinstance(b, Schema)]
    for branch in branches:
        if branch.type in (OpenAPIType.NUMBER, OpenAPIType.INTEGER):
            for source, target in _BOUNDS.items():
                value = getattr(numeric[0], source, None)
                if value is not None:
                    setattr(branch, target, value)


def _union_members(kind: Any) -> list[Any]:
    return list(kind.types) if isinstance(kind, msgspec.inspect.UnionType) else [kind]


def _problem_response(description: str) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=description, content={PROBLEM: OpenAPIMediaType(schema=PROBLEM_SCHEMA)}
    )


class _DocumentedOpenAPIPlugin(OpenAPIPlugin):
    """Litestar's own plugin, whose every build of the schema gets the problem responses."""

    __slots__ = ()

    def _build_openapi(self) -> OpenAPI:
        schema = super()._build_openapi()
        _document(schema)
        return schema


def document_problem_responses(app: Litestar) -> None:
    """Error bodies are problem+json everywhere; list endpoints with `format` also answer CSV.

    Added when the schema is built, on its first use (/schema, `app.openapi_schema`), not here:
    building it is ~0.5 s of CPU, which every server process and every app a test makes paid at
    start for a schema most of them never serve. Litestar appends its plugin itself, so the one
    this app got becomes the documenting subclass (same slots, so the same layout)."""
    app.plugins.get(OpenAPIPlugin).__class__ = _DocumentedOpenAPIPlugin


def _document(schema: OpenAPI) -> None:
    if schema.components and schema.components.schemas:
        _document_closed_bodies(schema.components.schemas)
    for path, path_item in (schema.paths or {}).items():
        for method in _METHODS:
            operation = getattr(path_item, method, None)
            if operation is None or not operation.responses:
                continue
            for parameter in operation.parameters or []:
                _refine_parameter(parameter)
            errors = dict(STANDARD_ERRORS)
            if method in ("post", "put", "patch", "delete"):
                errors.update(WRITE_ERRORS)
            if path == "/api/v1/auth/token":
                errors.update(THROTTLED)
            for code, description in errors.items():
                if code not in operation.responses:
                    operation.responses[code] = _problem_response(description)
            offers_csv = any(getattr(p, "name", None) == "format" for p in operation.parameters or [])
            for code, response in operation.responses.items():
                if not isinstance(response, OpenAPIResponse):
                    continue
                if code.startswith(("4", "5")):
                    response.content = {PROBLEM: OpenAPIMediaType(schema=PROBLEM_SCHEMA)}
                elif code.startswith("2") and offers_csv:
                    # `?format=csv` (or Accept: text/csv) answers the same rows as a CSV file.
                    response.content = {
                        **(response.content or {}),
                        "text/csv": OpenAPIMediaType(schema=CSV_SCHEMA),
                    }


class AllowHeaderMiddleware(ASGIMiddleware):
    """OPTIONS lists every method the path serves, as the 405 answer and the schema do."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope.get("method") != "OPTIONS":
            await next_app(scope, receive, send)
            return

        async def send_with_allow(message: Message) -> None:
            template = scope.get("path_template")
            if message["type"] == "http.response.start" and template:
                headers = MutableScopeHeaders.from_message(message)
                if "allow" in headers:
                    headers["allow"] = ", ".join(sorted(_methods(scope["app"], template)))
            await send(message)

        await next_app(scope, receive, send_with_allow)


_ALLOWED: dict[str, set[str]] = {}


def _methods(app: Litestar, template: str) -> set[str]:
    if not _ALLOWED:
        for route in app.routes:
            methods = getattr(route, "methods", None)
            if methods:
                _ALLOWED.setdefault(route.path_format, set()).update(methods)
    return _ALLOWED.get(template, {"OPTIONS"})
