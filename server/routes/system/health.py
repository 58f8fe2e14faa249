"""Health checks and the PWA's root-scoped files (service worker, manifest, offline page)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from functools import lru_cache
from typing import Any

from litestar import Request, Response, get
from sqlalchemy import text

from server.core.templates import STATIC_DIR, render, static_url

# The app shell the service worker precaches; the version changes when any of them changes.
SHELL_ASSETS = (
    "app.css",
    "app.js",
    "outbox-core.js",
    "push.js",
    "ux.js",
    "vendor/htmx.min.js",
    "icons/icon-192.png",
    "icons/favicon.svg",
    "icons/apple-touch-icon.png",
    "icons/badge-96.png",
    # Page scripts of the offline-capable screens (Today, check-in).
    "tasks.js",
    "checkin.js",
    "visit-deal.js",
    "sync.js",
)


@get("/healthz", include_in_schema=True, tags=["system"], summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", tags=["system"], summary="The database is reachable (503 otherwise)")
async def readyz(request: Request[Any, Any, Any]) -> Response[dict[str, str]]:
    engine = request.app.state.engine
    try:
        async with asyncio.timeout(request.app.state.settings.db_timeout_s):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the database means "not ready"
        return Response(
            {"status": "unavailable", "error": type(exc).__name__},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    return Response({"status": "ok"})


@lru_cache(maxsize=1)
def _service_worker_source() -> str:
    urls = [static_url(path) for path in SHELL_ASSETS if (STATIC_DIR / path).exists()]
    urls.append("/offline")
    source = (STATIC_DIR / "sw.js").read_text()
    digest = hashlib.sha256((source + json.dumps(urls)).encode()).hexdigest()[:12]
    return source.replace("__SW_VERSION__", digest).replace("__PRECACHE_URLS__", json.dumps(urls))


@get("/sw.js", include_in_schema=False)
async def service_worker() -> Response[str]:
    return Response(
        _service_worker_source(),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )


@get("/manifest.webmanifest", include_in_schema=False)
async def manifest() -> Response[bytes]:
    return Response(
        (STATIC_DIR / "manifest.webmanifest").read_bytes(),
        media_type="application/manifest+json",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@get("/offline", include_in_schema=False)
async def offline(request: Request[Any, Any, Any]) -> Any:
    return render(request, "offline.html")


ROUTES = [healthz, readyz, service_worker, manifest, offline]
