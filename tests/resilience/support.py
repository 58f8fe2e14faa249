"""Helpers for the resilience tests: real app processes, real PostgreSQL clusters, a check-in load.

Everything here talks to 127.0.0.1 only, and every wait is bounded. Processes are started with
subprocess.Popen and stopped by their own pid (never by name).
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.pg import _pg_bin, _port_open

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
PASSWORD = "fieldsales-demo"
SECRET_KEY = "resilience-secret-key-not-for-production"
# The seeded company's "now": a Monday. The jobs test plays the week that follows.
SEED_AT = datetime(2026, 11, 16, 0, 0, tzinfo=UTC)
SEED_SIZE = {"reps": 8, "customers": 120, "months": 3}
REPS = tuple(f"rep{n}" for n in range(1, SEED_SIZE["reps"] + 1))
SERVER_START_S = 90  # generous: two cores shared by several engineers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def quiet_port() -> int:
    """A free port below the ephemeral range, so no client socket takes it while its server is down."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randint(21000, 29999)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return free_port()


# ---- PostgreSQL ----


def plain_url(url: str) -> str:
    """asyncpg's own URL from SQLAlchemy's (`postgresql+asyncpg://` -> `postgresql://`)."""
    return url.replace("postgresql+asyncpg://", "postgresql://")


def database_url(admin_url: str, name: str) -> str:
    """SQLAlchemy URL of database `name` on the server of `admin_url`."""
    return (
        plain_url(admin_url).rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    )


async def _fetch(url: str, sql: str, *args: Any) -> list[Any]:
    import asyncpg

    connection = await asyncpg.connect(plain_url(url), timeout=10)
    try:
        return list(await connection.fetch(sql, *args, timeout=60))
    finally:
        await connection.close()


def fetch(url: str, sql: str, *args: Any) -> list[Any]:
    """Rows of one query (asyncpg records), from a synchronous test."""
    return asyncio.run(_fetch(url, sql, *args))


def scalar(url: str, sql: str, *args: Any) -> Any:
    rows = fetch(url, sql, *args)
    return rows[0][0] if rows else None


def create_database(admin_url: str, name: str, template: str | None = None) -> str:
    suffix = f' TEMPLATE "{template}"' if template else ""
    fetch(admin_url, f'CREATE DATABASE "{name}"{suffix}')
    return database_url(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    for _ in range(3):
        try:
            fetch(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except Exception:
            time.sleep(1)


def copy_database(source_url: str, target_url: str, timeout: float = 120) -> None:
    """pg_dump | psql between two servers (the template into a throwaway cluster)."""
    pg_dump, psql = _pg_bin("pg_dump"), _pg_bin("psql")
    assert pg_dump and psql, "pg_dump/psql not found"
    dump = subprocess.Popen(
        [pg_dump, "--no-owner", "--no-privileges", "-d", plain_url(source_url)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    load = subprocess.run(
        [psql, "-q", "-v", "ON_ERROR_STOP=1", "-d", plain_url(target_url)],
        stdin=dump.stdout,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    assert dump.stdout is not None
    dump.stdout.close()
    dump.wait(timeout=timeout)
    if dump.returncode != 0 or load.returncode != 0:
        raise RuntimeError(f"copy failed: {dump.stderr.read().decode()[-2000:] if dump.stderr else ''}"
                           f"{load.stderr.decode()[-2000:]}")  # fmt: skip


def main_postgres_admin_url() -> str | None:
    explicit = os.environ.get("FIELDSALES_RESILIENCE_PG_ADMIN_URL")
    if explicit:
        return explicit
    if _port_open("127.0.0.1", 5432):
        return "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    return None


class ThrowawayCluster:
    """A private PostgreSQL cluster (initdb + pg_ctl as user postgres) that a test may stop and
    start at will: never the machine's shared server."""

    def __init__(self, port: int | None = None) -> None:
        self.initdb, self.pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        self.port = port or quiet_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="fieldsales-res-pg-"))
        os.chmod(self.workdir, 0o777)  # the postgres user writes its data and log here
        self.data = self.workdir / "data"
        self.log = self.workdir / "postgres.log"
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.initialised = False
        self.frozen: list[int] = []

    @property
    def available(self) -> bool:
        return bool(self.initdb and self.pg_ctl)

    @property
    def admin_url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.as_postgres, *args], capture_output=True, text=True, timeout=timeout, check=False
        )

    def init(self) -> None:
        assert self.initdb, "initdb not found"
        done = self._run(self.initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr[-2000:]}")
        self.initialised = True

    def start(self) -> float:
        """Start (or restart) the cluster; returns the seconds it took."""
        assert self.pg_ctl
        started = time.monotonic()
        options = f"-p {self.port} -k {self.workdir} -h 127.0.0.1 -c max_connections=60 -c fsync=off"
        done = self._run(
            self.pg_ctl, "-D", str(self.data), "-o", options, "-w", "-t", "60", "-l", str(self.log), "start"
        )
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {done.stdout[-1000:]} {done.stderr[-1000:]}")
        return time.monotonic() - started

    def stop(self, mode: str = "fast") -> float:
        assert self.pg_ctl
        started = time.monotonic()
        done = self._run(self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")
        if done.returncode != 0 and "is not running" not in done.stderr + done.stdout:
            raise RuntimeError(f"pg_ctl stop failed: {done.stdout[-1000:]} {done.stderr[-1000:]}")
        return time.monotonic() - started

    def server_pids(self) -> list[int]:
        """The postmaster and its children: this cluster's processes only."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(postmaster)], capture_output=True, text=True, check=False
        ).stdout.split()
        return [postmaster, *(int(pid) for pid in children)]

    def freeze(self) -> list[int]:
        """SIGSTOP every process of this cluster: sockets stay open, nothing answers (what a
        network partition or a hung host looks like to the app). Returns the pids to thaw."""
        self.frozen = self.server_pids()
        for pid in self.frozen:
            os.kill(pid, signal.SIGSTOP)
        return self.frozen

    def thaw(self) -> None:
        for pid in self.frozen:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self.frozen = []

    def destroy(self) -> None:
        self.thaw()  # never leave stopped processes behind
        if self.initialised:
            try:
                self.stop("immediate")
            except Exception:
                pass
        shutil.rmtree(self.workdir, ignore_errors=True)


# ---- Seeding ----


def seed_demo(url: str, workdir: Path, at: datetime = SEED_AT, timeout: float = 300) -> None:
    """`python -m server seed-demo` (small: 8 reps, 120 customers, 3 months) into `url`."""
    workdir.mkdir(parents=True, exist_ok=True)
    args = [str(v) for pair in SEED_SIZE.items() for v in (f"--{pair[0]}", pair[1])]
    done = subprocess.run(
        [PY, "-m", "server", "seed-demo", *args, "--at", at.isoformat()],
        cwd=workdir,
        env=app_env(url, 0),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"seed-demo failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
        )


# ---- App processes ----


def app_env(
    url: str, port: int, *, scheduler: bool = False, pool_size: int = 4, **extra: str
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        SECRET_KEY=SECRET_KEY,
        HOST="127.0.0.1",
        PORT=str(port),
        SCHEDULER="true" if scheduler else "false",
        DB_POOL_SIZE=str(pool_size),
        COOKIE_SECURE="false",
        LOG_JSON="false",
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@dataclass
class AppProcess:
    """`python -m server run --skip-prepare --port P` in its own temp dir (no ./.env leaks in)."""

    url_db: str
    workdir: Path
    name: str = "app"
    scheduler: bool = False
    pool_size: int = 4
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=quiet_port)  # kept across restarts: out of the ephemeral range
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> AppProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        command = [PY, "-m", "server", "run", "--skip-prepare", "--port", str(self.port)]
        if not self.scheduler:
            command.append("--no-scheduler")
        env = app_env(
            self.url_db, self.port, scheduler=self.scheduler, pool_size=self.pool_size, **self.extra_env
        )
        with self.log_path.open("ab") as log:
            log.write(f"\n---- start #{self.starts + 1} ----\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                command, cwd=self.workdir, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self.starts += 1
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, timeout: float = SERVER_START_S, path: str = "/healthz") -> float:
        """Seconds until `path` answers 200; raises if the process dies or the time runs out."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if not self.alive():
                code = self.process.returncode if self.process else None
                raise RuntimeError(f"{self.name} exited with {code}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=3) as response:
                    if response.status == 200:
                        return time.monotonic() - started
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready within {timeout} s:\n{self.log_tail()}")

    def kill9(self) -> None:
        """SIGKILL: no graceful shutdown, no rollback, in-flight requests cut."""
        if self.alive():
            assert self.process is not None
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if not self.alive():
            return
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)

    def rss_kb(self) -> int:
        """VmRSS of the process from /proc (psutil is not installed)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


# ---- Clients ----


def bearer_tokens(base_url: str, logins: Iterable[str], timeout: float = 60) -> dict[str, str]:
    """{login: "Bearer ..."} through POST /api/v1/auth/token."""
    tokens: dict[str, str] = {}
    with httpx.Client(base_url=base_url, timeout=timeout) as client:
        for login in logins:
            response = client.post(
                "/api/v1/auth/token", json={"email": f"{login}@demo.example", "password": PASSWORD}
            )
            response.raise_for_status()
            tokens[login] = f"Bearer {response.json()['access_token']}"
    return tokens


def customers_of(base_url: str, tokens: dict[str, str], timeout: float = 60) -> dict[str, list[str]]:
    """{rep login: [customer ids]} as each rep sees them (their own customers)."""
    result: dict[str, list[str]] = {}
    with httpx.Client(base_url=base_url, timeout=timeout) as client:
        for login, token in tokens.items():
            response = client.get(
                "/api/v1/customers", params={"limit": 200}, headers={"Authorization": token}
            )
            response.raise_for_status()
            result[login] = [item["id"] for item in response.json()["items"]]
            assert result[login], f"{login} has no customers"
    return result


@dataclass
class Visit:
    """One check-in (and optionally its check-out with an order): the bodies never change, so a
    retry is an exact replay."""

    rep: str
    token: str
    checkin: dict[str, Any]
    checkout: dict[str, Any] | None = None
    checkin_status: list[int | str] = field(default_factory=list)  # every answer, in order
    checkout_status: list[int | str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    replayed: list[str] = field(default_factory=list)  # stages answered `Idempotent-Replayed: true`

    @property
    def id(self) -> str:
        return str(self.checkin["id"])

    def ok(self, stage: str) -> bool:
        answers = self.checkin_status if stage == "checkin" else self.checkout_status
        return any(isinstance(s, int) and 200 <= s < 300 for s in answers)

    @property
    def done(self) -> bool:
        return self.ok("checkin") and (self.checkout is None or self.ok("checkout"))


def make_visits(
    tokens: dict[str, str],
    customers: dict[str, list[str]],
    count: int,
    *,
    with_checkout: bool = False,
    now: datetime | None = None,
    seed: int = 1,
) -> list[Visit]:
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    reps = sorted(tokens)
    visits = []
    for n in range(count):
        rep = reps[n % len(reps)]
        at = now - timedelta(seconds=rng.randint(30, 600))
        body = {
            "id": str(uuid.uuid4()),
            "customer_id": rng.choice(customers[rep]),
            "checked_in_at": at.isoformat(),
            "lat": round(31.2 + rng.random() / 10, 6),
            "lng": round(121.4 + rng.random() / 10, 6),
            "accuracy_m": 12.0,
        }
        checkout = None
        if with_checkout:
            checkout = {
                "checked_out_at": (at + timedelta(seconds=20)).isoformat(),
                "outcome": "order",
                "order_amount": f"{rng.randint(100, 99999)}.{rng.randint(0, 99):02d}",
                # Random amounts may be far above a customer's history: confirmed, as the phone
                # does after "Did you mean …?" (this load is about durability, not that rule).
                "amount_confirmed": True,
            }
        visits.append(Visit(rep, tokens[rep], body, checkout))
    return visits


async def send_visit(client: httpx.AsyncClient, visit: Visit) -> bool:
    """Send what this visit still lacks (check-in, then check-out); True when both got a 2xx.

    A transport error (server killed, connection refused) is recorded as its exception name.
    """
    headers = {"Authorization": visit.token}
    stages: list[tuple[str, str, dict[str, Any] | None, list[int | str]]] = [
        ("checkin", "/api/v1/checkins", visit.checkin, visit.checkin_status),
        ("checkout", f"/api/v1/checkins/{visit.id}/checkout", visit.checkout, visit.checkout_status),
    ]
    for stage, path, body, answers in stages:
        if body is None or visit.ok(stage):
            continue
        started = time.monotonic()
        try:
            response = await client.post(path, json=body, headers=headers)
        except httpx.HTTPError as exc:
            answers.append(type(exc).__name__)
            return False
        finally:
            visit.latencies.append(time.monotonic() - started)
        answers.append(response.status_code)
        if response.headers.get("idempotent-replayed") == "true":
            visit.replayed.append(stage)
        if not 200 <= response.status_code < 300:
            return False
    return True


async def run_load(
    base_url: str,
    visits: Sequence[Visit],
    *,
    concurrency: int = 8,
    request_timeout: float = 30,
    deadline_s: float = 120,
    on_progress: Any = None,
) -> None:
    """Send every visit not yet done, `concurrency` at a time; stops by itself at `deadline_s`."""
    queue: asyncio.Queue[Visit] = asyncio.Queue()
    for visit in visits:
        if not visit.done:
            queue.put_nowait(visit)
    stop_at = time.monotonic() + deadline_s
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=request_timeout, limits=limits) as client:

        async def worker() -> None:
            while time.monotonic() < stop_at:
                try:
                    visit = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                await send_visit(client, visit)
                if on_progress is not None:
                    on_progress(visit)

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = SERVER_START_S) -> None:
    """Until `url` answers 200; raises if the process exits first or the time runs out."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready within {timeout} s")
