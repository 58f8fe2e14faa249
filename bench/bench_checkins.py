"""Check-in + check-out load against a real server process (uvicorn, fresh PostgreSQL database).

Starts `uvicorn bench.floor_app:app_from_env` (the product's app plus one bare endpoint) on
127.0.0.1 at a free port against a fresh database (migrated, seeded small), signs the demo reps in,
then runs, with the same number of concurrent clients in the same run: GET /healthz (no database,
no auth) for contrast; the fair floor, POST /bench/floor (the same bearer-token auth, the same
per-request session, one INSERT through the same pool, committed), twice per visit; then a
bounded number of visits, each a POST /api/v1/checkins followed by a POST .../checkout (half of them orders, the
other half with a next step), and a replay of every 10th check-in. Prints throughput and p50/p95
latency per request kind, and each kind against the floor. Checks afterwards that the database
holds exactly one check-in per visit and one order per order outcome. Stops by itself; the
database is dropped unless --keep-db.

    .venv/bin/python -m bench.bench_checkins --visits 2000 --clients 16
    .venv/bin/python -m bench.bench_checkins --engine sqlite   # the embedded default, for contrast
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from sqlalchemy import func, select, text

from bench.floor_app import TABLE_DDL
from server.config import ROOT, Settings
from server.db.engine import create_engine
from server.db.migrate import upgrade
from server.db.models import Checkin, Customer, Order, User
from server.services.admin.seed import DEMO_PASSWORD, SeedOptions, seed_demo

PG_SERVER = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@dataclass
class Timings:
    ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    wall_s: dict[str, float] = field(default_factory=dict)

    def line(self, kind: str, floor: str | None = None) -> str:
        values = sorted(self.ms[kind])
        if not values:
            return f"{kind:<16} no samples"
        p50, p95 = values[len(values) // 2], values[min(len(values) - 1, int(len(values) * 0.95))]
        rate = len(values) / self.wall_s[kind.split(" ")[0]]
        text = f"{kind:<16} n={len(values):>5}  errors={self.errors[kind]:>3}  {rate:>7.0f} req/s  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms"
        if floor:
            base = sorted(self.ms[floor])
            text += f"  | x{p50 / base[len(base) // 2]:.1f} p50, x{p95 / base[int(len(base) * 0.95)]:.1f} p95 of floor"
        return text


def server_cpu_s(pid: int) -> float:
    """CPU seconds used by the server process and its worker children (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        if stat.parent.name == str(pid) or fields[1] == str(pid):  # fields[1] is the parent pid
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    return total


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(PG_SERVER, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def prepare_database(url: str, reps: int, customers: int) -> dict[str, Any]:
    """Migrate and seed; return the reps' emails and their located customers."""
    settings = Settings(DATABASE_URL=url, SECRET_KEY="bench", _env_file=None)  # type: ignore[call-arg]
    engine = create_engine(settings)
    await upgrade(engine)
    await seed_demo(engine, settings, SeedOptions(reps=reps, customers=customers, months=1, seed=5))
    async with engine.begin() as connection:
        await connection.execute(text(TABLE_DDL))
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(User.email, Customer.id, Customer.lat, Customer.lng)
            .join(Customer, Customer.owner_rep_id == User.id)
            .where(User.role == "rep", Customer.lat.is_not(None))
        )
        places: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
        for email, customer_id, lat, lng in rows:
            places[email].append((str(customer_id), lat, lng))
    await engine.dispose()
    return places


async def count_results(url: str, since: datetime) -> tuple[int, int]:
    engine = create_engine(Settings(DATABASE_URL=url, SECRET_KEY="bench", _env_file=None))  # type: ignore[call-arg]
    async with engine.connect() as connection:
        checkins = await connection.scalar(
            select(func.count()).select_from(Checkin).where(Checkin.received_at >= since)
        )
        orders = await connection.scalar(
            select(func.count())
            .select_from(Order)
            .where(Order.source == "checkin", Order.created_at >= since)
        )
    await engine.dispose()
    return int(checkins or 0), int(orders or 0)


def start_server(url: str, port: int, workers: int, log_path: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-secret",
        "SCHEDULER": "false",
        "LOG_JSON": "true",  # as in production
        "DB_POOL_SIZE": "20",
    }
    command = [sys.executable, "-m", "uvicorn", "bench.floor_app:app_from_env", "--factory"]
    if profile := os.environ.get("BENCH_PYSPY"):  # e.g. BENCH_PYSPY=/tmp/visit.txt: py-spy raw stacks
        command = ["py-spy", "record", "--format", "raw", "--nonblocking", "-o", profile, "--", *command]
    command += [
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    # The log goes to a file: a full pipe would stall the server mid-run.
    with log_path.open("wb") as log:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


async def wait_ready(http: aiohttp.ClientSession, base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the server exited during start-up; see its log")
        try:
            async with http.get(f"{base}/readyz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("the server did not become ready within 60 s")


async def timed(
    http: aiohttp.ClientSession, timings: Timings, kind: str, method: str, url: str, **kw: Any
) -> Any:
    started = time.perf_counter()
    async with http.request(method, url, **kw) as response:
        body = await response.read()
        status = response.status
    timings.ms[kind].append((time.perf_counter() - started) * 1000)
    expected = {"checkin": 201, "checkin replay": 200, "floor": 201}.get(kind, 200)
    if status != expected:
        timings.errors[kind] += 1
        if timings.errors[kind] <= 3:
            print(f"  {kind}: HTTP {status} {body[:200]!r}", file=sys.stderr)
    return status


async def run_healthz(
    http: aiohttp.ClientSession, base: str, timings: Timings, clients: int, total: int
) -> None:
    remaining = iter(range(total))

    async def client() -> None:
        for _ in remaining:
            await timed(http, timings, "healthz", "GET", f"{base}/healthz")

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    timings.wall_s["healthz"] = time.perf_counter() - started


async def run_floor(
    http: aiohttp.ClientSession, base: str, timings: Timings, clients: int, total: int, tokens: dict[str, str]
) -> None:
    """`total` POSTs of the fair floor, the clients signed in as the reps (as the visits are)."""
    remaining = iter(range(total))
    reps = sorted(tokens)

    async def client(number: int) -> None:
        headers = {"Authorization": f"Bearer {tokens[reps[number % len(reps)]]}"}
        for _ in remaining:
            body = {"id": str(uuid.uuid4())}
            await timed(http, timings, "floor", "POST", f"{base}/bench/floor", json=body, headers=headers)

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    timings.wall_s["floor"] = time.perf_counter() - started


async def run_visits(
    http: aiohttp.ClientSession,
    base: str,
    timings: Timings,
    clients: int,
    visits: int,
    tokens: dict[str, str],
    places: dict[str, list[tuple[str, float, float]]],
) -> int:
    remaining = iter(range(visits))
    orders = 0
    reps = sorted(tokens)

    async def client(number: int) -> None:
        nonlocal orders
        rng = random.Random(number)
        email = reps[number % len(reps)]
        headers = {"Authorization": f"Bearer {tokens[email]}"}
        for visit in remaining:
            customer_id, lat, lng = rng.choice(places[email])
            now = datetime.now(UTC)
            body = {
                "id": str(uuid.uuid4()),
                "customer_id": customer_id,
                "checked_in_at": (now - timedelta(minutes=30)).isoformat(),
                "lat": lat + rng.gauss(0, 0.0005),
                "lng": lng + rng.gauss(0, 0.0005),
                "accuracy_m": round(rng.uniform(5, 40), 1),
            }
            await timed(
                http, timings, "checkin", "POST", f"{base}/api/v1/checkins", json=body, headers=headers
            )
            if visit % 10 == 0:  # the outbox resending a check-in whose answer was lost
                await timed(
                    http,
                    timings,
                    "checkin replay",
                    "POST",
                    f"{base}/api/v1/checkins",
                    json=body,
                    headers=headers,
                )
            checkout: dict[str, Any] = {"checked_out_at": now.isoformat()}
            if visit % 2 == 0:
                checkout |= {"outcome": "order", "order_amount": f"{rng.randint(100, 90000) / 10:.2f}"}
                orders += 1
            else:
                checkout |= {
                    "outcome": "follow_up",
                    "next_step": "Send samples",
                    "next_step_due": str(now.date() + timedelta(days=7)),
                }
            url = f"{base}/api/v1/checkins/{body['id']}/checkout"
            await timed(http, timings, "checkout", "POST", url, json=checkout, headers=headers)

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.perf_counter() - started
    for kind in ("checkin", "checkout"):
        timings.wall_s[kind] = elapsed  # they share the wall clock: rates are per kind over the run
    timings.wall_s["visit"] = elapsed
    return orders


async def sign_in(http: aiohttp.ClientSession, base: str, emails: list[str]) -> dict[str, str]:
    tokens = {}
    for email in emails:
        async with http.post(
            f"{base}/api/v1/auth/token", json={"email": email, "password": DEMO_PASSWORD}
        ) as r:
            r.raise_for_status()
            tokens[email] = (await r.json())["access_token"]
    return tokens


async def main(args: argparse.Namespace) -> None:
    name = f"fieldsales_bench_{uuid.uuid4().hex[:8]}"
    workdir = Path(tempfile.mkdtemp(prefix="fieldsales-bench-"))
    if args.engine == "postgresql":
        await _admin(f'CREATE DATABASE "{name}"')
        url = PG_SERVER.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0] + f"/{name}"
    else:
        url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    server = None
    try:
        prepared_at = time.perf_counter()
        places = await prepare_database(url, args.reps, args.customers)
        print(
            f"database: {args.engine}, {args.reps} reps, {args.customers} customers, seeded in {time.perf_counter() - prepared_at:.1f} s"
        )
        port = free_port()
        server = start_server(url, port, args.workers, workdir / "server.log")
        base = f"http://127.0.0.1:{port}"
        connector = aiohttp.TCPConnector(limit=args.clients)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            await wait_ready(http, base, server)
            tokens = await sign_in(http, base, sorted(places))
            since = datetime.now(UTC)
            timings = Timings()
            cpu_start = server_cpu_s(server.pid)
            await run_healthz(http, base, timings, args.clients, args.visits)
            cpu_health = server_cpu_s(server.pid)
            await run_floor(http, base, timings, args.clients, 2 * args.visits, tokens)
            cpu_floor = server_cpu_s(server.pid)
            orders = await run_visits(http, base, timings, args.clients, args.visits, tokens, places)
            cpu_end = server_cpu_s(server.pid)
        checkins, stored_orders = await count_results(url, since)
        replays = len(timings.ms["checkin replay"])
        print(
            f"server: uvicorn x{args.workers} on {base}; {args.clients} concurrent clients; {args.visits} visits"
        )
        print(timings.line("healthz"))
        print(timings.line("floor"))
        for kind in ("checkin", "checkin replay", "checkout"):
            print(timings.line(kind, floor="floor"))
        visit_rate = args.visits / timings.wall_s["visit"]
        floor_pair_rate = args.visits / timings.wall_s["floor"]  # two floor requests stand for a visit
        health_cpu_ms = (cpu_health - cpu_start) / args.visits * 1000
        floor_cpu_ms = (cpu_floor - cpu_health) / (2 * args.visits) * 1000
        visit_cpu_ms = (cpu_end - cpu_floor) / args.visits * 1000
        print(
            f"server CPU: healthz {health_cpu_ms:.2f} ms/request; floor {floor_cpu_ms:.2f} ms/request; "
            f"visit {visit_cpu_ms:.1f} ms (check-in + check-out{' + 0.1 replay' if replays else ''}; "
            f"x{visit_cpu_ms / (2 * floor_cpu_ms):.1f} of two floor requests)"
        )
        print(
            f"visits/s (check-in + check-out{' + replay' if replays else ''}): {visit_rate:.0f}; "
            f"floor pairs/s {floor_pair_rate:.0f} (x{floor_pair_rate / visit_rate:.1f} of the visits)"
        )
        ok = checkins == args.visits and stored_orders == orders
        print(
            f"stored: {checkins} check-ins (expected {args.visits}), {stored_orders} orders (expected {orders}) -> {'OK' if ok else 'MISMATCH'}"
        )
        if not ok or any(timings.errors.values()):
            print(f"server log: {workdir / 'server.log'}")
            raise SystemExit(1)
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)  # py-spy (BENCH_PYSPY) writes its output on SIGINT
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        if args.engine == "postgresql" and not args.keep_db:
            await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visits", type=int, default=2000, help="check-in + check-out pairs (default 2000)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    parser.add_argument("--reps", type=int, default=16)
    parser.add_argument("--customers", type=int, default=800)
    parser.add_argument("--engine", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--keep-db", action="store_true", help="keep the PostgreSQL database afterwards")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
