"""The funnel API: `GET /api/v1/funnel?scope=user|org_unit&scope_id=&period=` (JSON or CSV)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Response, get
from litestar.params import Parameter, QueryParameter

from server.core.access import Scope
from server.core.csv import csv_response
from server.core.deps import require_login
from server.core.services import Services
from server.services.pipeline.funnel import PERIOD_PATTERN, FunnelReport, FunnelRow, FunnelService


class ConversionOut(msgspec.Struct):
    from_stage: str
    to_stage: str
    reached: int
    converted: int
    rate: float | None


class FunnelFiguresOut(msgspec.Struct):
    scope: str
    scope_id: UUID
    name: str
    entered: int
    advanced: int
    won: int
    lost: int
    win_rate: float | None
    open_deals: int
    open_amount: Decimal
    weighted_pipeline: Decimal
    gap: Decimal | None
    coverage: float | None
    conversions: list[ConversionOut]
    days_in_stage: dict[str, float | None]


class FunnelOut(msgspec.Struct):
    period: str
    period_start: date
    period_end: date
    plan_start: date
    plan_end: date
    total: FunnelFiguresOut
    rows: list[FunnelFiguresOut]


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def figures_out(row: FunnelRow) -> FunnelFiguresOut:
    f = row.funnel
    return FunnelFiguresOut(
        scope=row.scope, scope_id=row.scope_id, name=row.name, entered=f.entered, advanced=f.advanced,
        won=f.won, lost=f.lost, win_rate=_round(f.win_rate), open_deals=f.open_deals,
        open_amount=f.open_amount, weighted_pipeline=f.weighted_pipeline, gap=f.gap,
        coverage=_round(f.coverage),
        conversions=[
            ConversionOut(c.from_stage, c.to_stage, c.reached, c.converted, _round(c.rate)) for c in f.conversions
        ],
        days_in_stage={name: _round(days, 2) for name, days in f.days_in_stage.items()},
    )  # fmt: skip


def funnel_out(report: FunnelReport) -> FunnelOut:
    p = report.period
    return FunnelOut(
        period=p.label, period_start=p.start, period_end=p.end, plan_start=p.plan_start, plan_end=p.plan_end,
        total=figures_out(report.total), rows=[figures_out(r) for r in report.rows],
    )  # fmt: skip


BASE_COLUMNS = (
    "name", "scope", "scope_id", "entered", "advanced", "won", "lost", "win_rate", "open_deals",
    "open_amount", "weighted_pipeline", "gap", "coverage",
)  # fmt: skip


def csv_rows(out: FunnelOut) -> tuple[list[str], list[dict[str, Any]]]:
    """One line per scope (the total first); a conversion-rate and a days-in-stage column per stage."""
    conversions = [f"{c.from_stage}->{c.to_stage}" for c in out.total.conversions]
    days = [f"days_in_{name}" for name in out.total.days_in_stage]
    rows = []
    for figures in (out.total, *out.rows):
        line = {k: v for k, v in msgspec.structs.asdict(figures).items() if k in BASE_COLUMNS}
        line.update({name: c.rate for name, c in zip(conversions, figures.conversions, strict=True)})
        line.update({f"days_in_{name}": v for name, v in figures.days_in_stage.items()})
        rows.append(line)
    return [*BASE_COLUMNS, *conversions, *days], rows


@get(
    "/api/v1/funnel",
    guards=[require_login],
    tags=["pipeline"],
    summary="Funnel of a rep, team or region: conversion, time in stage, win rate, coverage, movement",
    description="`period` is a month (2026-11) or an ISO week (2026-W47); movement counts changes in it, "
    "coverage divides the weighted open pipeline closing by the month's end by the month's remaining "
    "revenue gap. Rows: a team's reps, or a unit's child units. `format=csv` downloads it.",
)
async def funnel(
    services: Services,
    access: Scope,
    # `scope` is Litestar's reserved name for the ASGI scope: the query parameter is aliased.
    scope_name: Annotated[Literal["user", "org_unit"] | None, QueryParameter(name="scope")] = None,
    scope_id: UUID | None = None,
    period: Annotated[str | None, Parameter(max_length=10, pattern=PERIOD_PATTERN)] = None,
    output: Annotated[Literal["json", "csv"], QueryParameter(name="format")] = "json",
) -> Response[Any]:
    chosen = scope_name or ("user" if access.principal.is_rep else "org_unit")
    report = await services.get(FunnelService).report(access, chosen, scope_id, period)
    out = funnel_out(report)
    if output == "csv":
        columns, rows = csv_rows(out)
        return csv_response(f"funnel-{out.period}", columns, rows)
    return Response(out)


ROUTES = [funnel]
