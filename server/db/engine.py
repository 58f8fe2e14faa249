"""Engine and session configuration for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from advanced_alchemy.extensions.litestar import (
    AlembicAsyncConfig,
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
)
from advanced_alchemy.extensions.litestar._utils import get_aa_scope_state
from advanced_alchemy.extensions.litestar.plugins.init.config.asyncio import autocommit_handler_maker
from litestar.constants import HTTP_RESPONSE_START
from litestar.types import Message, Scope
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.util import await_

from server.config import ROOT, Settings
from server.db.base import metadata

MIGRATIONS_DIR = ROOT / "server" / "db" / "migrations"


def engine_kwargs(settings: Settings, command_timeout: float | None = 60) -> dict[str, Any]:
    if settings.is_sqlite:
        # One file, one writer: wait for the lock rather than fail with "database is locked".
        return {"connect_args": {"timeout": 30}}
    return {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_pool_size,
        # Checked-out connections are pinged by _bounded_pre_ping (below), not by pool_pre_ping,
        # whose ping waits as long as command_timeout (60 s) when the server stops answering.
        "pool_pre_ping": not _asyncpg(settings),
        "pool_timeout": settings.db_timeout_s,
        # asyncpg: bound connect and statement time so an outage gives a quick 503, not a hang.
        "connect_args": {
            "timeout": settings.db_timeout_s,
            "command_timeout": command_timeout,
            # JIT compiles the sweeps' big aggregates afresh on every run: at 10,000 reps it cost
            # 3.3 s of a 13.8 s visits aggregate (docs/scale.md). Off for the app's sessions.
            "server_settings": {"application_name": "fieldsales", "jit": "off"},
        },
    }


def _sqlite_pragmas(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def _asyncpg(settings: Settings) -> bool:
    return settings.effective_database_url.startswith("postgresql+asyncpg")


PING_TIMEOUT_S = 1.0  # a healthy server answers in milliseconds; a false alarm costs one reconnect


def _bounded_pre_ping(engine: AsyncEngine, timeout_s: float) -> None:
    """pool_pre_ping with a deadline. When PostgreSQL stops answering without closing the socket
    (network partition, hung host, frozen VM) a plain pre-ping waits for command_timeout, so every
    request hangs for a minute. Here a ping slower than `timeout_s` discards the connection and
    fails the checkout with TimeoutError (a 503, server/core/errors.py); a ping that fails at once (the
    server restarted and closed the socket) makes the pool reconnect, as pool_pre_ping does."""

    @event.listens_for(engine.sync_engine, "checkout")
    def _ping(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        try:
            await_(asyncio.wait_for(_ping_once(dbapi_connection.driver_connection), timeout_s))
        except TimeoutError:
            raise  # no answer: the pool discards this connection; the request gets a 503 now
        except Exception as exc:  # a dead connection (server restarted): reconnect transparently
            raise DisconnectionError(f"database ping failed: {type(exc).__name__}") from exc


async def _ping_once(connection: Any) -> None:
    """`connection` is the asyncpg one. One round trip: `execute` without arguments uses the
    simple query protocol, so no prepared statement is involved (safe behind PgBouncer in
    transaction mode, which is why SQLAlchemy's own ping wraps a prepared `;` in BEGIN/ROLLBACK,
    three round trips on every checkout)."""
    await connection.execute("SELECT 1")


def create_engine(settings: Settings, command_timeout: float | None = 60) -> AsyncEngine:
    """The engine; `command_timeout` bounds each PostgreSQL statement (None: unbounded, for batch
    commands such as seed-demo at 10,000 reps, whose single statements run for minutes)."""
    url = settings.effective_database_url
    if settings.is_sqlite and ":///" in url:
        path = url.split(":///", 1)[1]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, **engine_kwargs(settings, command_timeout))
    if settings.is_sqlite:
        _sqlite_pragmas(engine)
    elif _asyncpg(settings):
        _bounded_pre_ping(engine, min(PING_TIMEOUT_S, settings.db_timeout_s))
    return engine


KEEP_WHEN_REFUSED = "keep_when_refused"


def keep_when_refused(session: AsyncSession) -> None:
    """Commit this request's writes even though it is answered with an error (a failed login
    attempt must count towards the rate limit although the answer is 401)."""
    session.info[KEEP_WHEN_REFUSED] = True


def _commit_before_send(session_scope_key: str) -> Callable[[Message, Scope], Awaitable[None]]:
    """advanced-alchemy's autocommit (commit on 2xx/3xx, else roll back), plus keep_when_refused."""
    autocommit = autocommit_handler_maker(commit_on_redirect=True, session_scope_key=session_scope_key)

    async def handler(message: Message, scope: Scope) -> None:
        session = get_aa_scope_state(scope, session_scope_key)
        if (
            isinstance(session, AsyncSession)
            and message["type"] == HTTP_RESPONSE_START
            and session.info.pop(KEEP_WHEN_REFUSED, False)
        ):
            await session.commit()  # the autocommit's rollback that follows then has nothing to undo
        await autocommit(message, scope)

    return handler


def sqlalchemy_config(settings: Settings, engine: AsyncEngine | None = None) -> SQLAlchemyAsyncConfig:
    """advanced-alchemy config: one session per request, committed by the plugin on 2xx/3xx."""
    config = SQLAlchemyAsyncConfig(
        engine_instance=engine or create_engine(settings),
        session_config=AsyncSessionConfig(expire_on_commit=False),
        before_send_handler="autocommit_include_redirects",
        metadata=metadata,
        create_all=False,
        alembic_config=AlembicAsyncConfig(
            script_location=str(MIGRATIONS_DIR),
            version_table_name="alembic_version",
        ),
        engine_config=EngineConfig(),
    )
    # The scope key is the config's own (each config in a process gets a distinct one).
    config.before_send_handler = _commit_before_send(config.session_scope_key)
    return config
