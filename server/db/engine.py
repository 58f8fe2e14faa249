"""Engine and session configuration for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

from typing import Any

from advanced_alchemy.extensions.litestar import (
    AlembicAsyncConfig,
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
)
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from server.config import ROOT, Settings
from server.db.base import metadata

MIGRATIONS_DIR = ROOT / "server" / "db" / "migrations"


def engine_kwargs(settings: Settings) -> dict[str, Any]:
    if settings.is_sqlite:
        # One file, one writer: wait for the lock rather than fail with "database is locked".
        return {"connect_args": {"timeout": 30}}
    return {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_pool_size,
        "pool_pre_ping": True,
        "pool_timeout": settings.db_timeout_s,
        # asyncpg: bound connect and statement time so an outage gives a quick 503, not a hang.
        "connect_args": {
            "timeout": settings.db_timeout_s,
            "command_timeout": 60,
            "server_settings": {"application_name": "fieldsales"},
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


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.effective_database_url
    if settings.is_sqlite and ":///" in url:
        path = url.split(":///", 1)[1]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, **engine_kwargs(settings))
    if settings.is_sqlite:
        _sqlite_pragmas(engine)
    return engine


def sqlalchemy_config(settings: Settings, engine: AsyncEngine | None = None) -> SQLAlchemyAsyncConfig:
    """advanced-alchemy config: one session per request, committed by the plugin on 2xx/3xx."""
    return SQLAlchemyAsyncConfig(
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
