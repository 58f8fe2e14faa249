"""The application factory: create_app(settings) -> Litestar."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import structlog
from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.datastructures import CacheControlHeader, State
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from sqlalchemy.ext.asyncio import async_sessionmaker

from server.clock import Clock, system_clock
from server.config import Settings, load_settings
from server.core import metrics
from server.core.deps import dependencies
from server.core.errors import exception_handlers
from server.core.input_guard import guard_request
from server.core.logging import configure_logging
from server.core.openapi import AllowHeaderMiddleware, document_problem_responses
from server.core.security import AuthMiddleware, SecurityHeadersMiddleware
from server.core.templates import STATIC_DIR, create_jinja_env
from server.core.token_cache import InvalidationListener, TokenCache
from server.db.engine import create_engine, sqlalchemy_config
from server.jobs.dispatch_notifications import dispatch_on_commit
from server.routes import collect_routes

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger("fieldsales.app")


COMPRESS_FROM_BYTES = 1024


class MetricsMiddleware(ASGIMiddleware):
    """Request latency by route template (not by raw path, so ids don't explode cardinality)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["type"] != ScopeType.HTTP:
            await next_app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await next_app(scope, receive, capture)
        finally:
            route = scope.get("path_template") or "unmatched"
            if not route.startswith("/static"):
                metrics.REQUEST_LATENCY.labels(scope["method"], route, str(status["code"])).observe(
                    time.perf_counter() - started
                )


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> Litestar:
    settings = settings or load_settings()
    clock = clock or system_clock
    configure_logging(json_logs=settings.log_json)
    engine = create_engine(settings)
    db_config = sqlalchemy_config(settings, engine)
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    token_cache = TokenCache(settings.token_cache_ttl_s)
    listener = (
        InvalidationListener(token_cache, settings.effective_database_url)
        if engine.dialect.name == "postgresql" and settings.token_cache_ttl_s > 0
        else None
    )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if listener is not None:
            await listener.start()
        scheduler = None
        if settings.scheduler_enabled:
            from server.jobs.scheduler import build_scheduler

            scheduler = build_scheduler(sessionmaker, settings, clock)
            scheduler.start()
            log.info("scheduler_started", jobs=[job.id for job in scheduler.get_jobs()])
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            if listener is not None:
                await listener.stop()
            await engine.dispose()

    static_router = create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        cache_control=CacheControlHeader(max_age=31536000, public=True, immutable=True),
        include_in_schema=False,
    )
    app = Litestar(
        route_handlers=[static_router, *collect_routes()],
        dependencies=dependencies,
        plugins=[SQLAlchemyPlugin(config=db_config), HTMXPlugin()],
        template_config=TemplateConfig(engine=JinjaTemplateEngine.from_environment(create_jinja_env())),
        middleware=[
            MetricsMiddleware(),
            SecurityHeadersMiddleware(),
            AllowHeaderMiddleware(),
            AuthMiddleware(),
        ],
        exception_handlers=exception_handlers,
        before_request=guard_request,
        # A body under ~1 KB goes out in one TCP segment compressed or not: gzip would only cost
        # CPU on both ends (a check-in's answer is ~700 bytes). Pages and lists are compressed.
        compression_config=CompressionConfig(
            backend="gzip", minimum_size=COMPRESS_FROM_BYTES, gzip_compress_level=6
        ),
        openapi_config=OpenAPIConfig(
            title="FieldSales API",
            version="1.0.0",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        ),
        request_max_body_size=settings.max_body_bytes,
        lifespan=[lifespan, dispatch_on_commit],
        state=State(
            {
                "settings": settings,
                "clock": clock,
                "engine": engine,
                "sessionmaker": sessionmaker,
                "token_cache": token_cache,
            }
        ),
        debug=settings.debug,
    )
    document_problem_responses(app)
    return app


def app_from_env() -> Litestar:
    """Entry point for uvicorn --factory."""
    return create_app(load_settings())


__all__ = ["app_from_env", "create_app"]
