"""Find or start a PostgreSQL server for the test run (DESIGN: tests run on both engines).

`postgres_server()` yields a URL to connect to for CREATE/DROP DATABASE: FIELDSALES_TEST_DATABASE_URL;
else a throwaway cluster from the machine's initdb/pg_ctl, run as user postgres in /dev/shm with
durability off (each pytest-xdist worker its own); else the server on 127.0.0.1:5432; else None
(the caller skips loudly, or fails under CI=true). The fixtures (tests/conftest.py) make their
databases there, all named after one random prefix and dropped at the end of the run; `PgAdmin`
runs those statements on one kept connection.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


# A test cluster holds nothing that must survive a crash: no fsync, no full-page images, no WAL
# flush at commit. Its CREATE/DROP DATABASE per test then costs milliseconds, where the machine's
# server spends a checkpoint on every DROP (PostgreSQL 15) and an fsync on every commit.
_FAST_OPTIONS = (
    "-c fsync=off -c full_page_writes=off -c synchronous_commit=off -c jit=off -c max_connections=300"
)
_MIN_SHM_BYTES = 2 << 30


def _cluster_parent() -> str | None:
    """Memory-backed /dev/shm when it has room (no disk I/O at all), else the temp directory."""
    try:
        stats = os.statvfs("/dev/shm")
    except OSError:
        return None
    return "/dev/shm" if stats.f_bavail * stats.f_frsize >= _MIN_SHM_BYTES else None


@contextmanager
def _throwaway_cluster() -> Iterator[str | None]:
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        yield None
        return
    workdir = tempfile.mkdtemp(prefix="fieldsales-pg-", dir=_cluster_parent())
    os.chmod(workdir, 0o777)
    data = os.path.join(workdir, "data")
    # Per process (each pytest-xdist worker starts its own cluster), and never a port in use.
    port = 55432 + os.getpid() % 1000
    while _port_open("127.0.0.1", port):
        port += 1
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    try:
        subprocess.run(
            [*as_postgres, initdb, "-D", data, "-A", "trust", "-U", "postgres"],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                *as_postgres,
                pg_ctl,
                "-D",
                data,
                "-o",
                f"-p {port} -k {workdir} -h 127.0.0.1 {_FAST_OPTIONS}",
                "-w",
                "start",
                "-l",
                os.path.join(workdir, "log"),
            ],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
    except (subprocess.CalledProcessError, OSError):
        yield None
    finally:
        subprocess.run([*as_postgres, pg_ctl, "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def postgres_server() -> Iterator[str | None]:
    """Yield an asyncpg URL to connect to for CREATE/DROP DATABASE, or None: the explicit
    FIELDSALES_TEST_DATABASE_URL (its role needs CREATEDB); else a throwaway cluster of the
    machine's PostgreSQL started for this process with durability off (_FAST_OPTIONS); else the
    local server on 127.0.0.1:5432 (FIELDSALES_TEST_PG=local asks for it first)."""
    explicit = os.environ.get("FIELDSALES_TEST_DATABASE_URL")
    if explicit:
        yield explicit
        return
    local = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres" if _port_open("127.0.0.1", 5432) else None
    if local and os.environ.get("FIELDSALES_TEST_PG") == "local":
        yield local
        return
    with _throwaway_cluster() as server_url:
        yield server_url or local


class BackgroundDropper:
    """Drops databases on its own connection and thread, off the tests' path: PostgreSQL's DROP
    DATABASE waits for a checkpoint (~0.2-2 s), which per test adds up to minutes a run."""

    def __init__(self, server_url: str) -> None:
        import queue

        self._admin = PgAdmin(server_url)
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="pg-dropper", daemon=True)
        self._thread.start()

    def drop_later(self, name: str) -> None:
        self._queue.put(name)

    def _work(self) -> None:
        while (name := self._queue.get()) is not None:
            try:
                self._admin.drop(name)
            except Exception as error:  # left behind, named after the run's prefix: report it
                print(f"could not drop test database {name}: {error}")

    def close(self) -> None:
        """Drop what is queued, then disconnect."""
        self._queue.put(None)
        self._thread.join(timeout=600)
        self._admin.close()


def database_url(server_url: str, name: str) -> str:
    """The URL of database `name` on the server of `server_url`."""
    base, _, tail = server_url.rpartition("/")
    query = tail.partition("?")[2]
    return f"{base}/{name}" + (f"?{query}" if query else "")


class PgAdmin:
    """One admin connection on its own thread and event loop, so that synchronous fixtures can
    create and drop databases without reconnecting (tests run on per-test event loops)."""

    def __init__(self, server_url: str) -> None:
        import asyncpg

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="pg-admin", daemon=True)
        self._thread.start()
        plain = server_url.replace("postgresql+asyncpg://", "postgresql://")
        self._connection = self._run(asyncpg.connect(plain, timeout=10))
        # A copy by files (PostgreSQL 15+) costs ~14 ms of server CPU here where the default,
        # WAL_LOG, writes every page of the template to the WAL (~25 ms, measured); but it
        # checkpoints first, which is cheap only without fsync: the throwaway cluster's case.
        fsync_off = self._run(self._connection.fetchval("SHOW fsync")) == "off"
        version = int(self._run(self._connection.fetchval("SHOW server_version_num")))
        self._copy_strategy = " STRATEGY FILE_COPY" if fsync_off and version >= 150000 else ""

    def _run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=120)

    def execute(self, sql: str) -> None:
        self._run(self._connection.execute(sql))

    def create(self, name: str, template: str | None = None) -> None:
        suffix = f' TEMPLATE "{template}"{self._copy_strategy}' if template else ""
        self.execute(f'CREATE DATABASE "{name}"{suffix}')
        # Test databases only: a commit need not wait for the WAL flush (nothing here survives a
        # crash anyway). Not copied by TEMPLATE, so set on every copy.
        self.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')

    def drop(self, name: str) -> None:
        for attempt in range(3):
            try:
                self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                return
            except Exception:
                if attempt == 2:
                    raise
                time.sleep(1)

    def rename_away(self, name: str, new_name: str) -> bool:
        """Rename `name` (disconnecting its sessions) so a fresh copy can take its name at once;
        False when it does not exist. Cheaper than DROP, which waits for a checkpoint."""
        for attempt in range(5):
            try:
                exists = self._run(
                    self._connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
                )
                if not exists:
                    return False
                self._run(
                    self._connection.execute(
                        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
                        " WHERE datname = $1 AND pid <> pg_backend_pid()",
                        name,
                    )
                )
                self.execute(f'ALTER DATABASE "{name}" RENAME TO "{new_name}"')
                return True
            except Exception:  # a session reconnected in between: disconnect it again
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))
        return False

    def close(self) -> None:
        try:
            self._run(self._connection.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()
