"""Daily housekeeping: keep the bookkeeping tables from growing without bound."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import delete
from sqlalchemy.engine import CursorResult

from server.core.services import Services
from server.db.models import AuthToken, JobRun, LoginAttempt
from server.jobs.registry import job

JOB_RUNS_KEPT = timedelta(days=14)  # long enough to investigate a fortnight of job history
LOGIN_ATTEMPTS_KEPT = timedelta(days=1)  # far beyond any rate-limit window


@job("housekeeping", cron={"hour": 3, "minute": 17}, slot_seconds=86400)
async def housekeeping(services: Services, at: datetime) -> dict[str, Any]:
    """Delete old job runs, stale login attempts and expired or revoked tokens."""
    session = services.session
    runs = cast(
        CursorResult,
        await session.execute(
            delete(JobRun).where(JobRun.started_at < at - JOB_RUNS_KEPT, JobRun.status != "running")
        ),
    )
    attempts = cast(
        CursorResult,
        await session.execute(delete(LoginAttempt).where(LoginAttempt.at < at - LOGIN_ATTEMPTS_KEPT)),
    )
    tokens = cast(CursorResult, await session.execute(delete(AuthToken).where(AuthToken.expires_at < at)))
    return {"job_runs": runs.rowcount, "login_attempts": attempts.rowcount, "auth_tokens": tokens.rowcount}
