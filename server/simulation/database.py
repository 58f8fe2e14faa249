"""The simulation's SQLite engines: one file per planner run, optionally without aiosqlite's thread.

The product talks to SQLite through aiosqlite, which runs every call on a worker thread and
wakes the event loop when it is done: three or four thread hand-offs per statement. A simulated
quarter makes a few hundred thousand statements from a single task, so on a busy machine most
of the wall time is spent waiting for those hand-offs. The *inline* engine keeps aiosqlite and
SQLAlchemy's aiosqlite dialect exactly as they are and only replaces the worker thread's queue
with one that runs each call at once (SQLAlchemy's documented `async_creator` hook). The SQL,
the transactions and the SQLite file are the same; `--threaded-driver` uses the stock engine.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from server.config import Settings
from server.db.engine import _sqlite_pragmas, create_engine, engine_kwargs


def sqlite_settings(path: Path) -> Settings:
    """Settings for a throw-away database file; nothing read from .env or the environment files."""
    return Settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{path}",
        SECRET_KEY="simulation",
        SCHEDULER=False,
        VAPID_PRIVATE_KEY="",
        VAPID_PUBLIC_KEY="",
        _env_file=None,  # type: ignore[call-arg]
    )


class _RunNow:
    """Stands in for aiosqlite's queue to its worker thread: runs each call immediately."""

    def put_nowait(self, item: tuple[Any, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:  # handed to the awaiting caller, as the thread would
            if future is not None and not future.done():
                future.set_exception(error)
            return
        if future is not None and not future.done():
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run in the caller's thread (no worker thread)."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunNow()  # type: ignore[assignment]

    def __await__(self) -> Any:
        return self._connect().__await__()  # never starts the thread


def create_sqlite_engine(settings: Settings, inline: bool = True) -> AsyncEngine:
    """The product's engine for `settings`, or the same engine with the inline connection."""
    if not inline:
        return create_engine(settings)
    path = settings.effective_database_url.split(":///", 1)[1]
    timeout = engine_kwargs(settings)["connect_args"]["timeout"]

    async def connect() -> InlineConnection:
        # The same arguments SQLAlchemy's aiosqlite dialect passes to sqlite3.connect.
        return await InlineConnection(lambda: sqlite3.connect(path, timeout=timeout, check_same_thread=False))

    engine = create_async_engine(settings.effective_database_url, async_creator=connect)
    _sqlite_pragmas(engine)
    return engine
