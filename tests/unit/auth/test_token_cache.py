"""The token cache: answers only while subscribed, never stores what an invalidation overtook."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from server.core.access import Principal
from server.core.token_cache import ALL, TokenCache, invalidate_local

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def _principal() -> Principal:
    return Principal(
        id=uuid.uuid4(), email="r@x", name="R", role="rep", org_unit_id=uuid.uuid4(),
        timezone="UTC", locale="en", csrf_token="", auth="bearer",
    )  # fmt: skip


def _cache() -> TokenCache:
    cache = TokenCache(ttl_s=60)
    cache.enabled = True
    return cache


def test_disabled_cache_neither_answers_nor_stores() -> None:
    cache = TokenCache()
    cache.put("d", "bearer", _principal(), NOW + timedelta(days=1), cache.generation)
    assert len(cache) == 0 and cache.get("d", "bearer", NOW) is None


def test_hit_until_the_token_expires() -> None:
    cache, who = _cache(), _principal()
    cache.put("d", "bearer", who, NOW + timedelta(minutes=5), cache.generation)
    assert cache.get("d", "bearer", NOW) is who
    assert cache.get("d", "session", NOW) is None  # the kind is part of the key
    assert cache.get("d", "bearer", NOW + timedelta(minutes=5)) is None
    assert len(cache) == 0


def test_ttl_bounds_an_entry(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    cache, clock = TokenCache(ttl_s=10), [1000.0]
    cache.enabled = True
    monkeypatch.setattr("server.core.token_cache.time.monotonic", lambda: clock[0])
    cache.put("d", "bearer", _principal(), NOW + timedelta(days=1), cache.generation)
    clock[0] += 9.9
    assert cache.get("d", "bearer", NOW) is not None
    clock[0] += 0.2
    assert cache.get("d", "bearer", NOW) is None


def test_a_lookup_overtaken_by_an_invalidation_is_not_stored() -> None:
    cache, who = _cache(), _principal()
    started_at = cache.generation  # the request reads the database...
    cache.invalidate(str(who.id))  # ...while the user is deactivated and the change commits
    cache.put("d", "bearer", who, NOW + timedelta(days=1), started_at)
    assert cache.get("d", "bearer", NOW) is None


def test_invalidation_by_user_keeps_the_others() -> None:
    cache, one, two = _cache(), _principal(), _principal()
    cache.put("d1", "bearer", one, NOW + timedelta(days=1), cache.generation)
    cache.put("d1b", "session", one, NOW + timedelta(days=1), cache.generation)
    cache.put("d2", "bearer", two, NOW + timedelta(days=1), cache.generation)
    cache.invalidate(str(one.id))
    assert cache.get("d1", "bearer", NOW) is None and cache.get("d1b", "session", NOW) is None
    assert cache.get("d2", "bearer", NOW) is two
    cache.invalidate("not-a-uuid")  # an unreadable payload drops everything
    assert len(cache) == 0


def test_local_invalidation_reaches_every_cache_of_the_process() -> None:
    first, second = _cache(), _cache()
    for cache in (first, second):
        cache.put("d", "bearer", _principal(), NOW + timedelta(days=1), cache.generation)
    invalidate_local(ALL)
    assert len(first) == len(second) == 0
