"""Fuzzing: schemathesis over every operation of /schema/openapi.json on a live server.

A real server on a copy of the seeded SQLite company, Web Push configured, the login rate limits
raised (the fuzzer's wrong passwords would otherwise lock the test's own logins out). Every
operation gets a few schema-valid and schema-breaking requests (bench/fuzz.py; the bench runs
25 + 10 per operation), each sent as admin and as rep1. Asserted: no 5xx at all, no transport
error, and no response that breaks the documented schema, apart from the known issues below
(found by this test, reported to their owners); while any of those is still seen, the test is
marked xfail with the list, and it passes by itself once they are fixed. Any other 5xx or schema
violation fails it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.fuzz import Finding, fuzz, server_env
from tests.resilience.support import AppProcess, bearer_tokens

pytestmark = pytest.mark.resilience

EXAMPLES, NEGATIVE = 8, 4
CSV_LISTS = ("GET /api/v1/customers", "GET /api/v1/orders", "GET /api/v1/targets", "GET /api/v1/adjustments")
PAGED_LISTS = (*CSV_LISTS, "GET /api/v1/checkins", "GET /api/v1/escalations")
# Found by this test and reported to the owners of the routes; each entry goes once it is fixed.
KNOWN_SERVER_ERRORS = {
    "offset/page past int64 is a 500 (no `le=` bound; SQLite OverflowError, asyncpg DataError)": lambda f: (
        f.operation in PAGED_LISTS and re.search(r"\b(offset|page)=\d{17,}", f.request) is not None
    ),
}
KNOWN_SCHEMA_ISSUES = {
    "problem+json 400 documented as application/json": lambda f: (
        f.check == "content_type_conformance" and f.status == 400 and "application/problem+json" in f.response
    ),
    "?format=csv answers text/csv, documented as application/json only": lambda f: (
        f.check == "content_type_conformance"
        and f.status == 200
        and f.operation in CSV_LISTS
        and "text/csv" in f.response
    ),
}


def _known(finding: Finding) -> str | None:
    known = KNOWN_SERVER_ERRORS if finding.check == "not_a_server_error" else KNOWN_SCHEMA_ISSUES
    return next((name for name, matches in known.items() if matches(finding)), None)


def _show(findings: list[Finding]) -> str:
    return "\n".join(f"{f.line()}\n  {f.request}\n  <- {f.response[:500]}" for f in findings[:5])


def test_fuzz_every_operation_no_5xx_no_schema_break(sqlite_db: str, tmp_path: Path) -> None:
    app = AppProcess(sqlite_db, tmp_path, name="fuzz-app", extra_env=server_env()).start()
    try:
        app.wait_ready(path="/readyz")
        tokens = bearer_tokens(app.url, ("admin", "rep1"))
        report = fuzz(app.url, tokens, examples=EXAMPLES, negative=NEGATIVE, budget_s=75)
        assert app.alive(), app.log_tail()
    finally:
        app.stop()
    print("\n" + report.summary(details=0))
    assert report.operations >= 50, f"only {report.operations} operations in the schema"
    assert report.skipped_operations == [], f"budget exhausted: {report.skipped_operations[:5]}"
    assert report.errors == [], report.errors[:5]
    unknown = [f for f in report.findings if _known(f) is None]
    assert [f for f in unknown if f.check == "not_a_server_error"] == [], _show(unknown)
    assert unknown == [], _show(unknown)
    still_open: dict[str, set[str]] = {}
    for finding in report.findings:
        still_open.setdefault(str(_known(finding)), set()).add(finding.operation)
    if still_open:
        pytest.xfail(
            "known issues still open (reported to their owners): "
            + "; ".join(f"{name} ({len(ops)} operations)" for name, ops in still_open.items())
        )
