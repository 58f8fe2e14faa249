"""The declared domains of input values, in one place: dates, numbers, text, ids.

Every edge (JSON bodies and query strings through `input_guard`, forms through `parse_*`, CSV
cells, and every ORM flush through `column_problems`) checks values against these, so a value the
database cannot hold, or that no sales plan means, is a 4xx naming the field rather than a 500:

- dates and instants: 1970-01-01 .. 2100-12-31 (a year 1 target or a follow-up due in 9999 is a
  typo; the domain rules narrow further where they know better: check-in device time within
  7 days back / 5 minutes ahead, a follow-up from today to two years ahead);
- numbers: finite (no NaN, sNaN, Infinity), magnitude below 10^12, at most 6 decimal places
  (money columns are Numeric(16, 2) and round to the cent);
- text: no NUL character (PostgreSQL cannot store it), at most the column's length;
- ids: canonical UUIDs; counters: ASCII decimal digits only (`²` is a digit to Python's
  `str.isdigit()` but not a number to `int()`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from sqlalchemy import Date, DateTime, Numeric, String
from sqlalchemy.orm import Mapper

from server.core.errors import ProblemError

DATE_MIN = date(1970, 1, 1)
DATE_MAX = date(2100, 12, 31)
NUMBER_LIMIT = Decimal(10) ** 12
MAX_DECIMAL_PLACES = 6
FOLLOW_UP_HORIZON = timedelta(days=731)
_ISO_DATE = re.compile(r"^(\d{4,})-(\d{2})-(\d{2})(?:[T ][0-9:.,]+(?:Z|[+-]\d{2}:?\d{2})?)?$")
_ASCII_DIGITS = re.compile(r"^[0-9]+$")


def problem(field: str, message: str, status: int = 422) -> ProblemError:
    return ProblemError(status, f"{field}: {message}", [{"field": field, "message": message}])


def date_problem(value: date | datetime) -> str | None:
    day = value.date() if isinstance(value, datetime) else value
    if DATE_MIN <= day <= DATE_MAX:
        return None
    return f"must be between {DATE_MIN.isoformat()} and {DATE_MAX.isoformat()}"


def iso_text_date_problem(text: str) -> str | None:
    """For text that is an ISO date or instant: whether its year is outside the window."""
    match = _ISO_DATE.match(text)
    if match is None:
        return None
    year = int(match.group(1))
    if DATE_MIN.year <= year <= DATE_MAX.year:
        return None
    return f"must be between {DATE_MIN.isoformat()} and {DATE_MAX.isoformat()}"


def number_problem(value: Decimal | float | int) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float):  # binary floats (coordinates, scores): finite and in range
        if not math.isfinite(value):
            return "must be a finite number"
        return None if abs(value) < NUMBER_LIMIT else f"must be less than {NUMBER_LIMIT:,.0f} in magnitude"
    elif isinstance(value, int):
        value = Decimal(value)
    try:
        if not value.is_finite():
            return "must be a finite number"
        # adjusted() is the exponent of the leading digit: no arithmetic, so no Overflow trap.
        if not value.is_zero() and value.adjusted() >= NUMBER_LIMIT.adjusted():
            return f"must be less than {NUMBER_LIMIT:,.0f} in magnitude"
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > MAX_DECIMAL_PLACES:
            return f"must have at most {MAX_DECIMAL_PLACES} decimal places"
    except InvalidOperation:
        return "must be a finite number"
    return None


def text_problem(value: str, max_length: int | None = None) -> str | None:
    if "\x00" in value:
        return "must not contain a NUL character"
    if max_length is not None and len(value) > max_length:
        return f"must be at most {max_length} characters"
    return None


def value_problem(value: Any) -> str | None:
    """The domain rule a decoded value breaks, by its type (None when it is fine)."""
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, (date, datetime)):
        return date_problem(value)
    if isinstance(value, (Decimal, float, int)):
        return number_problem(value)
    return None


def follow_up_problem(due: date, today: date) -> str | None:
    """A promise is for today or later, and no more than two years ahead."""
    if due < today - timedelta(days=1) or due > today + FOLLOW_UP_HORIZON:
        return f"must be between {today.isoformat()} and {(today + FOLLOW_UP_HORIZON).isoformat()}"
    return None


# ---- parsing raw text (forms, page query strings, CSV) ----


def parse_int(field: str, raw: str | None, low: int, high: int, default: int | None = None) -> int:
    """ASCII digits within [low, high]; an empty value gives `default` when there is one."""
    text = (raw or "").strip()
    if not text and default is not None:
        return default
    if not _ASCII_DIGITS.match(text) or not low <= int(text) <= high:
        raise problem(field, f"must be a whole number from {low} to {high}")
    return int(text)


def parse_uuid(field: str, raw: str | None) -> UUID:
    try:
        return UUID((raw or "").strip())
    except ValueError:
        raise problem(field, "must be an id (UUID)") from None


def parse_day(field: str, raw: str | None) -> date:
    try:
        value = date.fromisoformat((raw or "").strip())
    except ValueError:
        raise problem(field, "must be a date (YYYY-MM-DD)") from None
    reason = date_problem(value)
    if reason:
        raise problem(field, reason)
    return value


def parse_amount(raw: str | None) -> Decimal | None:
    """A form's amount (thousands commas allowed), or None when it is not a number in the domain."""
    try:
        value = Decimal((raw or "").replace(",", "").strip())
    except InvalidOperation:
        return None
    return None if number_problem(value) else value


# ---- columns: what the database can hold ----


def column_problems(mapper: Mapper[Any], values: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, rule) for each value that does not fit its column: length, NUL, precision, dates."""
    found: list[tuple[str, str]] = []
    for attr in mapper.column_attrs:
        if attr.key not in values or not attr.columns:
            continue
        value, column_type = values[attr.key], _column_type(attr.columns[0].type)
        reason: str | None = None
        if value is None:
            continue
        if isinstance(column_type, String) and isinstance(value, str):
            reason = text_problem(value, column_type.length)
        elif isinstance(column_type, Numeric) and isinstance(value, (Decimal, float, int)):
            reason = number_problem(value)
        elif isinstance(column_type, (Date, DateTime)) and isinstance(value, (date, datetime)):
            reason = date_problem(value)
        if reason:
            found.append((attr.key, reason))
    return found


def _column_type(column_type: Any) -> Any:
    # TypeDecorators (advanced-alchemy's DateTimeUTC, GUID) describe their storage by `impl`.
    return (
        getattr(column_type, "impl", column_type)
        if not isinstance(column_type, (String, Numeric))
        else column_type
    )


def _raise_for(errors: list[dict[str, str]]) -> None:
    if errors:
        fields = ", ".join(sorted({e["field"] for e in errors}))
        raise ProblemError(422, f"Invalid value: {fields}", errors)


def check_rows(mapper: Mapper[Any], rows: Iterable[dict[str, Any]]) -> None:
    """What every ORM flush checks, for rows written with a Core INSERT: 422 naming the fields."""
    _raise_for([{"field": f, "message": m} for row in rows for f, m in column_problems(mapper, row)])


def _check_flush(session: Any, _context: Any, _instances: Any) -> None:
    """Before every ORM flush: nothing that does not fit its column reaches the database."""
    errors: list[dict[str, str]] = []
    for obj in (*session.new, *session.dirty):
        mapper = getattr(obj, "__mapper__", None)
        if mapper is None:
            continue
        loaded = {key: value for key, value in obj.__dict__.items() if not key.startswith("_")}
        for field, message in column_problems(mapper, loaded):
            errors.append({"field": field, "message": message})
    _raise_for(errors)


_installed: list[bool] = []


def install_column_guard() -> None:
    """Check every ORM flush against the columns (once per process)."""
    if not _installed:
        from sqlalchemy import event
        from sqlalchemy.orm import Session

        event.listen(Session, "before_flush", _check_flush)
        _installed.append(True)
