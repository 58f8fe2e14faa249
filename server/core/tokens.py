"""Tokens as the server keeps them: SHA-256 digests, the session-bound CSRF token, and the lookup
from a presented token to the caller (what the authentication middleware needs, so it lives in core).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
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


def _lookup_statement() -> Any:
    users, tokens = User.__table__.c, AuthToken.__table__.c
    return (
        select(
            users.id,
            users.email,
            users.name,
            users.role,
            users.org_unit_id,
            users.timezone,
            users.locale,
            tokens.expires_at,
        )
        .join_from(AuthToken.__table__, User.__table__, tokens.user_id == users.id)
        .where(
            tokens.token_hash == bindparam("digest", type_=tokens.token_hash.type),
            tokens.kind == bindparam("kind", type_=tokens.kind.type),
            tokens.revoked_at.is_(None),
            tokens.expires_at > bindparam("now", type_=tokens.expires_at.type),
            users.active.is_(True),
        )
    )


# Built once, plain columns on the session's connection: on SQLite (no token cache) every signed-in
# request runs it, and building the statement and loading a User entity cost more than the query.
_LOOKUP = _lookup_statement()


async def _lookup(
    session: AsyncSession, digest: str, kind: str, now: datetime, secret_key: str
) -> tuple[Principal, datetime] | None:
    connection = await session.connection()
    row = (await connection.execute(_LOOKUP, {"digest": digest, "kind": kind, "now": now})).first()
    if row is None:
        return None
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
        token_digest=digest,
    )
    return principal, row.expires_at
