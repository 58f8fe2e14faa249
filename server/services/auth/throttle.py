"""Login throttling that holds under concurrency and never locks the owner out.

OWASP's Authentication and Credential Stuffing cheat sheets warn that a hard account lockout
lets anyone lock a real user out, and recommend throttling with progressive delays instead.
So attempts are counted per *account and client address* (an attacker elsewhere cannot slow the
owner's own device) plus a looser count per address alone (spraying many accounts from one
place). Each key allows `limit` attempts freely; from then on each further attempt waits a
delay that doubles (30 s, 1 min, 2 min, ... up to 15 min). A correct password clears the
account key; a quiet window (15 min) clears everything.

The count is one atomic UPDATE ... RETURNING made *before* the password is checked, in its own
short transaction: 40 concurrent guesses get 40 distinct counts, so at most `limit` of them are
evaluated, with no check-then-act race on either engine (the row lock on PostgreSQL, the write
lock on SQLite).
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta
from uuid import uuid4

from sqlalchemy import case, literal, null, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.services import Service
from server.core.upsert import insert_or_skip
from server.db.models import LoginThrottle

DELAY_STEPS = 8  # doublings before the cap


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__("too many attempts")
        self.retry_after = retry_after


def throttle_key(*parts: str) -> str:
    """Keys are digests: the table holds no email addresses or client addresses."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def delay_after(excess: int, base_s: float, max_s: float) -> float:
    """Seconds to wait before the next attempt once `excess` attempts went past the free ones."""
    return min(base_s * 2**excess, max_s)


class LoginThrottleService(Service):
    async def reserve(self, email: str, client_ip: str) -> None:
        """Count this attempt on both keys, or raise RateLimited (nothing is checked then)."""
        settings = self.settings
        await self._count(throttle_key("account", email, client_ip), settings.login_max_per_account)
        await self._count(throttle_key("address", client_ip), settings.login_max_per_ip)

    async def succeeded(self, email: str, client_ip: str) -> None:
        """The right password: the account's count on this address starts over; the address
        keeps its count minus this attempt (it only ever accumulates failures)."""
        table = LoginThrottle
        await self.session.execute(
            update(table)
            .where(table.key == throttle_key("account", email, client_ip))
            .values(attempts=0, blocked_until=None)
        )
        await self.session.execute(
            update(table)
            .where(table.key == throttle_key("address", client_ip), table.attempts > 0)
            .values(attempts=table.attempts - 1)
        )

    async def _count(self, key: str, limit: int) -> None:
        now = self.clock.now()
        window = timedelta(seconds=self.settings.login_window_s)
        bind = self.session.bind
        # Its own transaction, committed at once: the count holds even if the request fails,
        # and the row lock is held for microseconds, not for the password hash.
        async with AsyncSession(bind=bind) as session, session.begin():
            await session.execute(
                insert_or_skip(session, LoginThrottle, ["key"]).values(
                    id=uuid4(), key=key, attempts=0, last_attempt_at=now
                )
            )
            table = LoginThrottle
            stamp = table.blocked_until.type
            counted = case((table.last_attempt_at < now - window, 1), else_=table.attempts + 1)
            base, cap = self.settings.login_delay_base_s, self.settings.login_delay_max_s
            blocked = case(
                (counted < limit, null()),
                *(
                    (
                        counted == limit + step,
                        literal(now + timedelta(seconds=delay_after(step, base, cap)), stamp),
                    )
                    for step in range(DELAY_STEPS)
                ),
                else_=literal(now + timedelta(seconds=cap), stamp),
            )
            row = (
                await session.execute(
                    update(table)
                    .where(table.key == key, or_(table.blocked_until.is_(None), table.blocked_until <= now))
                    .values(attempts=counted, last_attempt_at=now, blocked_until=blocked)
                    .returning(table.attempts)
                )
            ).first()
            if row is None:
                until = await session.scalar(select(table.blocked_until).where(table.key == key))
                raise RateLimited(_seconds_until(until, now))


def _seconds_until(until: datetime | None, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds())) if until else 1
