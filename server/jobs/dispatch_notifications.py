"""Deliver the notification outbox: a sweep every 5 s, plus a wake-up right after any commit
that queued notifications (in processes that run the scheduler).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import datetime
from typing import Any

import structlog
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.clock import Clock
from server.config import Settings
from server.core.services import Services
from server.jobs.registry import job
from server.services.notifications.outbox import OUTBOX_SIGNAL
from server.services.notifications.push import Dispatcher

log = structlog.get_logger("fieldsales.jobs")


@job("dispatch-notifications", every_seconds=5)
async def run(services: Services, at: datetime) -> dict[str, Any]:
    """Push due notifications to every active subscription of their user."""
    bind = services.session.bind
    # The dispatcher commits its claims and results in short transactions of its own.
    sessionmaker = async_sessionmaker(bind, expire_on_commit=False)
    stats = await Dispatcher(sessionmaker, services.settings, services.clock).run()
    return asdict(stats)


# How long shutdown waits for a dispatch run in flight before cancelling it.
SHUTDOWN_GRACE_S = 10.0


async def _dispatch_on_signal(
    wake: asyncio.Event,
    stop: asyncio.Event,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
) -> None:
    while True:
        await wake.wait()
        if stop.is_set():
            return
        wake.clear()  # commits arriving during this run wake the next one
        try:
            await Dispatcher(sessionmaker, settings, clock).run()
        except Exception:  # the 5 s sweep retries; the loop must survive
            log.exception("dispatch_on_commit_failed")


@asynccontextmanager
async def dispatch_on_commit(app: Litestar) -> AsyncIterator[None]:
    """App lifespan: dispatch as soon as a request or job commits new notifications.

    At shutdown a run in flight is let finish (up to SHUTDOWN_GRACE_S): it holds claimed rows
    and a database connection, and cancelling it mid-statement could leave the connection's
    close waiting forever (SQLAlchemy's aiosqlite terminate path), hanging the shutdown."""
    state = app.state
    if not state.settings.scheduler_enabled:
        yield
        return
    wake, stop = OUTBOX_SIGNAL.attach(), asyncio.Event()
    task = asyncio.create_task(
        _dispatch_on_signal(wake, stop, state.sessionmaker, state.settings, state.clock)
    )
    try:
        yield
    finally:
        OUTBOX_SIGNAL.detach()
        stop.set()
        wake.set()
        _done, running = await asyncio.wait({task}, timeout=SHUTDOWN_GRACE_S)
        if running:
            task.cancel()
            log.warning("dispatch_on_commit_cancelled_at_shutdown", grace_s=SHUTDOWN_GRACE_S)
