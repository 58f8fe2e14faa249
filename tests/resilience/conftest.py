"""Resilience tests (issue #12): real app processes, kill -9, a database outage, fuzzing, memory.

Fixtures:
- `pg_admin`: admin URL of a PostgreSQL server for this run (tests/pg.py: a throwaway cluster
  with durability off, else the machine's 127.0.0.1:5432). Never stopped by these tests: the
  outage test starts its own cluster (`ThrowawayCluster`).
- `pg_template`: a database seeded once per session (`seed-demo`: 8 reps, 120 customers,
  3 months, as of SEED_AT); `pg_db` clones it per test (CREATE DATABASE ... TEMPLATE) and drops it
  in the background.
- `sqlite_seeded`: the same company in a SQLite file, seeded once; `sqlite_db` copies it per test.
"""

from __future__ import annotations

import os
import shutil
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg import BackgroundDropper, postgres_server
from tests.resilience.support import (
    create_database,
    drop_database,
    seed_demo,
)

HERE = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    # pyproject's --strict-markers: register ours here too, so the package runs on its own.
    config.addinivalue_line("markers", "resilience: real processes, kill -9, outages, fuzzing, memory")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the xdist_group marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # One pytest-xdist worker runs the package (GROUPED_PACKAGES in tests/conftest.py; the
    # xdist_group mark says the same): the seeded templates are session-scoped, so they are
    # seeded once, not once per worker.
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.resilience)
            item.add_marker(pytest.mark.xdist_group("resilience"))


def _no_postgres(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (fatal under CI=true)")
    warnings.warn(message, stacklevel=2)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[str]:
    """The same server choice as the rest of the suite (tests/pg.py): a throwaway cluster with
    durability off, else the machine's server. The outage test stops a cluster of its own."""
    with postgres_server() as url:
        if url is None:
            _no_postgres("NO POSTGRESQL AVAILABLE: resilience tests on PostgreSQL are SKIPPED")
        assert url is not None
        yield url


@pytest.fixture(scope="session")
def pg_template(pg_admin: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Name of the seeded template database."""
    name = f"fs_res_tpl_{uuid.uuid4().hex[:10]}"
    url = create_database(pg_admin, name)
    try:
        seed_demo(url, tmp_path_factory.mktemp("seed-pg"))
        yield name
    finally:
        drop_database(pg_admin, name)


@pytest.fixture(scope="session")
def pg_dropper(pg_admin: str) -> Iterator[BackgroundDropper]:
    """Drops the per-test copies off the tests' path (DROP DATABASE waits for a checkpoint)."""
    dropper = BackgroundDropper(pg_admin)
    try:
        yield dropper
    finally:
        dropper.close()


@pytest.fixture
def pg_db(pg_admin: str, pg_template: str, pg_dropper: BackgroundDropper) -> Iterator[str]:
    """SQLAlchemy URL of a fresh copy of the seeded company."""
    name = f"fs_res_{uuid.uuid4().hex[:10]}"
    url = create_database(pg_admin, name, template=pg_template)
    try:
        yield url
    finally:
        pg_dropper.drop_later(name)


@pytest.fixture(scope="session")
def sqlite_seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("seed-sqlite")
    path = workdir / "seeded.db"
    seed_demo(f"sqlite+aiosqlite:///{path}", workdir)
    return path


@pytest.fixture
def sqlite_db(sqlite_seeded: Path, tmp_path: Path) -> str:
    """SQLAlchemy URL of a private copy of the seeded SQLite file."""
    target = tmp_path / "fieldsales.db"
    for suffix in ("", "-wal", "-shm"):
        source = Path(str(sqlite_seeded) + suffix)
        if source.exists():
            shutil.copy(source, str(target) + suffix)
    return f"sqlite+aiosqlite:///{target}"
