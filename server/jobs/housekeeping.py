"""Daily housekeeping: keep the bookkeeping tables from growing without bound."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import delete, or_
from sqlalchemy.engine import CursorResult

from server.core.services import Services
from server.db.models import AuthToken, JobRun, LoginAttempt, LoginThrottle
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
    # A throttle row past its window and its delay counts nothing any more.
    throttles = cast(
        CursorResult,
        await session.execute(
            delete(LoginThrottle).where(
                LoginThrottle.last_attempt_at < at - LOGIN_ATTEMPTS_KEPT,
                or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until < at),
            )
        ),
    )
    return {
        "job_runs": runs.rowcount,
        "login_attempts": attempts.rowcount,
        "auth_tokens": tokens.rowcount,
        "login_throttles": throttles.rowcount,
    }
