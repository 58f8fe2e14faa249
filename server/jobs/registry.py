"""Job registry and the job_runs claim that makes a slot run once across processes.

Every job is a sweep over due work, idempotent per entity; the claim stops two processes from
doing the same slot at the same time, and a missed slot is caught up by the next one.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import socket
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import structlog
from sqlalchemy import update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.clock import Clock
from server.config import Settings
from server.core.services import Services, provide_services
from server.core.upsert import insert_or_skip
from server.db.models import JobRun

log = structlog.get_logger("fieldsales.jobs")

JobFunc = Callable[[Services, datetime], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: JobFunc
    every_seconds: int | None  # interval trigger
    cron: dict[str, Any] | None  # cron trigger kwargs (UTC)
    slot_seconds: int  # width of the claimable slot
    description: str


JOBS: dict[str, JobSpec] = {}


def job(
    name: str,
    *,
    every_seconds: int | None = None,
    cron: dict[str, Any] | None = None,
    slot_seconds: int | None = None,
    description: str = "",
) -> Callable[[JobFunc], JobFunc]:
    """Register a job: `@job("plan-day", every_seconds=900)`."""

    def register(func: JobFunc) -> JobFunc:
        JOBS[name] = JobSpec(
            name=name,
            func=func,
            every_seconds=every_seconds,
            cron=cron,
            slot_seconds=slot_seconds or every_seconds or 86400,
            description=description or (func.__doc__ or "").strip().split("\n")[0],
        )
        return func

    return register


def discover() -> dict[str, JobSpec]:
    import server.jobs as package

    for module_info in pkgutil.iter_modules(package.__path__):
        if module_info.name not in ("registry", "scheduler"):
            importlib.import_module(f"server.jobs.{module_info.name}")
    return JOBS


def slot_for(spec: JobSpec, at: datetime) -> str:
    start = int(at.timestamp()) // spec.slot_seconds * spec.slot_seconds
    return datetime.fromtimestamp(start, tz=at.tzinfo).strftime("%Y-%m-%dT%H:%M:%SZ")


def instance_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def claim(session: AsyncSession, job_name: str, slot: str, at: datetime) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING: exactly one process wins a (job, slot)."""
    values = {
        "job": job_name,
        "slot": slot,
        "claimed_by": instance_id(),
        "started_at": at,
        "status": "running",
        "result": {},
    }
    stmt = insert_or_skip(session, JobRun, ["job", "slot"]).values(**values)
    result = cast(CursorResult[Any], await session.execute(stmt))
    await session.commit()
    return bool(result.rowcount)


async def run_job(
    name: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    at: datetime,
    *,
    force_slot: str | None = None,
) -> dict[str, Any] | None:
    """Claim the slot, run the job in one transaction, record the outcome. None if not claimed."""
    spec = discover()[name]
    slot = force_slot or slot_for(spec, at)
    async with sessionmaker() as session:
        if not await claim(session, name, slot, at):
            log.info("job_slot_taken", job=name, slot=slot)
            return None
    started = time.perf_counter()
    try:
        async with provide_services(sessionmaker, settings, Clock(fixed=at)) as services:
            result = await spec.func(services, at) or {}
        status, error = "ok", None
    except Exception:
        status, error, result = "failed", traceback.format_exc(limit=5), {}
        log.exception("job_failed", job=name, slot=slot)
    elapsed = time.perf_counter() - started
    async with sessionmaker() as session:
        await session.execute(
            update(JobRun)
            .where(JobRun.job == name, JobRun.slot == slot)
            .values(
                status=status,
                finished_at=Clock(fixed=at).now(),
                error=error,
                result={**_jsonable(result), "duration_s": round(elapsed, 3)},
            )
        )
        await session.commit()
    from server.core import metrics

    metrics.record_job(name, status, elapsed)
    log.info(
        "job_finished",
        job=name,
        slot=slot,
        status=status,
        duration_s=round(elapsed, 3),
        **_jsonable(result),
    )
    if status == "failed":
        raise RuntimeError(f"job {name} failed: {error}")
    return result


def _jsonable(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if isinstance(v, (int, float, str, bool, type(None)))}
