"""Visit photo uploads over HTTP against a real server (uvicorn, PostgreSQL, directory store).

Creates the database `bench_photos` (dropped afterwards unless --keep-db), migrates and seeds it
small, starts `uvicorn server.app:app_from_env` with EVIDENCE_DIR in a temporary directory, signs
the demo reps in and opens one check-in per client. Then, in the same run:
- the floor: a plain file write (temporary file + rename, as the directory store does) of the
  same bytes, one file per photo, sequentially in this process;
- the uploads: `--photos` multipart POSTs of phone-sized JPEGs (1600 px, ~250 KB, as photos.js
  sends them) by `--clients` concurrent clients, each with its own client UUID; every 10th is sent
  again (an outbox replay), which must answer 200 and store nothing.
Prints photos/s and MB/s for both, the upload against the floor, p50/p95 latency, and checks that
the database holds exactly one row and two files (image + thumbnail) per photo.

    .venv/bin/python -m bench.bench_photos --photos 400 --clients 8
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from PIL import Image, ImageFilter
from sqlalchemy import func, select

from bench.bench_checkins import (
    PG_SERVER,
    _admin,
    free_port,
    prepare_database,
    server_cpu_s,
    sign_in,
    start_server,
    wait_ready,
)
from server.config import Settings
from server.db.engine import create_engine
from server.db.models import VisitPhoto

DATABASE = "bench_photos"
DISTINCT_IMAGES = 6


def phone_photo(seed: int) -> bytes:
    """A 1600x1200 JPEG of about 250 KB: what photos.js sends after shrinking a camera photo."""
    random.seed(seed)
    image = Image.effect_noise((1600, 1200), 50).convert("RGB").filter(ImageFilter.GaussianBlur(1.2))
    image.paste((random.randint(0, 255), 120, 60), (0, 0, 800, 600))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=72)
    return out.getvalue()


def file_floor(payloads: list[bytes], directory: Path) -> float:
    """Seconds to write every payload to its own file (temporary file, then rename)."""
    started = time.perf_counter()
    for number, data in enumerate(payloads):
        final = directory / f"{number}.jpg"
        handle, partial = tempfile.mkstemp(dir=directory, prefix=".partial-")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(partial, final)
    return time.perf_counter() - started


async def open_visits(
    http: aiohttp.ClientSession, base: str, tokens: dict[str, str], places: dict[str, Any], clients: int
) -> list[tuple[str, str]]:
    """One check-in per client: (bearer token, check-in id)."""
    visits = []
    reps = sorted(tokens)
    for number in range(clients):
        email = reps[number % len(reps)]
        customer_id, lat, lng = places[email][number // len(reps)]
        body = {
            "id": str(uuid.uuid4()),
            "customer_id": customer_id,
            "checked_in_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
            "lat": lat,
            "lng": lng,
            "accuracy_m": 10.0,
        }
        headers = {"Authorization": f"Bearer {tokens[email]}"}
        async with http.post(f"{base}/api/v1/checkins", json=body, headers=headers) as response:
            if response.status != 201:
                raise RuntimeError(f"check-in failed: {response.status} {await response.text()}")
        visits.append((tokens[email], body["id"]))
    return visits


async def upload_all(
    http: aiohttp.ClientSession, base: str, visits: list[tuple[str, str]], payloads: list[bytes]
) -> tuple[float, list[float], dict[int, int]]:
    """Upload every payload (every 10th twice); wall seconds, latencies (ms), status counts."""
    remaining = iter(enumerate(payloads))
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def send(token: str, checkin_id: str, photo_id: str, data: bytes) -> int:
        form = aiohttp.FormData()
        form.add_field("id", photo_id)
        form.add_field("taken_at", datetime.now(UTC).isoformat())
        form.add_field("photo", data, filename="photo.jpg", content_type="image/jpeg")
        started = time.perf_counter()
        async with http.post(
            f"{base}/api/v1/checkins/{checkin_id}/photos",
            data=form,
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            await response.read()
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[response.status] = statuses.get(response.status, 0) + 1
            return response.status

    async def client(token: str, checkin_id: str) -> None:
        for number, data in remaining:
            photo_id = str(uuid.uuid4())
            await send(token, checkin_id, photo_id, data)
            if number % 10 == 0:  # the outbox resending a photo whose answer was lost
                await send(token, checkin_id, photo_id, data)

    started = time.perf_counter()
    await asyncio.gather(*(client(token, checkin_id) for token, checkin_id in visits))
    return time.perf_counter() - started, latencies, statuses


async def stored_rows(url: str) -> int:
    engine = create_engine(Settings(DATABASE_URL=url, SECRET_KEY="bench", _env_file=None))  # type: ignore[call-arg]
    async with engine.connect() as connection:
        count = await connection.scalar(select(func.count()).select_from(VisitPhoto))
    await engine.dispose()
    return int(count or 0)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def main(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="fieldsales-bench-photos-"))
    evidence, floor_dir = workdir / "evidence", workdir / "floor"
    floor_dir.mkdir()
    images = [phone_photo(seed) for seed in range(DISTINCT_IMAGES)]
    payloads = [images[n % DISTINCT_IMAGES] for n in range(args.photos)]
    megabytes = sum(len(p) for p in payloads) / 1e6
    await _admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    await _admin(f'CREATE DATABASE "{DATABASE}"')
    url = PG_SERVER.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0] + f"/{DATABASE}"
    server = None
    try:
        places = await prepare_database(url, args.reps, args.reps * 10)
        os.environ["EVIDENCE_DIR"] = str(evidence)  # start_server passes the environment on
        port = free_port()
        server = start_server(url, port, args.workers, workdir / "server.log")
        base = f"http://127.0.0.1:{port}"
        connector = aiohttp.TCPConnector(limit=args.clients)
        async with aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=60)
        ) as http:
            await wait_ready(http, base, server)
            tokens = await sign_in(http, base, sorted(places))
            visits = await open_visits(http, base, tokens, places, args.clients)
            floor_s = file_floor(payloads, floor_dir)
            cpu_before = server_cpu_s(server.pid)
            wall_s, latencies, statuses = await upload_all(http, base, visits, payloads)
            cpu_ms = (server_cpu_s(server.pid) - cpu_before) / args.photos * 1000
        replays = sum(1 for n in range(args.photos) if n % 10 == 0)
        rows = await stored_rows(url)
        files = sum(1 for p in evidence.rglob("*") if p.is_file())
        floor_rate, upload_rate = args.photos / floor_s, args.photos / wall_s
        print(
            f"server: uvicorn x{args.workers}, PostgreSQL, directory store; {args.clients} clients; "
            f"{args.photos} photos of {megabytes / args.photos * 1000:.0f} KB on average (+{replays} replays)"
        )
        print(f"floor (plain file write): {floor_rate:8.0f} photos/s  {megabytes / floor_s:8.1f} MB/s")
        print(
            f"upload over HTTP:         {upload_rate:8.1f} photos/s  {megabytes / wall_s:8.1f} MB/s"
            f"  p50 {percentile(latencies, 0.5):.0f} ms  p95 {percentile(latencies, 0.95):.0f} ms"
        )
        print(f"upload / floor: {upload_rate / floor_rate:.4f} (x{floor_rate / upload_rate:.0f} slower)")
        print(
            f"server CPU per photo: {cpu_ms:.0f} ms (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
        )
        expected = {201: args.photos, 200: replays}
        ok = statuses == expected and rows == args.photos and files == 2 * args.photos
        print(
            f"answers {dict(sorted(statuses.items()))} (expected {expected}); stored {rows} rows, {files} files "
            f"(expected {args.photos}, {2 * args.photos}) -> {'OK' if ok else 'MISMATCH'}"
        )
        if not ok:
            print(f"server log: {workdir / 'server.log'}", file=sys.stderr)
            raise SystemExit(1)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=15)
        if not args.keep_db:
            await _admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=400, help="photos to upload (default 400)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    parser.add_argument("--reps", type=int, default=8)
    parser.add_argument("--keep-db", action="store_true", help="keep the database afterwards")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
