"""Prometheus scrape endpoint. Gauges that live in the database are read at scrape time."""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request, Response, get
from sqlalchemy import func, select

from server.core import metrics
from server.db.models import Escalation, Notification


@get("/metrics", include_in_schema=False)
async def prometheus_metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    token = request.app.state.settings.metrics_token
    if token:
        presented = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(presented, token):
            return Response(b"unauthorized\n", status_code=401, media_type="text/plain")
    try:
        async with request.app.state.sessionmaker() as session:
            backlog = await session.scalar(
                select(func.count()).select_from(Notification).where(Notification.status == "pending")
            )
            metrics.OUTBOX_BACKLOG.set(backlog or 0)
            rows = await session.execute(
                select(Escalation.severity, func.count())
                .where(Escalation.state != "resolved")
                .group_by(Escalation.severity)
            )
            counts = dict(rows.tuples().all())
            for severity in ("yellow", "orange", "red"):
                metrics.ESCALATIONS_OPEN.labels(severity=severity).set(counts.get(severity, 0))
    except Exception:  # the process metrics are still worth serving when the database is down
        metrics.DB_SCRAPE_ERRORS.inc()
    return Response(metrics.render_latest(), media_type="text/plain; version=0.0.4")


ROUTES = [prometheus_metrics]
