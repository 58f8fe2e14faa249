"""The declared input domains, as tables: numbers, dates, text, ids, JSON depth."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from server.core.domains import (
    date_problem,
    iso_text_date_problem,
    number_problem,
    parse_int,
    parse_uuid,
    text_problem,
)
from server.core.errors import ProblemError
from server.core.input_guard import json_depth_exceeds


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (Decimal("1250.50"), True),
        (Decimal("-999999999999.99"), True),
        (Decimal("0.000001"), True),
        (Decimal("0"), True),
        (Decimal("1000000000000"), False),
        (Decimal("sNaN"), False),
        (Decimal("NaN"), False),
        (Decimal("Infinity"), False),
        (Decimal("-Infinity"), False),
        (Decimal("1e999999999"), False),
        (Decimal(".74484819E8304454"), False),
        (Decimal("1e-7"), False),
        (31.2, True),
        (float("inf"), False),
        (float("nan"), False),
        (1e300, False),
        (12, True),
        (True, True),
    ],
)
def test_numbers(value: Decimal | float | int, ok: bool) -> None:
    assert (number_problem(value) is None) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (date(1970, 1, 1), True),
        (date(2100, 12, 31), True),
        (date(1, 1, 1), False),
        (date(9999, 12, 31), False),
        (date(1969, 12, 31), False),
        (datetime(2101, 1, 1, tzinfo=UTC), False),
        (datetime(2026, 11, 18, 2, tzinfo=UTC), True),
    ],
)
def test_dates(value: date, ok: bool) -> None:
    assert (date_problem(value) is None) is ok


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("0001-01-01", True),
        ("9999-12-31T23:59:59Z", True),
        ("2026-11-18", False),
        ("2026-11-18T10:00:00+08:00", False),
        ("note about 9999-12-31", False),  # only a whole date or instant is a date
        ("Nan", False),
    ],
)
def test_date_like_text(text: str, refused: bool) -> None:
    assert (iso_text_date_problem(text) is not None) is refused


def test_text_nul_and_length() -> None:
    assert text_problem("a\x00b") == "must not contain a NUL character"
    assert text_problem("x" * 201, 200) == "must be at most 200 characters"
    assert text_problem("上海客户", 4) is None


@pytest.mark.parametrize("raw", ["²", "١٢", "-1", "1.5", "", "99999999999999999999", "0x10"])
def test_counters_are_ascii_digits_in_range(raw: str) -> None:
    with pytest.raises(ProblemError) as refused:
        parse_int("page", raw, 1, 1_000_000)
    assert refused.value.status_code == 422 and refused.value.extra["errors"][0]["field"] == "page"  # type: ignore[index]


def test_ids() -> None:
    assert (
        str(parse_uuid("id", "0b7d9bd4-3f4e-4c8e-9d4e-1d2f3a4b5c6d"))
        == "0b7d9bd4-3f4e-4c8e-9d4e-1d2f3a4b5c6d"
    )
    with pytest.raises(ProblemError):
        parse_uuid("share_x", "not-a-uuid")


@pytest.mark.parametrize(
    ("body", "too_deep"),
    [
        (b"[" * 1000 + b"]" * 1000, True),
        (b'{"a":' * 33 + b"1" + b"}" * 33, True),
        (b'{"a":' * 32 + b"1" + b"}" * 32, False),
        (b'{"text": "' + b"[" * 5000 + b'"}', False),  # brackets inside a string
        (b'{"text": "\\"' + b"[" * 5000 + b'"}', False),  # after an escaped quote
        (b'{"amount": "10"}', False),
    ],
)
def test_json_depth(body: bytes, too_deep: bool) -> None:
    assert json_depth_exceeds(body) is too_deep


def test_rows_for_a_core_insert_are_checked_like_a_flush() -> None:
    from sqlalchemy import inspect

    from server.core.domains import check_rows
    from server.db.models import ForecastAccuracy

    mapper = inspect(ForecastAccuracy)
    check_rows(mapper, [{"method": "AutoETS", "wape": 0.12}])  # fits: no error
    with pytest.raises(ProblemError) as caught:
        check_rows(mapper, [{"method": "AutoETS"}, {"method": "x" * 25}])
    assert caught.value.status_code == 422
    fields = [error["field"] for error in caught.value.extra["errors"]]  # type: ignore[index]
    assert fields == ["method"] and caught.value.detail == "Invalid value: method"
