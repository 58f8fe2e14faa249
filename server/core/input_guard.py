"""The edge check every request passes before its handler: the declared domains of `domains`.

One `before_request` hook for the whole app, so no handler repeats it:
- JSON bodies: nesting at most MAX_JSON_DEPTH deep (a 1,000-deep array is a 400, not a
  RecursionError); no NUL in any string; the body decoded strictly against the handler's type
  (`"lat": "31.2"` is a string, not a number); every Decimal, float, date and instant in it within
  its domain;
- query strings, path parameters and form fields: no NUL, dates within the window, form text
  within FORM_TEXT_MAX (the column guard then holds each field to its own column's length).
Every refusal is problem+json naming the field (`$.amount`, `from`, `email`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import msgspec
from litestar import Request
from litestar.datastructures import UploadFile

from server.core.domains import (
    date_problem,
    iso_text_date_problem,
    number_problem,
    problem,
    text_problem,
    value_problem,
)
from server.core.errors import ProblemError

MAX_JSON_DEPTH = 32
FORM_TEXT_MAX = 10_000
_JSON_TYPES = ("application/json", "application/problem+json")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether arrays/objects nest deeper than `limit` (brackets inside strings don't count)."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth, in_string, escaped = 0, False, False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def _walk_text(value: Any, path: str) -> tuple[str, str] | None:
    """The first string (or key) with a NUL in a decoded JSON value."""
    if isinstance(value, str):
        reason = text_problem(value)
        return (path, reason) if reason else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _walk_text(key, path) or _walk_text(item, f"{path}.{key}")
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _walk_text(item, f"{path}[{index}]")
            if found:
                return found
    return None


def _walk_typed(value: Any, path: str) -> tuple[str, str] | None:
    """The first Decimal, float, date or instant outside its domain in a decoded body."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    if isinstance(value, (Decimal, float)):
        reason = number_problem(value)
        return (path, reason) if reason else None
    if isinstance(value, (date, datetime)):
        reason = date_problem(value)
        return (path, reason) if reason else None
    if isinstance(value, msgspec.Struct):
        names = dict(zip(value.__struct_fields__, value.__struct_encode_fields__, strict=True))
        for name, encoded in names.items():
            found = _walk_typed(getattr(value, name), f"{path}.{encoded}")
            if found:
                return found
    elif isinstance(value, dict):
        for key, item in value.items():
            found = _walk_typed(key, path) or _walk_typed(item, f"{path}.{key}")
            if found:
                return found
    elif isinstance(value, (list, tuple, set, frozenset)):
        for index, item in enumerate(value):
            found = _walk_typed(item, f"{path}[{index}]")
            if found:
                return found
    return None


def _field(path: str) -> str:
    return path.removeprefix("$.") if path != "$" else "body"


def _refuse(path: str, reason: str) -> ProblemError:
    return problem(_field(path), reason)


def _body_type(request: Request[Any, Any, Any]) -> Any:
    try:
        definition = request.route_handler.parsed_fn_signature.parameters.get("data")
    except (AttributeError, KeyError):
        return None
    return None if definition is None else definition.annotation


async def _check_json(request: Request[Any, Any, Any]) -> None:
    body = await request.body()
    if not body:
        return
    if json_depth_exceeds(body):
        raise problem("body", f"JSON nested deeper than {MAX_JSON_DEPTH} levels", 400)
    try:
        decoded = msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return  # malformed: the handler's own decoding answers 400 with msgspec's message
    found = _walk_text(decoded, "$")
    if found:
        raise _refuse(*found)
    target = _body_type(request)
    if target is None:
        return
    try:
        typed = msgspec.convert(decoded, target, strict=False)
    except (msgspec.ValidationError, TypeError, ValueError):
        return  # Litestar reports the shape error itself, with the field
    try:
        msgspec.convert(decoded, target, strict=True)
    except msgspec.ValidationError as exc:
        # Lenient decoding would take "31.2" for a number and "true" for a boolean; a JSON 339.0
        # for an integer is fine (JSON Schema agrees), a string for a number is not.
        message = str(exc)
        if "got `str`" in message:
            raise ProblemError(
                400, f"Invalid request: {message}", [{"field": _field_of(message), "message": message}]
            ) from None
    except (TypeError, ValueError):
        pass
    found = _walk_typed(typed, "$")
    if found:
        raise _refuse(*found)


def _field_of(message: str) -> str:
    marker = message.rfind("`$")
    return _field(message[marker + 1 : message.rfind("`")]) if marker >= 0 else "body"


def _check_text(name: str, value: str, max_length: int | None = None) -> None:
    reason = text_problem(value, max_length) or iso_text_date_problem(value.strip())
    if reason:
        raise problem(name, reason)


async def guard_request(request: Request[Any, Any, Any]) -> None:
    """`before_request` hook of the app: refuse any input outside its declared domain."""
    for name, value in request.query_params.multi_items():
        _check_text(name, value)
    for name, value in (request.scope.get("path_params") or {}).items():
        reason = (
            text_problem(value) or iso_text_date_problem(value)
            if isinstance(value, str)
            else value_problem(value)
        )
        if reason:
            raise problem(name, reason)
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in _JSON_TYPES or content_type.endswith("+json"):
        await _check_json(request)
    elif content_type in _FORM_TYPES:
        form = await request.form()
        for name, value in form.multi_items():
            if not isinstance(value, UploadFile):
                _check_text(name, str(value), FORM_TEXT_MAX)
