"""The one CSV (and .xlsx) reader and writer, with the one formula sanitiser.

Exports start with a UTF-8 byte order mark so Excel opens Chinese text correctly. Imports accept
UTF-8 (with or without BOM) and GB18030/GBK (what Chinese Excel saves), comma, semicolon or tab
delimiters (detected, or named by the caller), and .xlsx workbooks (first sheet, via openpyxl).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from litestar import Request, Response
from litestar.datastructures import UploadFile

from server.core.errors import ProblemError

BOM = "\ufeff"
DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t"}
ENCODINGS = ("utf-8", "gb18030")
# OWASP "CSV injection": a spreadsheet runs a cell starting with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_XLSX_MAGIC = b"PK\x03\x04"


class TableError(ValueError):
    """The upload cannot be read as a table; `field` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def sanitise_cell(value: Any) -> str:
    """A value as CSV text that a spreadsheet shows as data, never runs as a formula.

    Cells starting with = + - @ TAB or CR get a leading apostrophe, except plain numbers
    (so -12.5 stays a number).
    """
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (Decimal, int, float)):
        return str(value)
    text = str(value)
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, Any]], bom: bool = True) -> str:
    """Header plus rows, every cell sanitised, CRLF line ends, starting with a UTF-8 BOM."""
    out = io.StringIO()
    if bom:
        out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([sanitise_cell(row.get(column)) for column in columns])
    return out.getvalue()


def csv_response(name: str, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> Response[str]:
    """A CSV download named `name`.csv."""
    return Response(
        csv_text(columns, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def wants_csv(request: Request[Any, Any, Any], output: str | None) -> bool:
    """`?format=csv`, or an Accept header asking for text/csv and not JSON."""
    if output is not None:
        return output == "csv"
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept


def csv_or_json(
    request: Request[Any, Any, Any],
    output: str | None,
    name: str,
    columns: Sequence[str],
    rows: list[dict[str, Any]],
) -> Response[Any]:
    """The same rows as JSON, or as a CSV download when asked for."""
    if wants_csv(request, output):
        return csv_response(name, columns, rows)
    return Response(rows)


def decode_text(raw: bytes, encoding: str | None = None) -> str:
    """Bytes as text: the named encoding, else UTF-8 (BOM dropped), else GB18030 (covers GBK)."""
    if encoding:
        try:
            return raw.decode(encoding).lstrip(BOM)
        except LookupError:
            raise TableError("encoding", f"unknown encoding {encoding!r}") from None
        except UnicodeDecodeError:
            raise TableError("encoding", f"the file is not valid {encoding}") from None
    for candidate in ENCODINGS:
        try:
            return raw.decode(candidate).lstrip(BOM)
        except UnicodeDecodeError:
            continue
    raise TableError("file", "the file is neither UTF-8 nor GB18030/GBK text")


def detect_delimiter(text: str) -> str:
    """Comma, semicolon or tab: the one that splits the header line most often."""
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_table(raw: bytes, delimiter: str | None = None, encoding: str | None = None) -> list[list[str]]:
    """Rows of cell text from CSV bytes or an .xlsx workbook (recognised by content).

    Args:
        delimiter: "comma", "semicolon", "tab" (or the character itself); detected when None.
        encoding: a Python codec name; UTF-8 then GB18030 when None.
    """
    if raw.startswith(_XLSX_MAGIC):
        return _read_xlsx(raw)
    text = decode_text(raw, encoding)
    if delimiter:
        sep = DELIMITERS.get(delimiter, delimiter)
        if sep not in DELIMITERS.values():
            raise TableError("delimiter", "must be comma, semicolon or tab")
    else:
        sep = detect_delimiter(text)
    try:
        return list(csv.reader(io.StringIO(text), delimiter=sep))
    except csv.Error as exc:  # a cell past the csv module's 128 KB limit, a stray quote, ...
        raise TableError("file", f"not readable as CSV: {exc}") from None


def _xlsx_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_xlsx(raw: bytes) -> list[list[str]]:
    from zipfile import BadZipFile

    from openpyxl import load_workbook  # loaded lazily: only uploads need it

    try:
        workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError, ValueError) as exc:
        raise TableError("file", f"not a readable .xlsx workbook ({exc.__class__.__name__})") from None
    try:
        sheet = workbook.worksheets[0]
        return [[_xlsx_cell(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


MAX_UPLOAD = 20 * 1024 * 1024


async def read_upload(
    request: Request[Any, Any, Any], delimiter: str | None, encoding: str | None
) -> list[list[str]]:
    """The uploaded table: the raw body, or the multipart field `file`; CSV or .xlsx."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ProblemError(
                400, "Attach the file as the form field `file`.", [{"field": "file", "message": "missing"}]
            )
        raw = await upload.read()
        delimiter = delimiter or (str(form.get("delimiter") or "") or None)
        encoding = encoding or (str(form.get("encoding") or "") or None)
    else:
        raw = await request.body()
    if len(raw) > MAX_UPLOAD:
        raise ProblemError(413, "The file is larger than 20 MB.", [{"field": "file", "message": "too large"}])
    try:
        return read_table(raw, delimiter=delimiter, encoding=encoding)
    except TableError as problem:
        raise ProblemError(
            400, f"{problem.field}: {problem.message}", [{"field": problem.field, "message": problem.message}]
        ) from None
