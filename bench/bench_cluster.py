"""Check-in throughput against 1 vs 2 app processes sharing one PostgreSQL database.

Seeds the small demo company into a fresh database on 127.0.0.1:5432 (dropped at the end),
starts one `python -m server run --skip-prepare --no-scheduler` process and sends N check-ins
(new client UUIDs, 8 reps) from `--clients` concurrent clients; then starts a second process and
sends N more, the clients split evenly across the two ports (what a round-robin proxy does).
Prints check-ins/s for each and the ratio. On a 2-core host shared with PostgreSQL the ratio is
bounded by the CPU, not by the app: read it together with the cores available.

    .venv/bin/python -m bench.bench_cluster --checkins 1500 --clients 16
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any


async def _split_load(urls: list[str], visits: list[Any], clients: int) -> None:
    from tests.resilience.support import run_load

    shares = [visits[i :: len(urls)] for i in range(len(urls))]
    per = max(1, clients // len(urls))
    await asyncio.gather(
        *(
            run_load(url, share, concurrency=per, deadline_s=900)
            for url, share in zip(urls, shares, strict=True)
        )
    )


def _rate(
    urls: list[str], tokens: dict[str, str], customers: dict[str, list[str]], n: int, clients: int, seed: int
) -> dict[str, Any]:
    from tests.resilience.support import make_visits, percentile

    visits = make_visits(tokens, customers, n, seed=seed)
    started = time.monotonic()
    asyncio.run(_split_load(urls, visits, clients))
    seconds = time.monotonic() - started
    latencies = [t for v in visits for t in v.latencies]
    ok = sum(1 for v in visits if v.done)
    return {
        "processes": len(urls),
        "checkins": n,
        "ok": ok,
        "seconds": round(seconds, 2),
        "per_s": round(ok / seconds, 1),
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkins", type=int, default=1500)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--json", help="write the result here")
    args = parser.parse_args(argv)

    from tests.resilience.support import (
        REPS,
        AppProcess,
        bearer_tokens,
        create_database,
        customers_of,
        drop_database,
        main_postgres_admin_url,
        seed_demo,
    )

    admin = main_postgres_admin_url()
    if admin is None:
        print("no PostgreSQL on 127.0.0.1:5432", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="fieldsales-cluster-"))
    name = f"fs_bench_cluster_{uuid.uuid4().hex[:8]}"
    url = create_database(admin, name)
    apps: list[AppProcess] = []
    try:
        print("seeding the small demo company ...", flush=True)
        seed_demo(url, workdir)
        pool = max(4, args.clients // 2)
        apps.append(AppProcess(url, workdir, name="app-1", pool_size=pool).start())
        apps[0].wait_ready(path="/readyz")
        tokens = bearer_tokens(apps[0].url, REPS)
        customers = customers_of(apps[0].url, tokens)
        _rate([apps[0].url], tokens, customers, 50, args.clients, seed=1)  # warm-up
        one = _rate([apps[0].url], tokens, customers, args.checkins, args.clients, seed=2)
        apps.append(AppProcess(url, workdir, name="app-2", pool_size=pool).start())
        apps[1].wait_ready(path="/readyz")
        _rate([apps[1].url], tokens, customers, 50, args.clients, seed=3)  # warm the second one up
        two = _rate([a.url for a in apps], tokens, customers, args.checkins, args.clients, seed=4)
    except BaseException:
        print(f"kept {workdir} (server logs)", file=sys.stderr)
        raise
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    finally:
        for app in apps:
            app.stop()
        drop_database(admin, name)
    result = {"cores": os.cpu_count(), "one": one, "two": two, "ratio": round(two["per_s"] / one["per_s"], 2)}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    for row in (one, two):
        print(
            f"{row['processes']} process(es): {row['ok']}/{row['checkins']} check-ins in {row['seconds']} s "
            f"= {row['per_s']}/s, p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms"
        )
    print(f"ratio 2/1: {result['ratio']} on {result['cores']} cores (shared with PostgreSQL and the clients)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
