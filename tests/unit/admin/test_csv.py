"""The one CSV reader/writer: formula sanitiser, BOM, encodings, delimiters, .xlsx."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import Workbook

from server.core.csv import TableError, csv_text, detect_delimiter, read_table, sanitise_cell


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=SUM(A1:A2)", "'=SUM(A1:A2)"),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-12.50", "-12.50"),  # a plain negative number stays a number
        ("+7", "+7"),
        ("1e5", "1e5"),
        ("-", "'-"),
        ("Harbor Foods", "Harbor Foods"),
        ("上海贸易", "上海贸易"),
        (Decimal("-5.00"), "-5.00"),
        (-3, "-3"),
        (date(2027, 1, 2), "2027-01-02"),
        (None, ""),
        (True, "True"),
    ],
)
def test_sanitise_cell_neutralises_formulas_but_keeps_numbers(value: object, cell: str) -> None:
    assert sanitise_cell(value) == cell


def test_export_starts_with_a_bom_and_round_trips_chinese() -> None:
    text = csv_text(["name", "amount"], [{"name": "金龙贸易", "amount": Decimal("-1.5")}])
    assert text.startswith("\ufeffname,amount\r\n")
    assert read_table(text.encode("utf-8")) == [["name", "amount"], ["金龙贸易", "-1.5"]]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_read_table_detects_encoding_and_delimiter(encoding: str, delimiter: str) -> None:
    text = f"external_ref{delimiter}name\r\nC1{delimiter}上海金龙食品\r\n"
    assert read_table(text.encode(encoding)) == [["external_ref", "name"], ["C1", "上海金龙食品"]]


def test_delimiter_can_be_named_and_is_checked() -> None:
    raw = b"a;b,c\n1;2,3\n"
    assert detect_delimiter(raw.decode()) in (",", ";")
    assert read_table(raw, delimiter="semicolon") == [["a", "b,c"], ["1", "2,3"]]
    assert read_table(raw, delimiter="comma") == [["a;b", "c"], ["1;2", "3"]]
    with pytest.raises(TableError) as problem:
        read_table(raw, delimiter="|")
    assert problem.value.field == "delimiter"


def test_undecodable_bytes_and_unknown_encodings_are_named() -> None:
    with pytest.raises(TableError) as problem:
        read_table("名字".encode("gb18030"), encoding="utf-8")
    assert problem.value.field == "encoding"
    with pytest.raises(TableError) as unknown:
        read_table(b"a", encoding="klingon")
    assert unknown.value.field == "encoding"


def test_xlsx_first_sheet_as_text_cells() -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["external_ref", "amount", "ordered_on", "name"])
    sheet.append(["O1", 1200.5, date(2027, 3, 1), "深圳华南"])
    sheet.append(["O2", 300, None, None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert read_table(buffer.getvalue()) == [
        ["external_ref", "amount", "ordered_on", "name"],
        ["O1", "1200.5", "2027-03-01", "深圳华南"],
        ["O2", "300", "", ""],
    ]


def test_a_broken_workbook_is_a_named_error() -> None:
    with pytest.raises(TableError) as problem:
        read_table(b"PK\x03\x04 not really a zip")
    assert problem.value.field == "file"
