"""Passwords (argon2), session and bearer tokens, and login rate limiting."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update

from server.core.services import Service
from server.core.tokens import token_digest
from server.db.engine import keep_when_refused
from server.db.models import AuthToken, LoginAttempt, User

_hasher = PasswordHasher()
# Verifying against a dummy hash when the account does not exist keeps timing uniform.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__("too many attempts")
        self.retry_after = retry_after


@dataclass
class IssuedToken:
    token: str
    expires_at: datetime
    user: User


class AuthService(Service):
    async def authenticate(self, email: str, password: str, client_ip: str) -> User | None:
        """Check the rate limit, then the password. Returns None for any wrong credential."""
        email = email.strip().lower()
        await self._check_rate_limit(email, client_ip)
        user = await self.session.scalar(select(User).where(func.lower(User.email) == email))
        ok = verify_password(user.password_hash if user else None, password)
        if not ok or user is None or not user.active:
            self.session.add(LoginAttempt(email=email, client_ip=client_ip, at=self.clock.now()))
            await self.session.flush()
            keep_when_refused(self.session)  # the attempt counts although the answer is 401
            return None
        # A successful login clears the account's failures, not the address's.
        await self.session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
        if _hasher.check_needs_rehash(user.password_hash or ""):
            user.password_hash = hash_password(password)
        return user

    async def _check_rate_limit(self, email: str, client_ip: str) -> None:
        window = timedelta(seconds=self.settings.login_window_s)
        since = self.clock.now() - window
        row = (
            await self.session.execute(
                select(func.count(), func.min(LoginAttempt.at)).where(
                    LoginAttempt.email == email, LoginAttempt.at >= since
                )
            )
        ).one()
        ip_row = (
            await self.session.execute(
                select(func.count(), func.min(LoginAttempt.at)).where(
                    LoginAttempt.client_ip == client_ip, LoginAttempt.at >= since
                )
            )
        ).one()
        for (count, oldest), limit in (
            (row, self.settings.login_max_per_account),
            (ip_row, self.settings.login_max_per_ip),
        ):
            if count >= limit and oldest is not None:
                retry = int((oldest + window - self.clock.now()).total_seconds()) + 1
                raise RateLimited(max(retry, 1))

    async def issue(self, user: User, kind: str) -> IssuedToken:
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        lifetime = (
            timedelta(days=self.settings.session_days)
            if kind == "session"
            else timedelta(hours=self.settings.token_hours)
        )
        self.session.add(
            AuthToken(
                token_hash=token_digest(token),
                user_id=user.id,
                kind=kind,
                created_at=now,
                expires_at=now + lifetime,
            )
        )
        await self.session.flush()
        return IssuedToken(token=token, expires_at=now + lifetime, user=user)

    async def revoke(self, token: str) -> None:
        await self.session.execute(
            update(AuthToken)
            .where(
                AuthToken.token_hash == token_digest(token),
                AuthToken.revoked_at.is_(None),
            )
            .values(revoked_at=self.clock.now())
        )
