"""Find or start a PostgreSQL server for the test run (DESIGN: tests run on both engines).

`postgres_server()` yields a URL to connect to for CREATE/DROP DATABASE: FIELDSALES_TEST_DATABASE_URL;
else the server on 127.0.0.1:5432; else a throwaway cluster from the machine's initdb/pg_ctl run
as user postgres in a temp directory; else None (the caller skips loudly, or fails under
CI=true). The fixtures (tests/conftest.py) make their databases there, all named after one
random prefix and dropped at the end of the run; `PgAdmin` runs those statements on one kept
connection.
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


@contextmanager
def _throwaway_cluster() -> Iterator[str | None]:
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        yield None
        return
    workdir = tempfile.mkdtemp(prefix="fieldsales-pg-")
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
                f"-p {port} -k {workdir} -h 127.0.0.1",
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
    FIELDSALES_TEST_DATABASE_URL (its role needs CREATEDB), the local server's `postgres`
    database, or a throwaway cluster's."""
    explicit = os.environ.get("FIELDSALES_TEST_DATABASE_URL")
    if explicit:
        yield explicit
        return
    if _port_open("127.0.0.1", 5432):
        yield "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
        return
    with _throwaway_cluster() as server_url:
        yield server_url


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

    def _run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=120)

    def execute(self, sql: str) -> None:
        self._run(self._connection.execute(sql))

    def create(self, name: str, template: str | None = None) -> None:
        suffix = f' TEMPLATE "{template}"' if template else ""
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

    def close(self) -> None:
        try:
            self._run(self._connection.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()
