"""Who holds a token, remembered between requests, so a signed-in request costs no database round trip.

Correctness first: the cache only answers while the process is subscribed to the database's
invalidation channel (PostgreSQL LISTEN), and every change that could alter an answer — a token
revoked or deleted, a user deactivated, moved, renamed, given another role, timezone or locale —
sends a NOTIFY inside the same transaction, so every process drops the entry when (and only when)
the change commits. A lookup that started before an invalidation never stores its (possibly stale)
answer: entries are written only if the cache's generation did not move meanwhile. Without a live
subscription (SQLite, a lost listener connection) every request reads the database, as before.
A TTL bounds any residual staleness (e.g. a partitioned listener that has not noticed yet).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import ORMExecuteState, Session

from server.core.access import Principal

log = structlog.get_logger()

CHANNEL = "fieldsales_auth"
ALL = "*"
# Columns of users whose change alters a Principal (or whether it may sign in at all).
USER_COLUMNS = ("active", "role", "org_unit_id", "name", "email", "timezone", "locale")
TOKEN_COLUMNS = ("revoked_at", "expires_at", "user_id", "kind")
AUTH_TABLES = frozenset({"users", "auth_tokens"})
_PENDING = "auth_invalidations"


@dataclass(slots=True)
class _Entry:
    principal: Principal
    expires_at: datetime
    stored: float


class TokenCache:
    def __init__(self, ttl_s: float = 60.0, max_entries: int = 100_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.generation = 0
        self.enabled = False  # True only while subscribed to the invalidation channel
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._by_user: dict[UUID, set[tuple[str, str]]] = {}
        _CACHES.add(self)

    def get(self, digest: str, kind: str, now: datetime) -> Principal | None:
        if not self.enabled:
            return None
        entry = self._entries.get((digest, kind))
        if entry is None:
            return None
        if entry.expires_at <= now or time.monotonic() - entry.stored > self.ttl_s:
            self._drop((digest, kind), entry)
            return None
        return entry.principal

    def put(
        self, digest: str, kind: str, principal: Principal, expires_at: datetime, generation: int
    ) -> None:
        """Store an answer read at `generation`; ignored if an invalidation happened since."""
        if not self.enabled or generation != self.generation:
            return
        if len(self._entries) >= self.max_entries:
            self.clear()  # crude but bounded: a full cache refills from the database
        key = (digest, kind)
        self._entries[key] = _Entry(principal, expires_at, time.monotonic())
        self._by_user.setdefault(principal.id, set()).add(key)

    def invalidate(self, user_id: str = ALL) -> None:
        self.generation += 1
        if user_id == ALL:
            self.clear()
            return
        try:
            keys = self._by_user.pop(UUID(user_id), set())
        except ValueError:
            self.clear()
            return
        for key in keys:
            self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()
        self._by_user.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, key: tuple[str, str], entry: _Entry) -> None:
        self._entries.pop(key, None)
        self._by_user.get(entry.principal.id, set()).discard(key)


_CACHES: weakref.WeakSet[TokenCache] = weakref.WeakSet()


def invalidate_local(user_id: str = ALL) -> None:
    """Every cache of this process (the SQLite case, and the committing process itself)."""
    for cache in list(_CACHES):
        cache.invalidate(user_id)


# --- Marking a transaction that changes who a token stands for -------------------------------


def _mark(session: Session, user_id: str) -> None:
    session.info.setdefault(_PENDING, set()).add(user_id)


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    from server.db.models import AuthToken, User  # models import core; import late

    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, User):
            state = inspect(obj)
            if obj in session.deleted or any(state.attrs[c].history.has_changes() for c in USER_COLUMNS):
                _mark(session, str(obj.id))
        elif isinstance(obj, AuthToken):
            state = inspect(obj)
            if obj in session.deleted or any(state.attrs[c].history.has_changes() for c in TOKEN_COLUMNS):
                _mark(session, str(obj.user_id))


@event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in AUTH_TABLES:
        _mark(state.session, ALL)  # a bulk change names no single user: drop everything


@event.listens_for(Session, "before_commit")
def _notify_in_transaction(session: Session) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        # NOTIFY is transactional: the other processes hear it exactly when this commit lands.
        connection = session.connection()
        for payload in [ALL] if ALL in pending else sorted(pending):
            connection.execute(
                text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload}
            )


@event.listens_for(Session, "after_commit")
def _invalidate_after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        for user_id in [ALL] if ALL in pending else pending:
            invalidate_local(user_id)


@event.listens_for(Session, "after_rollback")
def _forget_on_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


# --- The subscription (PostgreSQL) -------------------------------------------------------------


class InvalidationListener:
    """Holds one asyncpg connection LISTENing on CHANNEL; enables the cache only while it lives,
    checks the connection every `health_s`, and reconnects after a loss (dropping the cache)."""

    def __init__(self, cache: TokenCache, database_url: str, health_s: float = 5.0) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._cache = cache
        self._health_s = health_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="token-cache-listener")

    async def stop(self) -> None:
        self._cache.enabled = False
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self._cache.invalidate(payload or ALL)

    def _on_lost(self, _conn: Any) -> None:
        self._cache.enabled = False  # at once: changes from now on would go unheard
        self._cache.invalidate(ALL)

    async def _run(self) -> None:
        import asyncpg

        while True:
            connection = None
            try:
                connection = await asyncpg.connect(self._dsn, timeout=5)
                await connection.add_listener(CHANNEL, self._on_notify)
                connection.add_termination_listener(self._on_lost)
                self._cache.invalidate(ALL)  # whatever was missed while not listening
                self._cache.enabled = True
                while True:
                    await asyncio.sleep(self._health_s)
                    await connection.fetchval("SELECT 1", timeout=2)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # lost, refused or too slow: stop answering from memory
                if self._cache.enabled:
                    log.warning("token_cache_disabled", error=type(exc).__name__)
                self._cache.enabled = False
                self._cache.invalidate(ALL)
                await asyncio.sleep(1.0)
            finally:
                self._cache.enabled = False
                if connection is not None:
                    connection.terminate()
