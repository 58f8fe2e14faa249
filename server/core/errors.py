"""Errors as RFC 9457 problem details for the API and friendly pages for the browser."""

from __future__ import annotations

import re
from decimal import DecimalException
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    ValidationException,
)
from litestar.response import Redirect
from litestar.status_codes import (
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from server.core import i18n
from server.core.i18n import gettext as _

log = structlog.get_logger("fieldsales.errors")
PROBLEM = "application/problem+json"
_FIELD_IN_MESSAGE = re.compile(r"`\$\.([\w.\[\]]+)`")
_NAMED_FIELD = re.compile(r"(?:unknown|required) field `([^`]+)`")
_MISSING_PARAMETER = re.compile(r"Missing required \w+ parameter '([^']+)'")  # Litestar's words


def _field_from_message(message: str) -> str | None:
    """msgspec names the field in its message: "... at `$.amount`" or "unknown field `x`"; Litestar
    names a missing query parameter: "Missing required query parameter 'to' for path ..."."""
    match = (
        _FIELD_IN_MESSAGE.search(message)
        or _NAMED_FIELD.search(message)
        or _MISSING_PARAMETER.search(message)
    )
    return match.group(1) if match else None


class ProblemError(HTTPException):
    """An HTTP error carrying the offending fields: raise it from services and routes."""

    def __init__(
        self,
        status_code: int,
        detail: str,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(
            status_code=status_code,
            detail=detail,
            headers=headers,
            extra={"errors": errors or [], **extra},
        )


def field_error(field: str, message: str, status_code: int = 422) -> ProblemError:
    """A 4xx naming one field: `field_error("amount", "must be positive")`."""
    return ProblemError(status_code, f"{field}: {message}", [{"field": field, "message": message}])


def problem_errors(problem: ProblemError) -> dict[str, str]:
    """A 4xx as {field: message} for a page's form (the whole form's message under "form")."""
    extra = problem.extra if isinstance(problem.extra, dict) else {}
    errors = {str(e["field"]): str(e["message"]) for e in extra.get("errors", []) if isinstance(e, dict)}
    return errors or {"form": str(problem.detail)}


def not_found(entity: str, entity_id: object, field: str | None = None) -> ProblemError:
    """404 for a missing or out-of-scope object (they look the same, so ids leak nothing); `field`
    names the request field that pointed at it."""
    errors = [{"field": field, "message": "not found"}] if field else None
    return ProblemError(404, f"{entity} {entity_id} not found.", errors)


def is_api(request: Request[Any, Any, Any]) -> bool:
    accept = request.headers.get("accept", "")
    return request.url.path.startswith("/api/") or (
        "application/json" in accept and "text/html" not in accept
    )


def _validation_errors(exc: ValidationException) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid value"))
        field = item.get("key") or ""
        if not field or field == "data":  # "data" is the whole body: find the field in the text
            field = _field_from_message(message) or "body"
        errors.append({"field": str(field), "message": message})
    if not errors:
        errors.append({"field": _field_from_message(exc.detail) or "body", "message": exc.detail})
    return errors


def problem(
    status: int,
    title: str,
    detail: str,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM, headers=headers)


def _page(
    request: Request[Any, Any, Any],
    status: int,
    template: str,
    message: str,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    from server.core.templates import render

    return render(request, template, status_code=status, message=message, headers=headers)


def http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if "user" not in request.scope:
        # No route matched (a 404 before any middleware ran): the language is not chosen yet.
        i18n.current_locale.set(i18n.negotiate(None, request.headers.get("accept-language")))
    status = exc.status_code
    headers = dict(exc.headers or {})
    if isinstance(exc, ValidationException):
        errors = _validation_errors(exc)
        fields = ", ".join(sorted({e["field"] for e in errors}))
        detail = f"Invalid request: {fields}" if fields else "Invalid request"
        if is_api(request):
            return problem(status, "Validation failed", detail, errors)
        return _page(request, status, "errors/400.html", detail)
    if isinstance(exc, NotAuthorizedException) and not is_api(request):
        return Redirect(f"/login?next={request.url.path}")
    detail = exc.detail
    extra = exc.extra if isinstance(exc.extra, dict) else {}
    extra_errors = extra.pop("errors", None) if extra else None
    if is_api(request):
        return problem(status, _title(status), detail, extra_errors, headers=headers or None, **extra)
    if status == 404:
        return _page(request, 404, "errors/404.html", _("Page not found"))
    if status == 403:
        return _page(request, 403, "errors/403.html", detail)
    return _page(request, status, "errors/400.html", detail, headers=headers or None)


def database_unavailable_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The database is down or saturated: answer fast with 503 + Retry-After, never hang."""
    log.warning("database_unavailable", path=request.url.path, error=type(exc).__name__)
    headers = {"Retry-After": "5"}
    if is_api(request):
        return problem(
            HTTP_503_SERVICE_UNAVAILABLE,
            "Service Unavailable",
            "The database is unavailable; retry shortly.",
            headers=headers,
        )
    return _page(request, 503, "errors/500.html", _("Something went wrong"), headers=headers)


# SQLSTATEs meaning "the server cannot serve you right now": connection exceptions (class 08),
# insufficient resources (53: too many connections, ...) and shutdown/startup/recovery (57P0x: "the
# database system is shutting down / starting up"). asyncpg raises these while PostgreSQL stops or
# starts, and SQLAlchemy wraps them in a bare DBAPIError, not an OperationalError.
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P01", "57P02", "57P03")


def _database_unavailable(exc: Exception) -> bool:
    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeoutError, OSError, TimeoutError)):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return exc.connection_invalidated or str(sqlstate or "").startswith(_UNAVAILABLE_SQLSTATES)


def _input_rejected_late(exc: Exception) -> tuple[int, str] | None:
    """The last line behind the edge checks (`core.domains`): a value the database or the
    arithmetic refused is still the client's input, never a 500. Logged, so the missing edge
    check gets written."""
    if isinstance(exc, IntegrityError):
        sqlstate = str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or "")
        text = str(exc.orig)
        if sqlstate == "23505" or "UNIQUE constraint failed" in text:
            return 409, "This record already exists (a concurrent or repeated request made it)."
        return 422, "The request refers to something that does not exist or is not allowed."
    if isinstance(exc, DBAPIError):
        sqlstate = str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or "")
        if sqlstate.startswith("22"):  # data exception: out of range, too long, NUL, bad datetime
            return 422, "A value is outside what can be stored."
        return None
    if isinstance(exc, (OverflowError, DecimalException)):
        return 422, "A number or date is out of range."
    if isinstance(exc, RecursionError):
        return 400, "The request is nested too deeply."
    if isinstance(exc, ValueError) and isinstance(getattr(exc, "field", None), str):
        return 422, str(exc)  # a domain rule's FieldProblem that no route turned into a 422
    return None


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if _database_unavailable(exc):
        return database_unavailable_handler(request, exc)
    late = _input_rejected_late(exc)
    if late is not None:
        status, detail = late
        log.warning("input_rejected_late", path=request.url.path, error=type(exc).__name__, status=status)
        field = getattr(exc, "field", None)
        errors = [{"field": str(field), "message": str(getattr(exc, "message", exc))}] if field else None
        if is_api(request):
            return problem(status, _title(status), detail, errors)
        return _page(request, status, "errors/400.html", detail)
    log.exception("unhandled_error", path=request.url.path, method=request.method)
    if is_api(request):
        return problem(
            HTTP_500_INTERNAL_SERVER_ERROR,
            "Internal Server Error",
            "An unexpected error occurred.",
        )
    return _page(request, 500, "errors/500.html", _("Something went wrong"))


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


exception_handlers: dict[Any, Any] = {
    HTTPException: http_exception_handler,
    Exception: internal_error_handler,
}

__all__ = [
    "ProblemError",
    "exception_handlers",
    "field_error",
    "is_api",
    "not_found",
    "problem",
]
