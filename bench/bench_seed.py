"""seed-demo at scale on PostgreSQL: wall time and peak memory, against a floor.

Floor: PostgreSQL generating and inserting the same number of order rows server-side
(INSERT ... SELECT generate_series) in the same run, i.e. the database's own write cost.

    .venv/bin/python -m bench.bench_seed --reps 1000 --customers 100000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import time
import uuid

import asyncpg

SERVER = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(SERVER)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _floor(db_url: str, rows: int) -> float:
    connection = await asyncpg.connect(db_url)
    try:
        await connection.execute(
            "CREATE TEMP TABLE floor_orders (id uuid, customer_id uuid, amount numeric(16,2), ordered_on date)"
        )
        started = time.perf_counter()
        await connection.execute(
            "INSERT INTO floor_orders SELECT gen_random_uuid(), gen_random_uuid(), "
            "(random()*1000)::numeric(16,2), current_date - (g % 365) FROM generate_series(1, $1) g",
            rows,
        )
        return time.perf_counter() - started
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=12)
    args = parser.parse_args()
    name = f"fs_bench_seed_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    db_url = SERVER.rsplit("/", 1)[0] + f"/{name}"
    try:
        env = {**os.environ, "DATABASE_URL": db_url.replace("postgresql://", "postgresql+asyncpg://")}
        started = time.perf_counter()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "server",
                "seed-demo",
                "--reps",
                str(args.reps),
                "--customers",
                str(args.customers),
                "--months",
                str(args.months),
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            sys.exit(f"seed-demo failed:\n{result.stderr[-3000:]}")
        wall = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        import json

        counts = json.loads(result.stdout[result.stdout.index("{") :])
        floor = asyncio.run(_floor(db_url, counts["orders"]))
        print(
            f"seed-demo reps={args.reps} customers={counts['customers']} orders={counts['orders']} "
            f"visits={counts['visits']} targets={counts['targets']}"
        )
        print(
            f"wall {wall:.1f} s, peak RSS {peak_mb:.0f} MB; floor (server-side insert of "
            f"{counts['orders']} rows) {floor:.1f} s; ratio {wall / floor:.1f}x"
        )
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
