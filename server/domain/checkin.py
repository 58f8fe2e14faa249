"""Check-in and check-out rules: the bodies the phone sends, their canonical form (equal meaning,
equal bytes, so a replay is recognised by its hash) and every validation rule of a visit.

Pure: no I/O; server/services/checkins/visits.py applies them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from server.domain.geo import device_time_problem

ORDER = "order"
DEFAULT_OUTCOMES = ("order", "follow_up", "no_decision", "not_available", "lost")  # OrgSettings' default
MAX_AMOUNT = Decimal("99999999999999.99")  # Numeric(16, 2)
GeoError = Literal["denied", "timeout", "unavailable", "unsupported"]
Text500 = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class CheckinIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What the phone sends on arrival; `id` is generated on the phone."""

    id: UUID
    customer_id: UUID
    checked_in_at: Annotated[datetime, msgspec.Meta(tz=True)]  # device time, ISO 8601 with offset
    task_id: UUID | None = None
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)] | None = None
    lng: Annotated[float, msgspec.Meta(ge=-180, le=180)] | None = None
    accuracy_m: Annotated[float, msgspec.Meta(ge=0, le=1_000_000)] | None = None
    speed: Annotated[float, msgspec.Meta(ge=0, le=1000)] | None = None  # device-reported, m/s
    geo_error: GeoError | None = None  # why the phone has no fix


class CheckoutOpportunity(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A deal created (no id: title and amount needed) or advanced (id) at the check-out."""

    id: UUID | None = None
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=300)] | None = None
    amount: Decimal | None = None
    stage: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None  # name or id
    expected_close: date | None = None


def opportunity_problems(deal: CheckoutOpportunity | None) -> list[dict[str, str]]:
    """A new deal needs its title and amount; an amount is money (see pipeline for the rest)."""
    if deal is None:
        return []
    problems = []
    if deal.id is None:
        for name in ("title", "amount"):
            if getattr(deal, name) is None:
                problems.append({"field": f"opportunity.{name}", "message": "is required for a new deal"})
    if deal.amount is not None and not (deal.amount.is_finite() and 0 <= deal.amount <= MAX_AMOUNT):
        problems.append({"field": "opportunity.amount", "message": f"must be between 0 and {MAX_AMOUNT}"})
    return problems


class CheckoutIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The visit's outcome, sent when the rep leaves."""

    checked_out_at: Annotated[datetime, msgspec.Meta(tz=True)]
    outcome: Annotated[str, msgspec.Meta(min_length=1, max_length=24)]
    order_amount: Decimal | None = None
    notes: Annotated[str, msgspec.Meta(max_length=4000)] | None = None
    next_step: Text500 | None = None
    next_step_due: date | None = None
    # The rep saw "Did you mean …?" and stands by an amount far above the customer's history.
    amount_confirmed: bool | None = None
    # A deal created or advanced at this visit (its stage change keyed on this check-in).
    opportunity: CheckoutOpportunity | None = None


def canonical_body(body: msgspec.Struct) -> dict[str, Any]:
    """The body as plain JSON values, so equal meaning gives equal bytes: instants in UTC,
    amounts without trailing zeros, absent and null alike left out."""
    plain: dict[str, Any] = {}
    for name in body.__struct_fields__:
        value = getattr(body, name)
        if value is None:
            continue
        if isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat()
        elif isinstance(value, Decimal):
            value = format(value.normalize(), "f")
        elif isinstance(value, UUID | date):
            value = str(value)
        elif isinstance(value, msgspec.Struct):
            value = canonical_body(value)
        plain[name] = value
    return plain


def body_hash(plain: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(plain, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def changed_fields(stored: dict[str, Any] | None, sent: dict[str, Any]) -> list[str]:
    """Fields whose value differs from the request first accepted under the same id."""
    if not stored:
        return sorted(sent)
    return sorted(name for name in stored.keys() | sent.keys() if stored.get(name) != sent.get(name))


def checkin_problems(body: CheckinIn, received_at: datetime) -> list[dict[str, str]]:
    problems = []
    if (body.lat is None) != (body.lng is None):
        missing = "lng" if body.lng is None else "lat"
        problems.append({"field": missing, "message": "lat and lng must be sent together"})
    if reason := device_time_problem(body.checked_in_at, received_at):
        problems.append({"field": "checked_in_at", "message": reason})
    return problems


def checkout_problems(
    body: CheckoutIn, checked_in_at: datetime, received_at: datetime, outcomes: list[str], visit_date: date
) -> list[dict[str, str]]:
    """Every rule the outcome form breaks, so the phone can mark all the fields at once."""
    problems = []
    if body.outcome not in outcomes:
        problems.append({"field": "outcome", "message": f"must be one of: {', '.join(outcomes)}"})
    amount = body.order_amount
    if body.outcome == ORDER and amount is None:
        problems.append({"field": "order_amount", "message": "is required when the outcome is order"})
    elif amount is not None and body.outcome != ORDER:
        problems.append({"field": "order_amount", "message": "is only allowed when the outcome is order"})
    elif amount is not None and not (amount.is_finite() and 0 < amount <= MAX_AMOUNT):
        problems.append(
            {"field": "order_amount", "message": f"must be greater than 0 and at most {MAX_AMOUNT}"}
        )
    elif amount is not None and amount != amount.quantize(Decimal("0.01")):
        problems.append({"field": "order_amount", "message": "must have at most 2 decimal places"})
    if reason := device_time_problem(body.checked_out_at, received_at):
        problems.append({"field": "checked_out_at", "message": reason})
    elif body.checked_out_at < checked_in_at:
        problems.append({"field": "checked_out_at", "message": "is before the check-in time"})
    if (body.next_step is None) != (body.next_step_due is None):
        missing = "next_step_due" if body.next_step_due is None else "next_step"
        problems.append({"field": missing, "message": "next_step and next_step_due go together"})
    if body.next_step_due is not None and body.next_step_due < visit_date:
        problems.append({"field": "next_step_due", "message": f"is before the visit date {visit_date}"})
    return problems + opportunity_problems(body.opportunity)
