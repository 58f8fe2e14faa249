"""Dispatch 10,000 pending notifications to a local fake push service (PostgreSQL, fresh db).

Floor: raw HTTP POSTs (same body size, same headers, same client settings) to the same fake
service at the same concurrency, in the same run, before and after the dispatch (other load on
the machine shifts both). The dispatcher adds the claim and result transactions, per-message
encryption (ECDH + HKDF + AES-GCM) and a VAPID signature; the crypto-only line shows what that
alone costs. CPU per message is printed too: it moves far less than wall time on a busy machine.

    .venv/bin/python -m bench.bench_dispatch --notifications 10000 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TypeVar

import aiohttp
import asyncpg
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from server.clock import Clock
from server.config import Settings
from server.core.services import provide_services
from server.db.engine import create_engine
from server.db.migrate import upgrade
from server.db.models import Notification, PushSubscription, User
from server.services.notifications.outbox import Claimed, Draft, NotificationsService
from server.services.notifications.push import BATCH_SIZE, Dispatcher
from server.services.notifications.push_message import payload_for, vapid_claims
from tests.fakepush import FakePushService, push_settings

T = TypeVar("T")
SERVER = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: outside quiet hours
BODY = "Due at 09:00 and not updated yet."


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(SERVER)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _start_fake_service() -> tuple[subprocess.Popen[str], str]:
    """The fake push service in its own process, so it does not share our event loop, and in its
    own session: where the kernel groups CPU time by session (autogroup, the Linux default on
    desktops and on this machine), a child in ours would take its CPU from the dispatcher's share,
    whereas a real push service runs on other machines."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakepush"], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("READY "):
        process.kill()
        raise RuntimeError(f"fake push service did not start: {line!r}")
    return process, line.split(" ", 1)[1]


async def _prepare(engine: AsyncEngine, settings: Settings, base_url: str, users: int, count: int) -> None:
    minter = FakePushService(base_url=base_url)  # not started: only mints subscriptions with real keys
    user_ids = [uuid.uuid4() for _ in range(users)]
    async with engine.begin() as connection:
        await connection.execute(
            insert(User),
            [
                {
                    "id": uid,
                    "email": f"rep{i}@bench.example",
                    "name": f"Rep {i}",
                    "role": "rep",
                    "timezone": "Asia/Shanghai",  # 10:00 at NOW: not quiet hours
                }
                for i, uid in enumerate(user_ids)
            ],
        )
        subs = [(uid, minter.subscription()) for uid in user_ids]
        await connection.execute(
            insert(PushSubscription),
            [
                {
                    "id": uuid.uuid4(),
                    "endpoint": sub.endpoint,
                    "p256dh": sub.p256dh,
                    "auth": sub.auth,
                    "user_id": uid,
                    "created_at": NOW,
                    "failures": 0,
                }
                for uid, sub in subs
            ],
        )
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    async with provide_services(sessionmaker, settings, Clock(fixed=NOW)) as services:
        drafts = [
            Draft(user_ids[n % users], "overdue_task", f"Overdue task {n}", BODY, f"bench:{n}", "/")
            for n in range(count)
        ]
        await services.get(NotificationsService).notify_many(drafts)


async def _floor(base_url: str, requests: int, concurrency: int, body_size: int) -> None:
    """`requests` plain POSTs at `concurrency`, with the dispatcher's client settings."""
    body = os.urandom(body_size)
    headers = {
        "TTL": "14400",
        "Urgency": "high",
        "Content-Encoding": "aes128gcm",
        "Authorization": "vapid t=x",
    }
    slots = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

        async def one(n: int) -> None:
            async with slots, http.post(f"{base_url}/push/floor{n}", data=body, headers=headers) as response:
                await response.read()
                assert response.status == 201

        await asyncio.gather(*(one(n) for n in range(requests)))


def _crypto_only(settings: Settings, count: int, sign: bool = True) -> tuple[float, float]:
    """(wall, CPU) seconds to encrypt (and, with `sign`, VAPID-sign) `count` messages without
    any I/O. The dispatcher signs once per push service per hour, so `sign=False` is its tighter
    floor."""
    from py_vapid import Vapid
    from pywebpush import WebPusher

    sub = FakePushService(base_url="https://push.example").subscription()
    vapid = Vapid.from_string(private_key=settings.vapid_private_key)
    started, cpu = time.perf_counter(), time.process_time()
    for n in range(count):
        if sign:
            vapid.sign(vapid_claims(settings.vapid_subject, sub.endpoint, time.time()))
        WebPusher(sub.json()).encode(f'{{"title": "Overdue task {n}", "body": "{BODY}"}}'.encode())
    return time.perf_counter() - started, time.process_time() - cpu


async def _timed(work: Awaitable[T]) -> tuple[T, float, float]:
    """(result, wall seconds, this process's CPU seconds)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = await work
    return result, time.perf_counter() - wall, time.process_time() - cpu


async def _run(args: argparse.Namespace, db_url: str) -> None:
    n = args.notifications
    load_at_start = os.getloadavg()[0]
    base = Settings(DATABASE_URL=db_url, _env_file=None)  # type: ignore[call-arg]
    settings = push_settings(base, push_concurrency=args.concurrency, push_timeout_s=10.0)
    engine = create_engine(settings)
    process, base_url = _start_fake_service()
    try:
        await upgrade(engine)
        await _prepare(engine, settings, base_url, args.users, n)
        sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        sample = Claimed(
            uuid.uuid4(), uuid.uuid4(), "overdue_task", f"Overdue task {n}", BODY, "/", None, 1, NOW, None
        )
        body_size = (
            len(payload_for(sample)) + 103
        )  # aes128gcm: 86-byte header, padding delimiter, 16-byte tag

        _, floor1_s, floor1_cpu = await _timed(_floor(base_url, n, args.concurrency, body_size))
        dispatcher = Dispatcher(sessionmaker, settings, Clock(fixed=NOW), batch_size=args.batch)
        stats, dispatch_s, dispatch_cpu = await _timed(dispatcher.run())
        _, floor2_s, floor2_cpu = await _timed(_floor(base_url, n, args.concurrency, body_size))

        async with engine.connect() as connection:
            sent = await connection.scalar(select(func.count()).where(Notification.status == "sent"))
        async with aiohttp.ClientSession() as http, http.get(f"{base_url}/count") as response:
            received = (await response.json())["count"] - 2 * n  # minus the two floors
        assert sent == stats.sent == received == n, (sent, stats, received)
        sample_size = min(n, 2000)
        crypto_s, crypto_cpu = (t * n / sample_size for t in _crypto_only(settings, sample_size))
        encrypt_s, encrypt_cpu = (t * n / sample_size for t in _crypto_only(settings, sample_size, False))
    finally:
        process.terminate()
        process.wait(timeout=10)
        await engine.dispose()

    floor_s, floor_cpu = (floor1_s + floor2_s) / 2, (floor1_cpu + floor2_cpu) / 2
    print(
        f"notifications {n}, users/subscriptions {args.users}, concurrency {args.concurrency}, batch {args.batch}"
    )
    print(
        f"dispatch  {dispatch_s:6.2f} s  {n / dispatch_s:6.0f}/s  cpu {1000 * dispatch_cpu / n:.2f} ms/msg"
        f"  ({sent} sent, {received} received by the fake service)"
    )
    print(
        f"floor     {floor_s:6.2f} s  {n / floor_s:6.0f}/s  cpu {1000 * floor_cpu / n:.2f} ms/req"
        f"  raw POSTs (before {floor1_s:.2f} s, after {floor2_s:.2f} s)"
    )
    print(
        f"crypto    {crypto_s:6.2f} s  {n / crypto_s:6.0f}/s  cpu {1000 * crypto_cpu / n:.2f} ms/msg"
        "  encrypt + VAPID sign only, no I/O"
    )
    print(
        f"encrypt   {encrypt_s:6.2f} s  {n / encrypt_s:6.0f}/s  cpu {1000 * encrypt_cpu / n:.2f} ms/msg"
        "  encrypt only, no I/O"
    )
    print(
        f"ratio dispatch/crypto: {crypto_s / dispatch_s:.2f} (goal >= 0.50); "
        f"dispatch/encrypt-only: {encrypt_s / dispatch_s:.2f}"
    )
    print(
        f"ratio of CPU per message, crypto/dispatch: {crypto_cpu / dispatch_cpu:.2f}, "
        f"encrypt-only/dispatch: {encrypt_cpu / dispatch_cpu:.2f}  (moves less with the machine's load)"
    )
    print(
        f"ratio dispatch/floor: throughput {floor_s / dispatch_s:.2f}, cpu {floor_cpu / dispatch_cpu:.2f}"
        "  (1.00 = as cheap as raw HTTP)"
    )
    print(
        f"load average: {load_at_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} cpus"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--notifications", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch", type=int, default=BATCH_SIZE)
    args = parser.parse_args()
    name = f"fs_bench_dispatch_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    db_url = SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    try:
        asyncio.run(_run(args, db_url))
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
