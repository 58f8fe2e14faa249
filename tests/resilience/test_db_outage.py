"""Database outage: the app answers 503 + Retry-After quickly while PostgreSQL is unusable, and
recovers by itself when it comes back (no restart of the app).

The app (with its scheduler) runs on a private PostgreSQL cluster (never the shared server on
5432). Under a light load (6 clients: check-ins, GET /api/v1/me (2), GET /api/v1/checkins, /readyz (2))
the database goes away for 10 s, in two ways:

- stopped (`pg_ctl stop -m fast`, then `pg_ctl start`): connections are refused;
- frozen (SIGSTOP of the cluster's processes, then SIGCONT): sockets stay open and nothing
  answers, as in a network partition or a hung host; the pooled connections look alive.

Every response is timed: while the database is away each must be a 503 with Retry-After within
7 s (no hang, no 500); afterwards every kind of request must answer 2xx again within 15 s, and
the check-ins refused with 503 go through on retry.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.resilience.support import (
    REPS,
    AppProcess,
    ThrowawayCluster,
    bearer_tokens,
    copy_database,
    create_database,
    customers_of,
    database_url,
    fetch,
    percentile,
)

pytestmark = pytest.mark.resilience

OUTAGE_S = 10
MAX_LATENCY_S = 7.0
RECOVERY_S = 15.0
CLIENT_TIMEOUT_S = 20.0  # far above the bound: a hang shows as a slow answer, not a client error


@dataclass
class Hit:
    kind: str
    sent: float  # monotonic
    latency: float
    status: int | str  # HTTP status, or the transport error's name
    retry_after: str | None
    body: str


class Load:
    """Light clients; each sends a request, then waits 0.25 s, until told to stop. Six of them (the
    four kinds, readyz and me twice) so that enough requests land inside a 10 s outage even when
    each waits seconds for its 503 on a busy machine (a frozen server answers nothing)."""

    def __init__(self, base_url: str, tokens: dict[str, str], customers: dict[str, list[str]]) -> None:
        self.base_url, self.tokens, self.customers = base_url, tokens, customers
        self.hits: list[Hit] = []
        self.refused_checkins: list[tuple[str, dict[str, Any]]] = []
        self.stop = asyncio.Event()

    async def _one(self, client: httpx.AsyncClient, kind: str, method: str, path: str, **kw: Any) -> Hit:
        started = time.monotonic()
        try:
            response = await client.request(method, path, **kw)
            status: int | str = response.status_code
            retry_after, body = response.headers.get("retry-after"), response.text[:300]
        except httpx.HTTPError as exc:
            status, retry_after, body = type(exc).__name__, None, str(exc)[:300]
        hit = Hit(kind, started, time.monotonic() - started, status, retry_after, body)
        self.hits.append(hit)
        return hit

    async def client(self, n: int) -> None:
        rep = REPS[n % 4]  # the four signed-in reps (see _rig)
        auth = {"Authorization": self.tokens[rep]}
        async with httpx.AsyncClient(base_url=self.base_url, timeout=CLIENT_TIMEOUT_S) as client:
            while not self.stop.is_set():
                if n % 4 == 0:
                    await self._one(client, "readyz", "GET", "/readyz")
                elif n % 4 == 1:
                    await self._one(client, "me", "GET", "/api/v1/me", headers=auth)
                elif n % 4 == 2:
                    await self._one(client, "list", "GET", "/api/v1/checkins?limit=5", headers=auth)
                else:
                    body = {
                        "id": str(uuid.uuid4()),
                        "customer_id": self.customers[rep][0],
                        "checked_in_at": (datetime.now(UTC) - timedelta(seconds=5)).isoformat(),
                        "lat": 31.23,
                        "lng": 121.47,
                        "accuracy_m": 10.0,
                    }
                    hit = await self._one(
                        client, "checkin", "POST", "/api/v1/checkins", json=body, headers=auth
                    )
                    if hit.status != 201:
                        self.refused_checkins.append((rep, body))
                try:
                    await asyncio.wait_for(self.stop.wait(), 0.25)
                except TimeoutError:
                    pass


async def _scenario(load: Load, down: Callable[[], Any], up: Callable[[], Any]) -> dict[str, float]:
    marks: dict[str, float] = {}
    clients = [asyncio.create_task(load.client(n)) for n in range(6)]
    try:
        await asyncio.sleep(3)  # a baseline of healthy answers
        marks["down_begin"] = time.monotonic()
        await asyncio.to_thread(down)
        marks["down"] = time.monotonic()
        await asyncio.sleep(OUTAGE_S)
        marks["up_begin"] = time.monotonic()
        await asyncio.to_thread(up)
        marks["up"] = time.monotonic()
        # Until every kind of request has answered 2xx again (bounded), then a little more.
        while time.monotonic() - marks["up"] < RECOVERY_S + 5:
            recovered = {h.kind for h in load.hits if h.sent >= marks["up"] and _ok(h.status)}
            if recovered >= {"readyz", "me", "list", "checkin"}:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(2)
    finally:
        load.stop.set()
        await asyncio.gather(*clients)
    return marks


def _ok(status: int | str) -> bool:
    return isinstance(status, int) and 200 <= status < 300


async def _retry_refused(base_url: str, load: Load) -> Counter[int | str]:
    outcome: Counter[int | str] = Counter()
    async with httpx.AsyncClient(base_url=base_url, timeout=CLIENT_TIMEOUT_S) as client:
        for rep, body in load.refused_checkins:
            response = await client.post(
                "/api/v1/checkins", json=body, headers={"Authorization": load.tokens[rep]}
            )
            outcome[response.status_code] += 1
    return outcome


@dataclass
class Rig:
    cluster: ThrowawayCluster
    app: AppProcess
    url: str
    load: Load


@contextmanager
def _rig(pg_admin: str, pg_template: str, workdir: Path) -> Iterator[Rig]:
    """A private cluster holding a copy of the seeded company, and the app on it."""
    cluster = ThrowawayCluster()
    if not cluster.available:
        pytest.skip("initdb/pg_ctl not found")
    app: AppProcess | None = None
    try:
        cluster.init()
        cluster.start()
        url = create_database(cluster.admin_url, "fieldsales")
        copy_database(database_url(pg_admin, pg_template), url)
        app = AppProcess(url, workdir, name="outage-app", scheduler=True).start()
        app.wait_ready(path="/readyz")
        tokens = bearer_tokens(app.url, REPS[:4])
        yield Rig(cluster, app, url, Load(app.url, tokens, customers_of(app.url, tokens)))
    finally:
        if app is not None:
            app.stop()
        cluster.destroy()


def _check_recovery(rig: Rig, marks: dict[str, float]) -> dict[str, float]:
    """Every kind of request 2xx again within RECOVERY_S of the database's return, and after."""
    after = [h for h in rig.load.hits if h.sent >= marks["up"]]
    recovered_in = {}
    for kind in ("readyz", "me", "list", "checkin"):
        first = [h.sent + h.latency - marks["up"] for h in after if h.kind == kind and _ok(h.status)]
        assert first, f"{kind} never recovered: {Counter(h.status for h in after if h.kind == kind)}"
        recovered_in[kind] = round(min(first), 2)
    assert max(recovered_in.values()) < RECOVERY_S, recovered_in
    tail = [h for h in after if h.sent >= marks["up"] + max(recovered_in.values()) + 0.5]
    assert tail and all(_ok(h.status) for h in tail), Counter(h.status for h in tail)
    errors = [h for h in rig.load.hits if h.status == 500 or isinstance(h.status, str)]
    assert errors == [], _examples(errors)
    assert rig.app.alive(), "the app died:\n" + rig.app.log_tail()
    assert rig.app.starts == 1, "the app was restarted"
    # What the phones do next: resend the refused check-ins; all are accepted, once.
    retried = asyncio.run(_retry_refused(rig.app.url, rig.load))
    assert set(retried) <= {200, 201}, retried
    ids = [uuid.UUID(body["id"]) for _, body in rig.load.refused_checkins]
    assert fetch(rig.url, "SELECT count(*) FROM checkins WHERE id = ANY($1)", ids)[0][0] == len(set(ids))
    return {**recovered_in, "retried": dict(retried)}  # type: ignore[dict-item]


def _latencies(hits: list[Hit]) -> str:
    values = [h.latency for h in hits]
    return (
        f"p50 {percentile(values, 0.5):.3f} s, p95 {percentile(values, 0.95):.3f} s, "
        f"max {max(values, default=0):.3f} s"
    )


def test_database_stopped_gives_quick_503_and_recovers_without_restart(
    pg_admin: str, pg_template: str, tmp_path: Path
) -> None:
    with _rig(pg_admin, pg_template, tmp_path) as rig:
        stop_s, start_s = [], []
        marks = asyncio.run(
            _scenario(
                rig.load,
                lambda: stop_s.append(rig.cluster.stop("fast")),
                lambda: start_s.append(rig.cluster.start()),
            )
        )
        hits = rig.load.hits
        # While the database was down (from the end of `pg_ctl stop` until `pg_ctl start` began).
        during = [h for h in hits if marks["down"] <= h.sent and h.sent + h.latency <= marks["up_begin"]]
        assert len(during) >= 20, f"too few requests during the outage: {len(during)}"
        statuses = Counter(h.status for h in during)
        assert set(statuses) == {503}, f"during the outage: {statuses}; e.g. {_examples(during)}"
        assert all(h.retry_after for h in during), "a 503 without Retry-After"
        slowest = max(h.latency for h in during)
        assert slowest < MAX_LATENCY_S, f"slowest answer during the outage: {slowest:.2f} s"
        not_problems = [h for h in during if h.kind != "readyz" and '"status":503' not in h.body]
        assert not_problems == [], _examples(not_problems)
        # Around the stop itself: requests cut mid-query may fail, but never with a 500 or a hang.
        around = [h for h in hits if marks["down_begin"] - 1 <= h.sent < marks["down"]]
        assert not [h for h in around if h.latency >= MAX_LATENCY_S], _examples(around)
        recovered = _check_recovery(rig, marks)
        print(
            f"\noutage (stopped): stop {stop_s[0]:.1f} s, down {OUTAGE_S} s, start {start_s[0]:.1f} s; "
            f"{len(during)} requests while down: {dict(statuses)}, {_latencies(during)}; "
            f"around the stop {dict(Counter(h.status for h in around))}; "
            f"recovered (s after start) {recovered}"
        )


def test_database_frozen_gives_503_within_bound_and_recovers(
    pg_admin: str, pg_template: str, tmp_path: Path
) -> None:
    with _rig(pg_admin, pg_template, tmp_path) as rig:
        marks = asyncio.run(_scenario(rig.load, rig.cluster.freeze, rig.cluster.thaw))
        hits = rig.load.hits
        # Requests already running when the database froze may wait for it (their statement
        # is bounded by command_timeout); those sent afterwards must not.
        in_flight = [h for h in hits if h.sent < marks["down"] < h.sent + h.latency]
        later = [h for h in hits if marks["down"] <= h.sent < marks["up_begin"]]
        slow = [h for h in later if h.latency >= MAX_LATENCY_S]
        assert slow == [], f"{len(slow)} of {len(later)} answers took >= {MAX_LATENCY_S} s: {_examples(slow)}"
        assert len(later) >= 8, f"too few requests while frozen: {len(later)}: {_examples(in_flight, 4)}"
        # Sent and answered while frozen: a 503 with Retry-After (later ones may catch the thaw).
        during = [h for h in later if h.sent + h.latency <= marks["up_begin"]]
        statuses = Counter(h.status for h in during)
        assert during and set(statuses) == {503}, f"while frozen: {statuses}; e.g. {_examples(during)}"
        assert all(h.retry_after for h in during), "a 503 without Retry-After"
        recovered = _check_recovery(rig, marks)
        print(
            f"\noutage (frozen {OUTAGE_S} s): {len(later)} requests sent while frozen, {len(during)} answered "
            f"before the thaw: {dict(statuses)}, {_latencies(later)}; in flight at the freeze: "
            f"{[(h.kind, h.status, round(h.latency, 1)) for h in in_flight]}; recovered (s after thaw) "
            f"{recovered}"
        )


def _examples(hits: list[Hit], n: int = 3) -> list[tuple[Any, ...]]:
    return [(h.kind, h.status, round(h.latency, 2), h.retry_after, h.body[:200]) for h in hits[:n]]
