"""Crash: kill -9 the server in the middle of a check-in load, restart it, let the phones retry.

A real server process on PostgreSQL (with its scheduler) takes check-ins and check-outs (with an
order) from 8 reps, 8 requests in flight. Once a third of the visits are through, the process is
killed with SIGKILL: in-flight requests are cut, whatever was not committed is lost. It is
restarted on the same port and every client resends exactly what did not get a 2xx (same UUID,
same body), as the PWA's outbox does. Afterwards:

- every check-in (and check-out) answered 2xx before the crash is in the database;
- every visit ends with a 2xx, and never a 409 (the replays are byte-for-byte the same);
- rows: one check-in per UUID sent (count == distinct UUIDs), one order per checked-out visit,
  with the amount sent.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest

from tests.resilience.support import (
    REPS,
    AppProcess,
    Visit,
    bearer_tokens,
    customers_of,
    fetch,
    make_visits,
    run_load,
    scalar,
)

pytestmark = pytest.mark.resilience

VISITS = 240
KILL_AFTER = VISITS // 3


def _answers(visits: list[Visit]) -> set[int | str]:
    return {a for v in visits for a in (*v.checkin_status, *v.checkout_status)}


def test_kill_9_mid_load_loses_nothing_and_duplicates_nothing(pg_db: str, tmp_path: Path) -> None:
    app = AppProcess(pg_db, tmp_path, name="crash-app", scheduler=True).start()
    try:
        app.wait_ready(path="/readyz")
        tokens = bearer_tokens(app.url, REPS)
        visits = make_visits(tokens, customers_of(app.url, tokens), VISITS, with_checkout=True)
        ids = [UUID(v.id) for v in visits]
        before = scalar(pg_db, "SELECT count(*) FROM checkins")

        # 1. Load, and SIGKILL once a third of the visits are done (8 requests in flight).
        done_before_kill: list[Visit] = []
        killed_at: list[float] = []

        def on_progress(visit: Visit) -> None:
            if visit.done and not killed_at:
                done_before_kill.append(visit)
                if len(done_before_kill) >= KILL_AFTER:
                    app.kill9()
                    killed_at.append(time.monotonic())

        asyncio.run(run_load(app.url, visits, concurrency=8, deadline_s=90, on_progress=on_progress))
        assert killed_at, "the load finished before the kill: raise VISITS"
        ok_checkins = {v.id for v in visits if v.ok("checkin")}
        ok_checkouts = {v.id for v in visits if v.ok("checkout")}
        errors = Counter(
            a for v in visits for a in (*v.checkin_status, *v.checkout_status) if isinstance(a, str)
        )

        # 2. Restart on the same port; the clients retry whatever lacks a 2xx, same id, same body.
        app.start()
        restart_s = app.wait_ready(path="/readyz")
        for _ in range(3):  # a few bounded rounds, like the outbox's backoff
            asyncio.run(run_load(app.url, visits, concurrency=8, deadline_s=90))
            if all(v.done for v in visits):
                break
            time.sleep(1)
        assert all(v.done for v in visits), [
            (v.id, v.checkin_status, v.checkout_status) for v in visits if not v.done
        ][:5]
        answers = _answers(visits)
        http_answers = {a for a in answers if isinstance(a, int)}
        assert http_answers <= {200, 201}, f"unexpected answers: {http_answers}"

        # 3. The database: nothing answered 2xx is lost, nothing is doubled.
        stored = {
            str(r["id"]): r
            for r in fetch(pg_db, "SELECT id, checkout_hash FROM checkins WHERE id = ANY($1)", ids)
        }
        assert ok_checkins <= stored.keys(), f"lost check-ins: {sorted(ok_checkins - stored.keys())[:5]}"
        assert all(stored[i]["checkout_hash"] for i in ok_checkouts), "a 2xx check-out was lost"
        assert len(stored) == len(set(ids)) == VISITS
        assert scalar(pg_db, "SELECT count(*) FROM checkins") - before == VISITS
        orders = fetch(
            pg_db,
            "SELECT checkin_id, count(*) AS n, sum(amount) AS total FROM orders "
            "WHERE checkin_id = ANY($1) GROUP BY checkin_id",
            ids,
        )
        assert [r for r in orders if r["n"] != 1] == [], "an order was recorded twice"
        assert len(orders) == VISITS
        sent = {v.id: Decimal(v.checkout["order_amount"]) for v in visits if v.checkout}
        assert {str(r["checkin_id"]): r["total"] for r in orders} == sent
        # Committed before the kill but the answer was lost: the retry got the stored record back.
        replays = Counter(stage for v in visits for stage in v.replayed)
        print(
            f"\ncrash: {VISITS} visits; {len(done_before_kill)} done before kill -9, "
            f"transport errors {dict(errors)}; "
            f"restart {restart_s:.1f} s; retries answered as replays {dict(replays)}; "
            f"check-ins {len(stored)} == distinct UUIDs {len(set(ids))}; orders {len(orders)}"
        )
    finally:
        app.stop()
