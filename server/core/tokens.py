"""Tokens as the server keeps them: SHA-256 digests, the session-bound CSRF token, and the lookup
from a presented token to the caller (what the authentication middleware needs, so it lives in core).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.core.access import Principal
from server.core.metrics import TOKEN_LOOKUPS
from server.core.token_cache import TokenCache
from server.db.models import AuthToken, User


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_for(secret_key: str, token_hash: str) -> str:
    """The CSRF token is bound to the session: HMAC(secret, session hash)."""
    return hmac.new(secret_key.encode(), token_hash.encode(), hashlib.sha256).hexdigest()


async def principal_for_token(
    sessionmaker: async_sessionmaker[AsyncSession],
    token: str,
    kind: str,
    now: datetime,
    secret_key: str,
    cache: TokenCache | None = None,
) -> Principal | None:
    """Resolve a presented token to the caller; None when unknown, expired or revoked.
    From `cache` when it may answer (see core/token_cache.py), else from the database."""
    digest = token_digest(token)
    if cache is not None and (cached := cache.get(digest, kind, now)) is not None:
        TOKEN_LOOKUPS.labels("cache").inc()
        return cached
    TOKEN_LOOKUPS.labels("database").inc()
    generation = cache.generation if cache is not None else 0
    async with sessionmaker() as session:
        found = await _lookup(session, digest, kind, now, secret_key)
    if found is None:
        return None
    principal, expires_at = found
    if cache is not None:
        cache.put(digest, kind, principal, expires_at, generation)
    return principal


async def _lookup(
    session: AsyncSession, digest: str, kind: str, now: datetime, secret_key: str
) -> tuple[Principal, datetime] | None:
    found = (
        await session.execute(
            select(User, AuthToken.expires_at)
            .join(AuthToken, AuthToken.user_id == User.id)
            .where(
                AuthToken.token_hash == digest,
                AuthToken.kind == kind,
                AuthToken.revoked_at.is_(None),
                AuthToken.expires_at > now,
                User.active.is_(True),
            )
        )
    ).one_or_none()
    if found is None:
        return None
    row, expires_at = found
    principal = Principal(
        id=row.id,
        email=row.email,
        name=row.name,
        role=row.role,
        org_unit_id=row.org_unit_id,
        timezone=row.timezone,
        locale=row.locale,
        csrf_token=csrf_for(secret_key, digest) if kind == "session" else "",
        auth=kind,
    )
    return principal, expires_at
