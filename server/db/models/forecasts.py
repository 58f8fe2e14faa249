"""Forecasts: one run per company and local date (weekly refit or nightly in-period update),
its forecasts per scope and period, and the rolling-origin backtest accuracy per level/horizon."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, JSONType, Money


class ForecastRun(Base):
    __tablename__ = "forecast_runs"

    company_id: Mapped[UUID] = mapped_column(ForeignKey("org_units.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # refit | update
    as_of: Mapped[date]  # the company-local date whose actuals (through the day before) went in
    engine: Mapped[str] = mapped_column(String(24))  # statsforecast x.y.z
    methods: Mapped[dict[str, Any]] = mapped_column(JSONType)  # level -> chosen method
    refit_id: Mapped[UUID | None] = mapped_column(ForeignKey("forecast_runs.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("company_id", "kind", "as_of"),)


class Forecast(Base):
    __tablename__ = "forecasts"

    run_id: Mapped[UUID] = mapped_column(ForeignKey("forecast_runs.id", ondelete="CASCADE"))
    company_id: Mapped[UUID] = mapped_column(ForeignKey("org_units.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(16))  # rep | team | region | company (unit kind)
    scope: Mapped[str] = mapped_column(String(8))  # user | org_unit
    scope_id: Mapped[UUID]
    period: Mapped[str] = mapped_column(String(7))  # 2026-11 | 2026-Q4
    method: Mapped[str] = mapped_column(String(24))
    as_of: Mapped[date]
    point: Mapped[Decimal] = mapped_column(Money)
    low: Mapped[Decimal] = mapped_column(Money)  # 80% interval
    high: Mapped[Decimal] = mapped_column(Money)
    actual_to_date: Mapped[Decimal] = mapped_column(Money)
    # the model's whole-period band before the in-period composition (the nightly update reuses it)
    model_point: Mapped[float] = mapped_column(Float)
    model_low: Mapped[float] = mapped_column(Float)
    model_high: Mapped[float] = mapped_column(Float)
    # the probability-weighted open pipeline expected to close in the rest of the period (an input
    # of the expected rest, docs/forecasting.md); NULL on forecasts stored before it was one
    pipeline: Mapped[Decimal | None] = mapped_column(Money, nullable=True)

    __table_args__ = (
        UniqueConstraint("run_id", "scope", "scope_id", "period"),
        Index("ix_forecasts_scope_period", "scope", "scope_id", "period", "as_of"),
    )


class ForecastAccuracy(Base):
    __tablename__ = "forecast_accuracy"

    run_id: Mapped[UUID] = mapped_column(ForeignKey("forecast_runs.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(16))
    # None: the whole level; else one user's or unit's own track record
    scope_id: Mapped[UUID | None]
    horizon: Mapped[int]  # months ahead of the origin (1 = the next month)
    method: Mapped[str] = mapped_column(String(24))
    wape: Mapped[float | None] = mapped_column(Float)
    bias: Mapped[float | None] = mapped_column(Float)
    mase: Mapped[float | None] = mapped_column(Float)
    within: Mapped[float | None] = mapped_column(Float)  # 80th pct of |relative error|
    n: Mapped[int]

    __table_args__ = (Index("ix_forecast_accuracy_run_id_level", "run_id", "level", "horizon", "scope_id"),)
