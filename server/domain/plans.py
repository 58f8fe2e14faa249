"""Plan rules: the scopes, metrics and granularities a target may have, and the validation of
target fields shared by the API, the forms and the CSV import (pure, no I/O)."""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from server.domain.breakdown import month_weights_from_json

SCOPES = ("user", "org_unit", "customer")
METRICS = ("revenue", "visits", "new_customers")
GRANULARITIES = ("year", "quarter", "month", "week")
MAX_AMOUNT = Decimal("99999999999999.99")  # Numeric(16, 2)


class FieldProblem(ValueError):
    """A rule broken by one field; routes answer 422 naming it, imports put it in the row report."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def check_choice(field: str, value: str, allowed: Iterable[str]) -> str:
    """FieldProblem (a ValueError) unless value is one of allowed."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise FieldProblem(field, f"must be one of {', '.join(allowed)}")
    return value


def check_amount(field: str, value: Decimal, metric: str = "revenue") -> Decimal:
    """Amounts are finite, not negative, cents at most (whole numbers for counted metrics)."""
    if not value.is_finite():
        raise FieldProblem(field, "must be a number")
    if value < 0:
        raise FieldProblem(field, "must not be negative")
    if value > MAX_AMOUNT:
        raise FieldProblem(field, f"must be at most {MAX_AMOUNT}")
    if value != value.quantize(Decimal("0.01")):
        raise FieldProblem(field, "must have at most 2 decimal places")
    if metric != "revenue" and value != value.to_integral_value():
        raise FieldProblem(field, f"{metric} are counted in whole numbers")
    return value.quantize(Decimal("0.01"))


def check_weights(weights: Mapping[str, Any] | None) -> None:
    """Seasonal month weights, when given, are months 1..12 summing to exactly 100."""
    if weights:
        try:
            month_weights_from_json(weights)
        except FieldProblem:
            raise
        except ValueError as error:
            raise FieldProblem("weights", str(error)) from None


def natural_end(granularity: str, start: date) -> date:
    """The last day of a period of this granularity that starts on `start`."""
    if granularity == "week":
        return start + timedelta(days=6)
    index = start.year * 12 + start.month - 1 + {"year": 12, "quarter": 3, "month": 1}[granularity]
    year, month = divmod(index, 12)
    following = date(year, month + 1, min(start.day, monthrange(year, month + 1)[1]))
    return following - timedelta(days=1)


def check_period(granularity: str, start: date, end: date | None) -> date:
    """The period's end (derived when not given); at most one `granularity` long."""
    check_choice("granularity", granularity, GRANULARITIES)
    longest = natural_end(granularity, start)
    end = end or longest
    if end < start:
        raise FieldProblem("period_end", "must not be before period_start")
    if end > longest:
        raise FieldProblem("period_end", f"a {granularity} target starting {start} ends by {longest}")
    return end
