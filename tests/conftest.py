"""Fixtures: every integration test body runs on SQLite and on PostgreSQL.

The schema is built once per engine by running the Alembic migrations, and the demo company is
seeded once per engine; each test gets a fresh copy of one of the two (`DatabaseCopies`). Tokens
are minted, not signed in for (`mint_token`). Time is a settable clock, never sleep.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sqlite3
import warnings
import weakref
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.app import create_app
from server.clock import Clock
from server.config import Settings
from server.core.services import provide_services
from server.db.base import metadata
from server.db.engine import create_engine
from server.db.migrate import upgrade
from tests.pg import BackgroundDropper, PgAdmin, database_url, postgres_server

ENGINES = ("sqlite", "postgresql")
# A fixed "now" for tests: a Wednesday, well into the year, during working hours in Shanghai.
DEFAULT_NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


# pytest-xdist (`make test`: -n 2 --dist loadgroup). Every worker is a session of its own: its own
# template databases (random prefix), SQLite files (its tmp_path_factory), servers and ports.
# Each package below runs on one worker: the browser package (one server, one Chromium) and the
# resilience package (its seeds are session-scoped). A third worker on the two cores was measured
# slower, and it starved the outage test's timing (too few requests in its frozen window).
GROUPED_PACKAGES = ("tests/e2e/", "tests/resilience/")


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadgroup` with each package of GROUPED_PACKAGES on one worker (their servers, seeds
    and browser are package- or session-scoped) and every other test dealt out one at a time.

    xdist's own loadgroup reads `xdist_group` marks by renaming node ids, which pytest 9 no longer
    lets a plugin do, so the groups are decided here from the node id's path (a `@group` suffix
    still counts, should xdist's renaming work again)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class PackageGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.rfind("@") > nodeid.rfind("]"):
                return nodeid.split("@")[-1]
            return next((p for p in GROUPED_PACKAGES if nodeid.startswith(p)), nodeid)

    return PackageGroups(config, log)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `heavy` (several seconds of CPU each) come first. xdist deals the ungrouped
    tests out in this order, so the run ends on short tests, not on one worker finishing a long
    one while the others have nothing left to do."""
    items.sort(key=lambda item: item.get_closest_marker("heavy") is None)


class MutableClock(Clock):
    """A clock tests move by hand: `clock.set(...)`, `clock.advance(hours=2)`."""

    def __init__(self, now: datetime = DEFAULT_NOW) -> None:
        self.current = now
        super().__init__(source=lambda: self.current)

    def set(self, now: datetime) -> None:
        self.current = now

    def advance(self, **delta: float) -> None:
        self.current = self.current + timedelta(**delta)


class DatabaseCopies:
    """One working database per engine, reset per test from a template built once per run.

    Templates: "empty" (the migrated schema) and "demo" (the schema plus the demo company seeded
    as of DEFAULT_NOW), each built on first use. `reset(engine, kind)` makes the working database
    a fresh copy: PostgreSQL `CREATE DATABASE ... TEMPLATE` (cheaper here than TRUNCATE of every
    table, measured), SQLite a file copy. The working URL stays fixed, so the app built for it is
    reused across tests (`_app_for`), with the test's clock in its state.
    """

    def __init__(self, workdir: Path, pg_server: str | None) -> None:
        self.workdir = workdir
        self.pg = PgAdmin(pg_server) if pg_server else None
        self.dropper = BackgroundDropper(pg_server) if pg_server else None
        self.retired = 0
        self.prefix = f"fieldsales_test_{uuid4().hex[:10]}"
        self.urls: dict[str, str | None] = {
            "sqlite": f"sqlite+aiosqlite:///{workdir / 'test.db'}",
            "postgresql": database_url(pg_server, self.prefix) if pg_server else None,
        }
        self.templates: dict[tuple[str, str], str] = {}

    def reset(self, engine_name: str, kind: str) -> str:
        url = self.urls[engine_name]
        assert url is not None
        template = self._template(engine_name, kind)
        if engine_name == "postgresql":
            assert self.pg is not None and self.dropper is not None
            # The used copy is renamed away and dropped in the background (DROP waits for a
            # checkpoint); the fresh copy takes the fixed working name at once.
            trash = f"{self.prefix}_old{self.retired}"
            if self.pg.rename_away(self.prefix, trash):
                self.retired += 1
                self.dropper.drop_later(trash)
            self.pg.create(self.prefix, template=template)
        else:
            _copy_sqlite(Path(template), self.workdir / "test.db")
        return url

    def _template(self, engine_name: str, kind: str) -> str:
        key = (engine_name, kind)
        if key not in self.templates:
            if engine_name == "postgresql":
                assert self.pg is not None
                name = f"{self.prefix}_{kind}"
                self.pg.create(name)
                url = database_url(self.urls["postgresql"] or "", name)
                asyncio.run(_build_template(url, kind))
                self.templates[key] = name
            else:
                path = self.workdir / f"template_{kind}.db"
                asyncio.run(_build_template(f"sqlite+aiosqlite:///{path}", kind))
                with sqlite3.connect(path) as connection:  # fold the WAL into the file to copy
                    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self.templates[key] = str(path)
        return self.templates[key]

    def close(self) -> None:
        if self.pg is None:
            return
        assert self.dropper is not None
        self.dropper.close()
        try:
            for (engine_name, _kind), name in self.templates.items():
                if engine_name == "postgresql":
                    self.pg.drop(name)
            self.pg.drop(self.prefix)
        finally:
            self.pg.close()


def _copy_sqlite(template: Path, target: Path) -> None:
    """Copy beside the target, then rename over it: a connection left open on the old file keeps
    the old inode instead of reading a half-written one."""
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    partial = target.with_suffix(".partial")
    shutil.copyfile(template, partial)
    os.replace(partial, target)


def _test_settings(url: str) -> Settings:
    return Settings(
        DATABASE_URL=url,
        SECRET_KEY="test-secret-key",
        SCHEDULER=False,
        VAPID_PRIVATE_KEY="",
        VAPID_PUBLIC_KEY="",
        _env_file=None,  # type: ignore[call-arg]
    )


async def _build_template(url: str, kind: str) -> None:
    settings = _test_settings(url)
    engine = create_engine(settings)
    try:
        await upgrade(engine)
        if kind == "demo":
            await _seed(engine, settings, MutableClock())
    finally:
        await engine.dispose()


async def _seed(engine: AsyncEngine, settings: Settings, clock: Clock) -> None:
    """4 teams in 2 regions (Shanghai and Los Angeles), 8 reps, 160 customers, 3 months of history."""
    from server.services.admin.seed import SeedOptions, seed_demo

    # English for everyone: tests read English pages (the Chinese demo users: test_demo_seed.py).
    options = SeedOptions(reps=8, customers=160, months=3, seed=11, reps_per_team=2, chinese_in_china=False)
    await seed_demo(engine, settings, options, clock=clock)


@pytest.fixture(scope="session")
def database_copies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseCopies]:
    with postgres_server() as pg_server:
        if pg_server is None:
            message = "NO POSTGRESQL AVAILABLE: PostgreSQL tests are SKIPPED"
            if os.environ.get("CI", "").lower() == "true":
                pytest.exit(message + " (fatal under CI=true)", returncode=3)
            warnings.warn(message, stacklevel=1)
            print("\n" + "!" * 70 + f"\n{message}\n" + "!" * 70)
        databases = DatabaseCopies(tmp_path_factory.mktemp("db"), pg_server)
        try:
            yield databases
        finally:
            databases.close()


@pytest.fixture(scope="session")
def database_urls(database_copies: DatabaseCopies) -> dict[str, str | None]:
    """Engine name -> URL of the database the tests of that engine use (None: unavailable)."""
    return database_copies.urls


@pytest.fixture(params=ENGINES)
def engine_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(engine_name: str, database_copies: DatabaseCopies, request: pytest.FixtureRequest) -> Settings:
    """Settings on a fresh copy of the migrated schema, or of the seeded demo company when the
    test uses `demo` (decided here, before any engine opens the database)."""
    if database_copies.urls[engine_name] is None:
        pytest.skip("PostgreSQL unavailable")
    kind = "demo" if "demo" in request.fixturenames else "empty"
    return _test_settings(database_copies.reset(engine_name, kind))


@pytest.fixture
def clock() -> MutableClock:
    return MutableClock()


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings)
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
            # Deleting orders and checkins moved the trigger-kept rollup below zero: empty it last.
            await connection.execute(text("DELETE FROM rep_day_actuals"))
            await connection.execute(text("PRAGMA foreign_keys=ON"))


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


_APPS: dict[str, Litestar] = {}
_TEST_ENGINES: weakref.WeakKeyDictionary[AsyncTestClient[Any], AsyncEngine] = weakref.WeakKeyDictionary()


def _app_for(settings: Settings, clock: Clock) -> Litestar:
    """The app for these settings, built once per run (building one costs ~0.4 s of route
    registration and OpenAPI generation). Each test still runs its own startup and shutdown (the
    engine is disposed at shutdown; the database under it is a fresh copy), and the app reads the
    clock from its state, where the test's clock goes."""
    key = repr(sorted(settings.model_dump().items()))
    app = _APPS.get(key)
    if app is None:
        app = _APPS[key] = create_app(settings, clock=clock)
    app.state.clock = clock
    app.state.settings = settings
    return app


@pytest.fixture
async def client(
    settings: Settings, clock: MutableClock, engine: AsyncEngine
) -> AsyncIterator[AsyncTestClient[Any]]:
    app = _app_for(settings, clock)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as test_client:
        # The app runs on the client's portal thread and event loop: minted tokens go through the
        # test's own engine, never the app's pool.
        _TEST_ENGINES[test_client] = engine
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
    """4 teams in 2 regions (Shanghai and Los Angeles), 8 reps, 160 customers, 3 months of history,
    seeded as of the clock's time: the database is already a copy of the company seeded as of
    DEFAULT_NOW (see `settings`); a test that moved the clock first gets it seeded afresh."""
    from server.db.models import OrgUnit, User

    if clock.now() != DEFAULT_NOW:
        await _empty_tables(engine)
        await _seed(engine, settings, clock)
    async with engine.connect() as connection:
        users = {
            row.email.split("@")[0]: row.id for row in await connection.execute(select(User.email, User.id))
        }
        units = {row.name: row.id for row in await connection.execute(select(OrgUnit.name, OrgUnit.id))}
        company = await connection.scalar(select(OrgUnit.id).where(OrgUnit.kind == "company"))
    assert company is not None
    return Demo(users=users, units=units, company_id=company)


def demo_email(login: str) -> str:
    """A demo login (`rep1`) as its e-mail; a full e-mail stays as it is."""
    return login if "@" in login else f"{login}@demo.example"


async def issue_token(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock, email: str, kind: str
) -> Any:
    """AuthService.issue for an active user: the call that signing in ends with, without the argon2
    password check. Returns the IssuedToken (token and expiry)."""
    from server.db.models import User
    from server.services.auth.accounts import AuthService

    async with provide_services(sessionmaker, settings, clock) as services:
        user = await services.session.scalar(select(User).where(User.email == email))
        assert user is not None and user.active, f"no active user {email!r}"
        issued = await services.get(AuthService).issue(user, kind)
    return issued


async def mint_token(client: AsyncTestClient[Any], local: str, kind: str) -> str:
    """Issue a bearer or session token for a demo user (`rep1`; a full email for other users)
    through `issue_token` (tests/integration/auth and system/test_foundation sign in through the
    password)."""
    state = client.app.state
    engine = _TEST_ENGINES.get(client)
    if engine is None:  # a second client a test opened on the fixture's app (another browser)
        same_app = [e for c, e in _TEST_ENGINES.items() if c.app is client.app]
        # ...or on an app of its own (a second process): that app's engine, same database.
        engine = same_app[-1] if same_app else state.engine
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    issued = await issue_token(sessionmaker, state.settings, state.clock, demo_email(local), kind)
    return str(issued.token)


async def bearer(client: AsyncTestClient[Any], local: str) -> dict[str, str]:
    """Authorization header for a demo user (`rep1`, `manager1`, `exec`, ...)."""
    return {"Authorization": f"Bearer {await mint_token(client, local, 'bearer')}"}


@pytest.fixture
def auth(client: AsyncTestClient[Any]) -> Any:
    """`headers = await auth("rep1")`, cached per user for the test."""
    cache: dict[str, dict[str, str]] = {}

    async def get(local: str) -> dict[str, str]:
        if local not in cache:
            cache[local] = await bearer(client, local)
        return cache[local]

    return get


async def login_form_token(client: AsyncTestClient[Any]) -> str:
    """Open the sign-in page (it sets the login nonce cookie); returns the form's CSRF token."""
    page = await client.get("/login")
    match = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert match, "the sign-in form carries a CSRF token"
    return match.group(1)


async def login_session(client: AsyncTestClient[Any], local: str) -> str:
    """Sign a demo user in with a session cookie; returns the CSRF token of the new session."""
    from server.core.security import SESSION_COOKIE
    from server.core.tokens import csrf_for, token_digest

    token = await mint_token(client, local, "session")
    client.cookies.set(SESSION_COOKIE, token, domain=client.base_url.host, path="/")
    return csrf_for(client.app.state.settings.effective_secret_key, token_digest(token))


async def login_through_form(client: AsyncTestClient[Any], local: str) -> str:
    """Sign in through the login form and its argon2 check; returns the CSRF token the next page
    carries."""
    token = await login_form_token(client)
    response = await client.post(
        "/login",
        data={
            "email": f"{local}@demo.example",
            "password": "fieldsales-demo",
            "next": "/",
            "_csrf_token": token,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    page = await client.get("/", follow_redirects=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    return match.group(1) if match else ""
