"""Pure check-in rules: the canonical body behind replay detection, and the check-out rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec
import pytest

from server.domain.checkin import (
    CheckinIn,
    CheckoutIn,
    body_hash,
    canonical_body,
    changed_fields,
    checkin_problems,
    checkout_problems,
)

ID = UUID("5b0c1c52-3f0e-4b8e-9a51-0d5c6c1c9a11")
CUSTOMER = UUID("0f2a8a57-3c56-4d3b-8a1f-7f1e2d3c4b5a")
NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
OUTCOMES = ["order", "follow_up", "no_decision", "not_available", "lost"]


def _checkin(**fields: Any) -> CheckinIn:
    return CheckinIn(**({"id": ID, "customer_id": CUSTOMER, "checked_in_at": NOW} | fields))


def _decoded(raw: dict[str, Any], kind: type[msgspec.Struct]) -> dict[str, Any]:
    return canonical_body(msgspec.convert(raw, kind))


def test_equal_meaning_gives_equal_hashes() -> None:
    base = {"id": str(ID), "customer_id": str(CUSTOMER), "checked_in_at": "2026-11-18T02:00:00Z", "lat": 31.2}
    shanghai = base | {"checked_in_at": "2026-11-18T10:00:00+08:00"}
    with_nulls = base | {"task_id": None, "accuracy_m": None}
    reordered = dict(reversed(list(base.items())))
    digests = {body_hash(_decoded(b, CheckinIn)) for b in (base, shanghai, with_nulls, reordered)}
    assert len(digests) == 1
    assert body_hash(_decoded(base | {"lat": 31.2000001}, CheckinIn)) not in digests


def test_amounts_compare_by_value() -> None:
    checkout = {"checked_out_at": "2026-11-18T03:00:00Z", "outcome": "order"}
    hashes = {
        body_hash(_decoded(checkout | {"order_amount": a}, CheckoutIn)) for a in ("12.5", "12.50", 12.5)
    }
    assert len(hashes) == 1
    assert body_hash(_decoded(checkout | {"order_amount": "12.51"}, CheckoutIn)) not in hashes
    assert _decoded(checkout | {"order_amount": "1E+3"}, CheckoutIn)["order_amount"] == "1000"


def test_canonical_body_is_plain_json() -> None:
    plain = canonical_body(_checkin(checked_in_at=NOW.astimezone(timezone(timedelta(hours=-8))), lat=1.5))
    assert plain == {
        "id": str(ID),
        "customer_id": str(CUSTOMER),
        "checked_in_at": "2026-11-18T02:00:00+00:00",
        "lat": 1.5,
    }


@pytest.mark.parametrize(
    ("stored", "sent", "fields"),
    [
        ({"a": 1, "b": 2}, {"a": 1, "b": 2}, []),
        ({"a": 1, "b": 2}, {"a": 1, "b": 3}, ["b"]),
        ({"a": 1}, {"a": 1, "c": 0}, ["c"]),  # a field sent now but not then
        ({"a": 1, "c": 0}, {"a": 1}, ["c"]),
        (None, {"b": 1, "a": 2}, ["a", "b"]),  # nothing stored to compare with: name what was sent
    ],
)
def test_changed_fields(stored: dict[str, Any] | None, sent: dict[str, Any], fields: list[str]) -> None:
    assert changed_fields(stored, sent) == fields


@pytest.mark.parametrize(
    ("fields", "problem_fields"),
    [
        ({}, []),
        ({"lat": 31.0, "lng": 121.0}, []),
        ({"lat": 31.0}, ["lng"]),
        ({"lng": 121.0}, ["lat"]),
        ({"checked_in_at": NOW + timedelta(minutes=6)}, ["checked_in_at"]),
        ({"checked_in_at": NOW - timedelta(days=8)}, ["checked_in_at"]),
        ({"lat": 31.0, "checked_in_at": NOW + timedelta(hours=1)}, ["lng", "checked_in_at"]),
    ],
)
def test_checkin_problems(fields: dict[str, Any], problem_fields: list[str]) -> None:
    assert [p["field"] for p in checkin_problems(_checkin(**fields), NOW)] == problem_fields


IN_AT = NOW - timedelta(minutes=40)
VISIT = date(2026, 11, 18)


def _checkout(**fields: Any) -> CheckoutIn:
    return CheckoutIn(**({"checked_out_at": NOW - timedelta(minutes=1), "outcome": "follow_up"} | fields))


@pytest.mark.parametrize(
    ("fields", "problem_fields"),
    [
        ({}, []),
        ({"outcome": "order", "order_amount": Decimal("1250.50")}, []),
        ({"outcome": "order", "order_amount": Decimal("0.01")}, []),
        ({"outcome": "order"}, ["order_amount"]),
        ({"outcome": "order", "order_amount": Decimal("0")}, ["order_amount"]),
        ({"outcome": "order", "order_amount": Decimal("-1")}, ["order_amount"]),
        ({"outcome": "order", "order_amount": Decimal("1.005")}, ["order_amount"]),
        ({"outcome": "order", "order_amount": Decimal("1.500")}, []),  # 2 places in value
        ({"outcome": "order", "order_amount": Decimal("NaN")}, ["order_amount"]),
        ({"outcome": "order", "order_amount": Decimal("1e14")}, ["order_amount"]),
        ({"order_amount": Decimal("10")}, ["order_amount"]),  # amount without an order
        ({"outcome": "celebrated"}, ["outcome"]),
        ({"checked_out_at": IN_AT - timedelta(seconds=1)}, ["checked_out_at"]),
        ({"checked_out_at": IN_AT}, []),  # same instant is fine
        ({"checked_out_at": NOW + timedelta(minutes=6)}, ["checked_out_at"]),
        ({"next_step": "Call back"}, ["next_step_due"]),
        ({"next_step_due": VISIT}, ["next_step"]),
        ({"next_step": "Call back", "next_step_due": VISIT}, []),  # same day is fine
        ({"next_step": "Call back", "next_step_due": VISIT - timedelta(days=1)}, ["next_step_due"]),
    ],
)
def test_checkout_problems(fields: dict[str, Any], problem_fields: list[str]) -> None:
    problems = checkout_problems(_checkout(**fields), IN_AT, NOW, OUTCOMES, VISIT)
    assert [p["field"] for p in problems] == problem_fields
    assert all(p["message"] for p in problems)


def test_outcomes_come_from_the_caller() -> None:
    custom = ["order", "demo_booked"]
    assert checkout_problems(_checkout(outcome="demo_booked"), IN_AT, NOW, custom, VISIT) == []
    [problem] = checkout_problems(_checkout(outcome="lost"), IN_AT, NOW, custom, VISIT)
    assert problem == {"field": "outcome", "message": "must be one of: order, demo_booked"}
