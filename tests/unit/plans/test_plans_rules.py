"""Plan helpers with no I/O: amounts, periods, shares, period keys, CSV cells."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import uuid4

import pytest

from server.core.csv import csv_text, read_table
from server.domain.plans import FieldProblem, check_amount, check_period, natural_end
from server.services.admin.imports import ImportReport, parse_table
from server.services.plans.breakdown import explicit_shares, places_for, previous_period
from server.services.plans.tree import parse_period

D = Decimal


@pytest.mark.parametrize(
    ("value", "metric", "expected"),
    [
        ("100", "revenue", "100.00"),
        ("0", "revenue", "0.00"),
        ("12.5", "revenue", "12.50"),
        ("40", "visits", "40.00"),
    ],
)
def test_check_amount_accepts(value: str, metric: str, expected: str) -> None:
    assert check_amount("amount", D(value), metric) == D(expected)


@pytest.mark.parametrize(
    ("value", "metric", "message"),
    [
        ("-0.01", "revenue", "negative"),
        ("1.001", "revenue", "2 decimal places"),
        ("NaN", "revenue", "number"),
        ("Infinity", "revenue", "number"),
        ("1e15", "revenue", "at most"),
        ("2.5", "visits", "whole numbers"),
    ],
)
def test_check_amount_refuses(value: str, metric: str, message: str) -> None:
    with pytest.raises(FieldProblem, match=message) as raised:
        check_amount("amount", D(value), metric)
    assert raised.value.field == "amount"


@pytest.mark.parametrize(
    ("granularity", "start", "end"),
    [
        ("year", date(2026, 1, 1), date(2026, 12, 31)),
        ("year", date(2026, 4, 1), date(2027, 3, 31)),  # a fiscal year
        ("quarter", date(2026, 10, 1), date(2026, 12, 31)),
        ("month", date(2028, 2, 1), date(2028, 2, 29)),
        ("month", date(2026, 12, 1), date(2026, 12, 31)),
        ("week", date(2026, 11, 16), date(2026, 11, 22)),
    ],
)
def test_natural_end(granularity: str, start: date, end: date) -> None:
    assert natural_end(granularity, start) == end
    assert check_period(granularity, start, None) == end


def test_check_period_refuses_backwards_and_overlong_periods() -> None:
    with pytest.raises(FieldProblem, match="before period_start"):
        check_period("month", date(2026, 2, 1), date(2026, 1, 31))
    with pytest.raises(FieldProblem, match="ends by 2026-02-28"):
        check_period("month", date(2026, 2, 1), date(2026, 3, 1))
    with pytest.raises(FieldProblem) as raised:
        check_period("day", date(2026, 2, 1), None)
    assert raised.value.field == "granularity"
    assert check_period("month", date(2026, 2, 1), date(2026, 2, 14)) == date(2026, 2, 14)


@pytest.mark.parametrize(
    ("start", "end", "granularity", "expected"),
    [
        (date(2027, 1, 1), date(2027, 12, 31), "year", (date(2026, 1, 1), date(2026, 12, 31))),
        (date(2027, 1, 1), date(2027, 3, 31), "quarter", (date(2026, 10, 1), date(2026, 12, 31))),
        (date(2026, 3, 1), date(2026, 3, 31), "month", (date(2026, 2, 1), date(2026, 2, 28))),
        (date(2026, 11, 16), date(2026, 11, 22), "week", (date(2026, 11, 9), date(2026, 11, 15))),
    ],
)
def test_previous_period(start: date, end: date, granularity: str, expected: tuple[date, date]) -> None:
    assert previous_period(start, end, granularity) == expected


def test_explicit_shares_must_cover_every_child_and_sum_to_100() -> None:
    a, b, stranger = uuid4(), uuid4(), uuid4()
    assert explicit_shares({a: D("40"), b: D("60")}, [a, b]) == {a: D("40"), b: D("60")}
    for shares, message in (
        ({a: D("40"), b: D("50")}, "sum to 90, not 100"),
        ({a: D("100")}, "missing"),
        ({a: D("50"), b: D("40"), stranger: D("10")}, "not a child"),
        ({a: D("110"), b: D("-10")}, "negative"),
    ):
        with pytest.raises(FieldProblem, match=message) as raised:
            explicit_shares(shares, [a, b])
        assert raised.value.field == "shares"


def test_counted_metrics_split_into_whole_numbers() -> None:
    assert places_for("visits", D("120")) == 0
    assert places_for("visits", D("120.5")) == 2
    assert places_for("revenue", D("120")) == 2


@pytest.mark.parametrize(
    ("key", "granularity", "start", "end"),
    [
        ("2027", "year", date(2027, 1, 1), date(2027, 12, 31)),
        ("2026-Q4", "quarter", date(2026, 10, 1), date(2026, 12, 31)),
        ("2026-02", "month", date(2026, 2, 1), date(2026, 2, 28)),
        ("2026-13", "year", date(2026, 1, 1), date(2026, 12, 31)),  # unreadable: this year
        (None, "year", date(2026, 1, 1), date(2026, 12, 31)),
    ],
)
def test_parse_period(key: str | None, granularity: str, start: date, end: date) -> None:
    period = parse_period(key, date(2026, 11, 18))
    assert (period.granularity, period.start, period.end) == (granularity, start, end)
    assert period.as_of(date(2026, 11, 18)) == min(max(date(2026, 11, 18), start), end)


def test_parse_csv_numbers_rows_like_a_spreadsheet_and_checks_the_header() -> None:
    report = ImportReport("orders")
    rows = parse_table(
        read_table("\ufeffExternal_Ref , amount\nA,1\n\nB,2,3\nC,3\n".encode()),
        {"external_ref": True, "amount": True},
        report,
    )
    assert rows == [(2, {"external_ref": "A", "amount": "1"}), (5, {"external_ref": "C", "amount": "3"})]
    assert report.errors == [{"row": 4, "field": "row", "message": "has 3 cells, the header has 2"}]

    header = ImportReport("orders")
    parse_table(read_table(b"amount,amount,extra\n"), {"external_ref": True, "amount": True}, header)
    assert {(e["row"], e["field"]) for e in header.errors} == {
        (1, "extra"),
        (1, "external_ref"),
        (1, "header"),
    }


def test_csv_export_defuses_formulas() -> None:
    text = csv_text(
        ["name", "amount"], [{"name": "=HYPERLINK(1)", "amount": D("-5.00")}, {"name": "Ok", "amount": None}]
    )
    assert text.splitlines() == ["\ufeffname,amount", "'=HYPERLINK(1),-5.00", "Ok,"]
