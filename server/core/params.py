"""Query-string parsers for pages and API alike: each raises a 400 problem naming its field.

Pages catch the problem and show the message next to the field; the API returns it as
problem+json, so both name the same field with the same words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any, TypeVar
from uuid import UUID

import msgspec
from litestar.params import QueryParameter

from server.core.access import Principal
from server.core.errors import field_error
from server.core.i18n import gettext as _

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_WEEK = re.compile(r"(\d{4})-W(\d{2})")
# The documented shape of an ISO week (for OpenAPI): a value of this shape that names no real week
# (2025-W53) is a 422, one of another shape a 400.
WEEK_PATTERN = r"^[0-9]{4}-W(0[1-9]|[1-4][0-9]|5[0-3])$"
_MONTH = re.compile(r"(\d{4})-(\d{2})")

T = TypeVar("T")


def sent(value: T | msgspec.UnsetType) -> T | None:
    """A PATCH body field: None when it was not sent (msgspec.UNSET), else its value."""
    return None if value is msgspec.UNSET else value


UNIT_PARAM: Any = QueryParameter(name="org_unit_id", description="Team or region id; default: your own unit")


def query_unit(raw: str | None, principal: Principal) -> UUID:
    """`org_unit_id`, defaulting to the caller's own unit."""
    if not raw:
        if principal.org_unit_id is None:
            raise field_error("org_unit_id", _("is required"), 400)
        return principal.org_unit_id
    try:
        return UUID(raw)
    except ValueError:
        raise field_error("org_unit_id", _("must be a UUID"), 400) from None


def query_date(raw: str | None, name: str = "date") -> date | None:
    if not raw:
        return None
    try:
        if not _DAY.fullmatch(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise field_error(name, _("must be a date like 2026-11-18"), 400) from None


def query_week(raw: str | None) -> date | None:
    """The Monday of an ISO week (2026-W47)."""
    if not raw:
        return None
    match = _WEEK.fullmatch(raw)
    if match is None or not re.fullmatch(WEEK_PATTERN, raw):
        raise field_error("week", _("must be an ISO week like 2026-W47"), 400)
    try:
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise field_error("week", _("must be an ISO week like 2026-W47"), 422) from None


def query_month(raw: str | None) -> date | None:
    """The first day of a month (2026-11)."""
    if not raw:
        return None
    match = _MONTH.fullmatch(raw)
    try:
        if match is None:
            raise ValueError(raw)
        return date(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise field_error("month", _("must be a month like 2026-11"), 400) from None


def query_choice(name: str, raw: str | None, allowed: Sequence[str]) -> str:
    """One of `allowed`; the first when absent."""
    value = raw or allowed[0]
    if value not in allowed:
        raise field_error(name, _("must be one of %(choices)s", choices=", ".join(allowed)), 400)
    return value


def iso_week(monday: date) -> str:
    year, week, _day = monday.isocalendar()
    return f"{year}-W{week:02d}"
