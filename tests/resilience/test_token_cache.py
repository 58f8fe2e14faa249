"""Token checks answered from memory, and a deactivation honoured at once by every process.

Two app processes share one PostgreSQL database. A rep's bearer token is used on both until each
answers from its cache (the /metrics counter says so: no database read for the token). Then an
admin deactivates the rep through process A: the very next requests on A and on B are 401,
although B never saw the change itself (PostgreSQL NOTIFY, sent in the deactivating transaction,
reaches B's listener when the commit lands). Reactivating does not bring the revoked token back.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from tests.resilience.support import AppProcess, bearer_tokens

LOOKUP = re.compile(r'^fieldsales_token_lookups_total\{source="(cache|database)"\} ([0-9.e+]+)$', re.M)
# NOTIFY travels PostgreSQL -> listener socket while the HTTP answer travels to the test: allow the
# race between the two a few milliseconds, far below the cache's 60 s TTL that would otherwise apply.
PROPAGATION_S = 0.5

pytestmark = pytest.mark.resilience


def _lookups(client: httpx.Client) -> dict[str, float]:
    text = client.get("/metrics").text
    return {source: float(value) for source, value in LOOKUP.findall(text)}


def _status_within(client: httpx.Client, headers: dict[str, str], expected: int, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while True:
        status = client.get("/api/v1/me", headers=headers).status_code
        if status == expected or time.monotonic() > deadline:
            return status
        time.sleep(0.01)


def test_deactivation_reaches_every_process_at_once(pg_db: str, tmp_path: Path) -> None:
    apps = [AppProcess(pg_db, tmp_path / name, name=name).start() for name in ("a", "b")]
    try:
        for app in apps:
            app.wait_ready()
        a, b = (httpx.Client(base_url=app.url, timeout=30) for app in apps)
        tokens = bearer_tokens(apps[0].url, ["rep1", "rep2", "admin"])
        rep = {"Authorization": tokens["rep1"]}
        me = a.get("/api/v1/me", headers=rep)
        assert me.status_code == 200, me.text
        rep_id = me.json()["id"]

        # Warm both caches, then check that B answers from memory.
        for client in (a, b):
            assert client.get("/api/v1/me", headers=rep).status_code == 200
        before = _lookups(b)
        for _ in range(20):
            assert b.get("/api/v1/me", headers=rep).status_code == 200
        after = _lookups(b)
        assert after.get("cache", 0) - before.get("cache", 0) >= 20, (before, after)
        assert after.get("database", 0) == before.get("database", 0), (before, after)

        successor = a.get("/api/v1/me", headers={"Authorization": tokens["rep2"]}).json()["id"]
        deactivated = a.patch(
            f"/api/v1/users/{rep_id}",
            json={"active": False, "successor_id": successor},
            headers={"Authorization": tokens["admin"]},
        )
        assert deactivated.status_code == 200, deactivated.text
        assert _status_within(b, rep, 401, PROPAGATION_S) == 401
        assert _status_within(a, rep, 401, PROPAGATION_S) == 401
        # And it stays refused (no stale entry comes back from either cache).
        for client in (a, b, a, b):
            assert client.get("/api/v1/me", headers=rep).status_code == 401

        # Reactivation does not revive the revoked session; a new sign-in works on both.
        reactivated = b.patch(
            f"/api/v1/users/{rep_id}", json={"active": True}, headers={"Authorization": tokens["admin"]}
        )
        assert reactivated.status_code == 200, reactivated.text
        assert a.get("/api/v1/me", headers=rep).status_code == 401
        fresh = {"Authorization": bearer_tokens(apps[1].url, ["rep1"])["rep1"]}
        for client in (a, b):
            assert client.get("/api/v1/me", headers=fresh).status_code == 200
    finally:
        for app in apps:
            app.stop()
