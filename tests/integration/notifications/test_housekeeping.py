"""Housekeeping deletes only what is old: recent job runs, attempts and live tokens stay."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings
from server.db.models import AuthToken, JobRun, LoginAttempt, LoginThrottle
from server.jobs.registry import run_job
from tests.conftest import Demo, MutableClock


async def test_housekeeping_prunes_only_old_rows(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, clock: MutableClock, demo: Demo
) -> None:
    now = clock.now()
    async with sessionmaker() as session:
        session.add_all(
            [
                JobRun(
                    job="x",
                    slot="old",
                    claimed_by="t",
                    started_at=now - timedelta(days=30),
                    status="ok",
                    result={},
                ),
                JobRun(
                    job="x",
                    slot="new",
                    claimed_by="t",
                    started_at=now - timedelta(days=1),
                    status="ok",
                    result={},
                ),
                LoginAttempt(email="a@b.c", client_ip="1.2.3.4", at=now - timedelta(days=3)),
                LoginAttempt(email="a@b.c", client_ip="1.2.3.4", at=now - timedelta(minutes=3)),
                LoginThrottle(key="old", attempts=9, last_attempt_at=now - timedelta(days=2)),
                LoginThrottle(key="recent", attempts=9, last_attempt_at=now - timedelta(minutes=5)),
                AuthToken(
                    token_hash="a" * 64,
                    user_id=demo.user("rep1"),
                    kind="session",
                    created_at=now - timedelta(days=20),
                    expires_at=now - timedelta(days=6),
                ),
                AuthToken(
                    token_hash="b" * 64,
                    user_id=demo.user("rep1"),
                    kind="session",
                    created_at=now,
                    expires_at=now + timedelta(days=6),
                ),
            ]
        )
        await session.commit()
    result = await run_job("housekeeping", sessionmaker, settings, now)
    assert result is not None and result["job_runs"] == 1 and result["login_attempts"] == 1
    assert result["auth_tokens"] == 1 and result["login_throttles"] == 1
    async with sessionmaker() as session:
        slots = set((await session.scalars(select(JobRun.slot).where(JobRun.job == "x"))).all())
        assert slots == {"new"}
        assert await session.scalar(select(func.count()).select_from(LoginAttempt)) == 1
        assert await session.scalar(select(func.count()).select_from(AuthToken)) == 1
