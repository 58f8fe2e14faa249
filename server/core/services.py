"""The service container shared by routes, jobs and the CLI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.clock import Clock, system_clock
from server.config import Settings

T = TypeVar("T", bound="Service")


class Service:
    """Base for area services: a session, the clock and the settings. Flushes, never commits."""

    def __init__(self, ctx: Services) -> None:
        self.ctx = ctx
        self.session: AsyncSession = ctx.session
        self.clock: Clock = ctx.clock
        self.settings: Settings = ctx.settings


@dataclass
class Services:
    """One unit of work: every service built from it shares the session (one transaction)."""

    session: AsyncSession
    settings: Settings
    clock: Clock = system_clock
    _cache: dict[type, Any] = field(default_factory=dict)

    def get(self, cls: type[T]) -> T:
        if cls not in self._cache:
            self._cache[cls] = cls(self)
        return self._cache[cls]


@asynccontextmanager
async def provide_services(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock | None = None,
) -> AsyncIterator[Services]:
    """Open a session, yield services, commit on success and roll back on error (jobs, CLI)."""
    async with sessionmaker() as session:
        services = Services(session=session, settings=settings, clock=clock or system_clock)
        try:
            yield services
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
