"""Users, login tokens (sessions and bearer tokens) and login attempts."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import AuditedBase, Base

ROLES = ("rep", "manager", "executive", "admin")


class User(AuditedBase):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # rep | manager | executive | admin
    org_unit_id: Mapped[UUID | None] = mapped_column(ForeignKey("org_units.id"))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    start_lat: Mapped[float | None]
    start_lng: Mapped[float | None]
    daily_capacity: Mapped[int] = mapped_column(default=8)
    locale: Mapped[str | None] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Off: no push and no e-mail-like nudges; the in-app inbox still keeps every notification.
    notifications_enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (Index("ix_users_org_unit_id_role", "org_unit_id", "role"),)


class AuthToken(Base):
    """A session (cookie) or bearer token. Only a SHA-256 of the secret is stored."""

    __tablename__ = "auth_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # session | bearer
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_auth_tokens_user_id", "user_id"),)


class LoginAttempt(Base):
    """Failed logins, counted per account and per client address for rate limiting."""

    __tablename__ = "login_attempts"

    email: Mapped[str] = mapped_column(String(320))
    client_ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]

    __table_args__ = (
        Index("ix_login_attempts_email_at", "email", "at"),
        Index("ix_login_attempts_client_ip_at", "client_ip", "at"),
    )


class LoginThrottle(Base):
    """Sign-in attempts per key (account + client address, or the address alone), counted by one
    atomic UPDATE before the password is checked; `blocked_until` is the progressive delay."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the kind and values
    attempts: Mapped[int] = mapped_column(default=0)
    last_attempt_at: Mapped[datetime]
    blocked_until: Mapped[datetime | None]
