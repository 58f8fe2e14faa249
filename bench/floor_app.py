"""The check-in benchmark's fair floor: the product's own app (same middleware, same bearer-token
authentication, same per-request session and commit) plus one bare endpoint that does a single
INSERT through the same pool. A check-in and a check-out cannot cost less than two of these, so
`visit / (2 x floor)` says how much of a visit is the product's own work.

    uvicorn bench.floor_app:app_from_env --factory     (what bench/bench_checkins.py starts)
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Litestar, post
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.app import app_from_env as product_app
from server.core.access import Principal
from server.core.deps import require_role

TABLE_DDL = "CREATE TABLE IF NOT EXISTS bench_floor (id uuid PRIMARY KEY, rep_id uuid NOT NULL, at timestamp NOT NULL)"


@post("/bench/floor", status_code=201, guards=[require_role("rep")], include_in_schema=False)
async def floor(principal: Principal, db_session: AsyncSession, data: dict[str, Any]) -> dict[str, str]:
    row_id = uuid.UUID(str(data["id"]))
    await db_session.execute(
        text("INSERT INTO bench_floor (id, rep_id, at) VALUES (:id, :rep, CURRENT_TIMESTAMP)"),
        {"id": row_id, "rep": principal.id},
    )
    return {"id": str(row_id)}


def app_from_env() -> Litestar:
    app = product_app()
    app.register(floor)
    return app
