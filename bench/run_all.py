"""`make bench`: every benchmark once, at a small scale, each printing its own figures.

The benches that read a seeded database share one throwaway PostgreSQL database, seeded here with
`seed-demo` as of AT; the others build their own world. Each bench's module docstring gives the
full-scale command; `--scale N` multiplies the sizes below, `--only NAME` runs some of them.

    .venv/bin/python -m bench.run_all [--scale 10] [--only planner --only grading]

Not run here: bench_cluster (needs `make run-cluster`), fuzz and lighthouse (`make lighthouse`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable

import asyncpg

SERVER = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
AT = "2026-11-18T02:00:00Z"  # the seeded world's "now"
REPS, CUSTOMERS, MONTHS = 20, 1000, 3

# name -> arguments at scale s, for a database URL (benches on the shared seeded database)
SEEDED: dict[str, Callable[[int, str], list[str]]] = {
    "standup": lambda s, url: ["bench.bench_standup", "--database-url", url, "--at", AT, "--runs", "2"],
    "progress": lambda s, url: [
        "bench.bench_progress",
        "--database-url",
        url,
        "--as-of",
        AT[:10],
        "--runs",
        "2",
    ],
    "escalate": lambda s, url: ["bench.bench_escalate", "--database-url", url, "--at", AT, "--runs", "2"],
    "planner": lambda s, url: ["bench.bench_planner"],
    "grading": lambda s, url: [
        "bench.bench_grading",
        "--repeat",
        "1",
        "--orders",
        str(20_000 * s),
        "--at",
        AT,
    ],
}
# name -> arguments at scale s (benches that build their own world)
STANDALONE: dict[str, Callable[[int], list[str]]] = {
    "seed": lambda s: ["bench.bench_seed", "--reps", str(REPS * s), "--customers", str(CUSTOMERS * s),
                       "--months", str(MONTHS)],
    "checkins": lambda s: ["bench.bench_checkins", "--visits", str(200 * s), "--clients", "4", "--reps", "4",
                           "--customers", "200"],
    "dispatch": lambda s: ["bench.bench_dispatch", "--notifications", str(1000 * s), "--users", "50"],
    "memory": lambda s: ["bench.bench_memory", "--checkins", str(200 * s), "--clients", "2", "--every", "50"],
    "compose": lambda s: ["bench.bench_compose", "--reps", str(200 * s), "--runs", "3"],
    "photos": lambda s: ["bench.bench_photos", "--photos", str(40 * s), "--clients", "4", "--reps", "4"],
}  # fmt: skip


# seed-demo's setup already runs the escalate sweep; bench_escalate measures the first sweep on a
# database without escalations, so those (and the sweep's slot claims) are cleared before it.
BEFORE = {
    "escalate": "DELETE FROM escalation_events; DELETE FROM escalations; "
    "DELETE FROM notifications WHERE kind = 'escalation'; DELETE FROM job_runs WHERE job = 'escalate'",
}


async def _admin(sql: str, server: str = SERVER) -> None:
    connection = await asyncpg.connect(server)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _run(title: str, argv: list[str], env: dict[str, str]) -> bool:
    print(f"\n== {title}: python -m {' '.join(argv)}", flush=True)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", *argv], env=env, check=False)
    print(f"-- {title}: {'ok' if result.returncode == 0 else f'FAILED ({result.returncode})'} "
          f"in {time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
    return result.returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, default=1, help="multiply the small default sizes")
    parser.add_argument("--only", action="append", choices=[*SEEDED, *STANDALONE], help="run only these")
    args = parser.parse_args(argv)
    chosen = set(args.only or [*SEEDED, *STANDALONE])
    failed: list[str] = []
    seeded = [name for name in SEEDED if name in chosen]
    if seeded:
        name = f"fs_bench_all_{uuid.uuid4().hex[:8]}"
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
        url = SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
        env = {**os.environ, "DATABASE_URL": url, "SCHEDULER": "false"}
        try:
            seed = ["server", "seed-demo", "--reps", str(REPS * args.scale), "--customers",
                    str(CUSTOMERS * args.scale), "--months", str(MONTHS), "--at", AT]  # fmt: skip
            if not _run("seed the shared database", seed, env):
                return 1
            for bench in seeded:
                if bench in BEFORE:
                    asyncio.run(_admin(BEFORE[bench], url.replace("postgresql+asyncpg://", "postgresql://")))
                if not _run(bench, SEEDED[bench](args.scale, url), env):
                    failed.append(bench)
        finally:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    for bench in (b for b in STANDALONE if b in chosen):
        if not _run(bench, STANDALONE[bench](args.scale), dict(os.environ)):
            failed.append(bench)
    print(
        f"\n{len(chosen) - len(failed)} of {len(chosen)} benches ran"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
