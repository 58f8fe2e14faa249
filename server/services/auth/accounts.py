"""Passwords (argon2), session and bearer tokens, and login rate limiting."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update

from server.core.services import Service
from server.core.tokens import token_digest
from server.db.engine import keep_when_refused
from server.db.models import AuthToken, LoginAttempt, User
from server.services.auth.throttle import LoginThrottleService, RateLimited

__all__ = ["MAX_EMAIL", "AuthService", "RateLimited", "hash_password"]

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verifying against a dummy hash when the account does not exist keeps timing uniform. Made
    on first need, not at import: one argon2 hash is ~0.1 s of every process that imports this
    module (every server, worker and CLI start), most of which never sign anyone in."""
    return _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


MAX_EMAIL = 320


@dataclass
class IssuedToken:
    token: str
    expires_at: datetime
    user: User


class AuthService(Service):
    async def authenticate(self, email: str, password: str, client_ip: str) -> User | None:
        """Count the attempt (atomically, before anything is checked), then the password.

        Returns None for any wrong credential; raises RateLimited while the caller must wait.
        """
        email = email.strip().lower()
        if len(email) > MAX_EMAIL or "\x00" in email or "\x00" in password:
            return None  # no account can match; not worth a throttle row
        throttle = LoginThrottleService(self.ctx)
        await throttle.reserve(email, client_ip)
        user = await self.session.scalar(select(User).where(func.lower(User.email) == email))
        ok = verify_password(user.password_hash if user else None, password)
        if not ok or user is None or not user.active:
            # Kept for the security log (who tried which account from where); the throttle
            # itself already counted this attempt.
            self.session.add(LoginAttempt(email=email, client_ip=client_ip, at=self.clock.now()))
            await self.session.flush()
            keep_when_refused(self.session)  # the attempt counts although the answer is 401
            return None
        await throttle.succeeded(email, client_ip)
        if _hasher.check_needs_rehash(user.password_hash or ""):
            user.password_hash = hash_password(password)
        return user

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
