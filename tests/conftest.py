"""Fixtures: every integration test body runs on SQLite and on PostgreSQL.

The schema is built once per engine by running the Alembic migrations; each test starts from
empty tables. Time is a settable clock, never sleep.
"""

from __future__ import annotations

import asyncio
import os
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.app import create_app
from server.clock import Clock
from server.config import Settings
from server.db.base import metadata
from server.db.engine import create_engine
from server.db.migrate import upgrade
from tests.pg import postgres_database

ENGINES = ("sqlite", "postgresql")
# A fixed "now" for tests: a Wednesday, well into the year, during working hours in Shanghai.
DEFAULT_NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


class MutableClock(Clock):
    """A clock tests move by hand: `clock.set(...)`, `clock.advance(hours=2)`."""

    def __init__(self, now: datetime = DEFAULT_NOW) -> None:
        self.current = now
        super().__init__(source=lambda: self.current)

    def set(self, now: datetime) -> None:
        self.current = now

    def advance(self, **delta: float) -> None:
        self.current = self.current + timedelta(**delta)


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str | None]]:
    sqlite_path = tmp_path_factory.mktemp("db") / "test.db"
    with postgres_database() as pg_url:
        if pg_url is None:
            message = "NO POSTGRESQL AVAILABLE: PostgreSQL tests are SKIPPED"
            if os.environ.get("CI", "").lower() == "true":
                pytest.exit(message + " (fatal under CI=true)", returncode=3)
            warnings.warn(message, stacklevel=1)
            print("\n" + "!" * 70 + f"\n{message}\n" + "!" * 70)
        urls = {"sqlite": f"sqlite+aiosqlite:///{sqlite_path}", "postgresql": pg_url}
        migrated: set[str] = set()
        yield urls | {"_migrated": migrated}  # type: ignore[dict-item]


@pytest.fixture(params=ENGINES)
def engine_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(engine_name: str, database_urls: dict[str, Any], tmp_path: Path) -> Settings:
    url = database_urls[engine_name]
    if url is None:
        pytest.skip("PostgreSQL unavailable")
    if engine_name not in database_urls["_migrated"]:

        async def migrate() -> None:
            engine = create_engine(Settings(DATABASE_URL=url))
            await upgrade(engine)
            await engine.dispose()

        asyncio.run(migrate())
        database_urls["_migrated"].add(engine_name)
    return Settings(
        DATABASE_URL=url,
        SECRET_KEY="test-secret-key",
        SCHEDULER=False,
        VAPID_PRIVATE_KEY="",
        VAPID_PUBLIC_KEY="",
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def clock() -> MutableClock:
    return MutableClock()


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings)
    await _empty_tables(engine)
    yield engine
    await engine.dispose()


async def _empty_tables(engine: AsyncEngine) -> None:
    tables = [t.name for t in metadata.sorted_tables]
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execute(text("TRUNCATE " + ", ".join(tables) + " CASCADE"))
        else:
            await connection.execute(text("PRAGMA foreign_keys=OFF"))
            for name in reversed(tables):
                await connection.execute(text(f"DELETE FROM {name}"))
            await connection.execute(text("PRAGMA foreign_keys=ON"))


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


@pytest.fixture
async def client(
    settings: Settings, clock: MutableClock, engine: AsyncEngine
) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(settings, clock=clock)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as test_client:
        yield test_client


@dataclass
class Demo:
    """The small seeded demo company: users by email local part, ids by name."""

    users: dict[str, UUID]
    units: dict[str, UUID]
    company_id: UUID

    def user(self, local: str) -> UUID:
        return self.users[local]


@pytest.fixture
async def demo(engine: AsyncEngine, settings: Settings, clock: MutableClock) -> Demo:
    """4 teams in 2 regions (Shanghai and Los Angeles), 8 reps, 160 customers, 3 months of history."""
    from server.db.models import OrgUnit, User
    from server.services.admin.seed import SeedOptions, seed_demo

    await seed_demo(
        engine,
        settings,
        # English for everyone: tests read English pages (the Chinese demo users: test_demo_seed.py).
        SeedOptions(reps=8, customers=160, months=3, seed=11, reps_per_team=2, chinese_in_china=False),
        clock=clock,
    )
    async with engine.connect() as connection:
        users = {
            row.email.split("@")[0]: row.id for row in await connection.execute(select(User.email, User.id))
        }
        units = {row.name: row.id for row in await connection.execute(select(OrgUnit.name, OrgUnit.id))}
        company = await connection.scalar(select(OrgUnit.id).where(OrgUnit.kind == "company"))
    return Demo(users=users, units=units, company_id=company)


async def bearer(client: AsyncTestClient[Any], local: str) -> dict[str, str]:
    """Authorization header for a demo user (`rep1`, `manager1`, `exec`, ...)."""
    response = await client.post(
        "/api/v1/auth/token", json={"email": f"{local}@demo.example", "password": "fieldsales-demo"}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def auth(client: AsyncTestClient[Any]) -> Any:
    """`headers = await auth("rep1")`, cached per user for the test."""
    cache: dict[str, dict[str, str]] = {}

    async def get(local: str) -> dict[str, str]:
        if local not in cache:
            cache[local] = await bearer(client, local)
        return cache[local]

    return get


async def login_session(client: AsyncTestClient[Any], local: str) -> str:
    """Sign in through the login form; returns the CSRF token of the new session."""
    response = await client.post(
        "/login",
        data={"email": f"{local}@demo.example", "password": "fieldsales-demo", "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    page = await client.get("/", follow_redirects=True)
    import re

    match = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    return match.group(1) if match else ""
