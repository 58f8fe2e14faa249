"""RSS of one app process before, during and after a check-in load (VmRSS from /proc).

Starts `python -m server run --skip-prepare --no-scheduler` on a seeded copy of the small demo
company (SQLite by default; PostgreSQL with --engine postgresql, in a fresh database dropped at
the end), signs the 8 demo reps in, warms every request kind up once, then sends N check-ins
(each with a new client UUID; every 2nd followed by a check-out with an order), `--clients`
at a time, sampling the server's VmRSS every `--every` check-ins. Reports RSS at start, after
the warm-up ("before"), the peak during the load, right after, and after 5 s idle; the growth is
peak/after minus "before". Stops by itself.

    .venv/bin/python -m bench.bench_memory                       # 2,000 check-ins on SQLite
    .venv/bin/python -m bench.bench_memory --checkins 10000 --engine postgresql --json var/mem.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class MemoryReport:
    engine: str
    checkins: int
    clients: int
    start_kb: int = 0  # the process up, no request served yet
    before_kb: int = 0  # after sign-in and one warm-up visit per rep
    peak_kb: int = 0
    after_kb: int = 0  # right after the last answer
    idle_kb: int = 0  # 5 s later
    samples: list[tuple[int, int]] = field(default_factory=list)  # (check-ins sent, VmRSS kB)
    seconds: float = 0.0
    ok: int = 0
    failed: int = 0

    @property
    def growth_mb(self) -> float:
        return (max(self.peak_kb, self.after_kb) - self.before_kb) / 1024

    def summary(self) -> str:
        mb = lambda kb: f"{kb / 1024:.1f} MB"  # noqa: E731
        rate = self.checkins / self.seconds if self.seconds else 0
        step = max(1, len(self.samples) // 8)
        tail = ", ".join(f"{n}: {mb(kb)}" for n, kb in self.samples[::step])
        return (
            f"memory ({self.engine}): {self.checkins} check-ins, {self.clients} clients, {self.seconds:.1f} s "
            f"({rate:.0f}/s), {self.ok} ok, {self.failed} failed\n"
            f"  RSS start {mb(self.start_kb)}, before {mb(self.before_kb)}, peak {mb(self.peak_kb)}, "
            f"after {mb(self.after_kb)}, idle 5 s {mb(self.idle_kb)}; growth {self.growth_mb:.1f} MB\n"
            f"  samples (check-ins: RSS): {tail}"
        )


async def _load(app: object, visits: list, clients: int, every: int, report: MemoryReport) -> None:
    from tests.resilience.support import run_load

    done = {"n": 0}

    def on_progress(_visit: object) -> None:
        done["n"] += 1
        if done["n"] % every == 0:
            rss = app.rss_kb()  # type: ignore[attr-defined]
            report.samples.append((done["n"], rss))
            report.peak_kb = max(report.peak_kb, rss)

    await run_load(app.url, visits, concurrency=clients, deadline_s=1800, on_progress=on_progress)  # type: ignore[attr-defined]


def measure(
    database_url: str,
    workdir: Path,
    checkins: int = 2000,
    clients: int = 8,
    every: int = 100,
    checkout_every: int = 2,
) -> MemoryReport:
    """Run the load against a fresh server process on `database_url` (already seeded)."""
    from tests.resilience.support import (
        REPS,
        AppProcess,
        bearer_tokens,
        customers_of,
        make_visits,
        run_load,
    )

    engine = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    report = MemoryReport(engine=engine, checkins=checkins, clients=clients)
    app = AppProcess(database_url, workdir, name="memory-app", pool_size=clients).start()
    try:
        app.wait_ready(path="/healthz")
        report.start_kb = app.rss_kb()
        tokens = bearer_tokens(app.url, REPS)
        customers = customers_of(app.url, tokens)
        warm = make_visits(tokens, customers, len(REPS), with_checkout=True, seed=99)
        asyncio.run(run_load(app.url, warm, concurrency=clients, deadline_s=120))
        report.before_kb = report.peak_kb = app.rss_kb()
        visits = make_visits(tokens, customers, checkins, with_checkout=False, seed=7)
        for n, visit in enumerate(visits):  # every `checkout_every`-th with a check-out and an order
            if checkout_every and n % checkout_every == 0:
                visit.checkout = {
                    "checked_out_at": visit.checkin["checked_in_at"],
                    "outcome": "order",
                    "order_amount": f"{100 + n % 900}.50",
                }
        started = time.monotonic()
        asyncio.run(_load(app, visits, clients, every, report))
        report.seconds = time.monotonic() - started
        report.after_kb = app.rss_kb()
        report.peak_kb = max(report.peak_kb, report.after_kb)
        time.sleep(5)
        report.idle_kb = app.rss_kb()
        report.ok = sum(1 for v in visits if v.done)
        report.failed = len(visits) - report.ok
        if not app.alive():
            raise RuntimeError("the server died:\n" + app.log_tail())
    finally:
        app.stop()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkins", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--every", type=int, default=100, help="sample RSS every N check-ins")
    parser.add_argument("--checkout-every", type=int, default=2, help="check out every Nth visit (0: never)")
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--json", help="write the report here")
    args = parser.parse_args(argv)

    from tests.resilience.support import (
        create_database,
        drop_database,
        main_postgres_admin_url,
        seed_demo,
    )

    workdir = Path(tempfile.mkdtemp(prefix="fieldsales-mem-"))
    admin = name = None
    if args.engine == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'fieldsales.db'}"
    else:
        admin = main_postgres_admin_url()
        if admin is None:
            print("no PostgreSQL on 127.0.0.1:5432", file=sys.stderr)
            return 2
        name = f"fs_bench_mem_{uuid.uuid4().hex[:8]}"
        url = create_database(admin, name)
    try:
        print(f"seeding the small demo company ({args.engine}) ...", flush=True)
        seed_demo(url, workdir)
        report = measure(url, workdir, args.checkins, args.clients, args.every, args.checkout_every)
    except BaseException:
        print(f"kept {workdir} (server log, database)", file=sys.stderr)
        raise
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    finally:
        if admin and name:
            drop_database(admin, name)
    if args.json:
        Path(args.json).write_text(json.dumps({**asdict(report), "growth_mb": report.growth_mb}, indent=2))
    print(report.summary())
    return 0 if report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
