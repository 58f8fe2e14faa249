"""Which database errors are a 503 + Retry-After (retry shortly) rather than a 500.

Found by the outage test: while PostgreSQL shuts down or starts up, asyncpg refuses new
connections with CannotConnectNowError (SQLSTATE 57P03, "the database system is shutting down /
starting up"), which SQLAlchemy wraps in a bare DBAPIError; server/core/errors.py answered 500.
"""

from __future__ import annotations

from typing import Any

import pytest
from litestar import get
from litestar.testing import create_test_client
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from server.core.errors import exception_handlers

pytestmark = pytest.mark.resilience


class DriverError(Exception):
    def __init__(self, sqlstate: str | None) -> None:
        super().__init__(f"driver error {sqlstate}")
        self.sqlstate = sqlstate


def _answer(exc: Exception) -> Any:
    @get("/api/v1/boom")
    async def boom() -> None:
        raise exc

    with create_test_client(route_handlers=[boom], exception_handlers=exception_handlers) as client:
        return client.get("/api/v1/boom")


@pytest.mark.parametrize(
    ("sqlstate", "meaning"),
    [
        ("57P03", "cannot connect now: shutting down, starting up, in recovery"),
        ("57P01", "admin shutdown: terminating connection due to administrator command"),
        ("57P02", "crash shutdown"),
        ("53300", "too many connections"),
        ("08006", "connection failure"),
        ("08001", "unable to establish connection"),
    ],
)
def test_unavailable_sqlstates_are_503_with_retry_after(sqlstate: str, meaning: str) -> None:
    response = _answer(DBAPIError("SELECT 1", {}, DriverError(sqlstate)))
    assert response.status_code == 503, meaning
    assert response.headers["retry-after"] == "5"
    assert response.headers["content-type"].startswith("application/problem+json")


def test_disconnects_and_operational_errors_stay_503() -> None:
    invalidated = DBAPIError("SELECT 1", {}, DriverError(None), connection_invalidated=True)
    assert _answer(invalidated).status_code == 503
    assert _answer(OperationalError("SELECT 1", {}, DriverError(None))).status_code == 503
    assert _answer(TimeoutError()).status_code == 503


def test_a_unique_violation_is_a_409_conflict_not_a_retry() -> None:
    # Two requests racing to create the same thing: the loser is told it conflicts (issue 21).
    response = _answer(IntegrityError("INSERT", {}, DriverError("23505")))
    assert response.status_code == 409
    assert "retry-after" not in response.headers
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "exc",
    [
        DBAPIError("SELECT 1", {}, DriverError("42P01")),  # undefined table: 500
        DBAPIError("SELECT 1", {}, DriverError(None)),
        RuntimeError("boom"),
    ],
)
def test_other_errors_stay_500(exc: Exception) -> None:
    response = _answer(exc)
    assert response.status_code == 500
    assert "retry-after" not in response.headers
