"""Tokens as the server keeps them: SHA-256 digests, the session-bound CSRF token, and the lookup
from a presented token to the caller (what the authentication middleware needs, so it lives in core).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.access import Principal
from server.db.models import AuthToken, User


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_for(secret_key: str, token_hash: str) -> str:
    """The CSRF token is bound to the session: HMAC(secret, session hash)."""
    return hmac.new(secret_key.encode(), token_hash.encode(), hashlib.sha256).hexdigest()


async def principal_for_token(
    session: AsyncSession, token: str, kind: str, now: datetime, secret_key: str
) -> Principal | None:
    """Resolve a presented token to the caller; None when unknown, expired or revoked."""
    digest = token_digest(token)
    row = (
        await session.execute(
            select(User)
            .join(AuthToken, AuthToken.user_id == User.id)
            .where(
                AuthToken.token_hash == digest,
                AuthToken.kind == kind,
                AuthToken.revoked_at.is_(None),
                AuthToken.expires_at > now,
                User.active.is_(True),
            )
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    return Principal(
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
