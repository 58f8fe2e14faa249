"""forecast: forecast_runs, forecasts, forecast_accuracy

Revision ID: forecast_0003
Revises: plans_0003
Create Date: 2026-12-05 04:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "forecast_0003"
down_revision: str | None = "manager_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
UTC = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
MONEY = sa.Numeric(16, 2)


def upgrade() -> None:
    op.create_table(
        "forecast_runs",
        sa.Column("id", GUID, nullable=False),
        sa.Column("company_id", GUID, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("engine", sa.String(length=24), nullable=False),
        sa.Column("methods", JSON, nullable=False),
        sa.Column("refit_id", GUID, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["org_units.id"],
            name=op.f("fk_forecast_runs_company_id_org_units"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["refit_id"],
            ["forecast_runs.id"],
            name=op.f("fk_forecast_runs_refit_id_forecast_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_runs")),
        sa.UniqueConstraint("company_id", "kind", "as_of", name=op.f("uq_forecast_runs_company_id")),
    )
    op.create_table(
        "forecasts",
        sa.Column("id", GUID, nullable=False),
        sa.Column("run_id", GUID, nullable=False),
        sa.Column("company_id", GUID, nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("scope_id", GUID, nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("method", sa.String(length=24), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("point", MONEY, nullable=False),
        sa.Column("low", MONEY, nullable=False),
        sa.Column("high", MONEY, nullable=False),
        sa.Column("actual_to_date", MONEY, nullable=False),
        sa.Column("model_point", sa.Float(), nullable=False),
        sa.Column("model_low", sa.Float(), nullable=False),
        sa.Column("model_high", sa.Float(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["org_units.id"],
            name=op.f("fk_forecasts_company_id_org_units"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["forecast_runs.id"],
            name=op.f("fk_forecasts_run_id_forecast_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecasts")),
        sa.UniqueConstraint("run_id", "scope", "scope_id", "period", name=op.f("uq_forecasts_run_id")),
    )
    op.create_index(
        "ix_forecasts_scope_period", "forecasts", ["scope", "scope_id", "period", "as_of"], unique=False
    )
    op.create_table(
        "forecast_accuracy",
        sa.Column("id", GUID, nullable=False),
        sa.Column("run_id", GUID, nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("scope_id", GUID, nullable=True),
        sa.Column("horizon", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=24), nullable=False),
        sa.Column("wape", sa.Float(), nullable=True),
        sa.Column("bias", sa.Float(), nullable=True),
        sa.Column("mase", sa.Float(), nullable=True),
        sa.Column("within", sa.Float(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["forecast_runs.id"],
            name=op.f("fk_forecast_accuracy_run_id_forecast_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_accuracy")),
    )
    op.create_index(
        "ix_forecast_accuracy_run_id_level",
        "forecast_accuracy",
        ["run_id", "level", "horizon", "scope_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_forecast_accuracy_run_id_level", table_name="forecast_accuracy")
    op.drop_table("forecast_accuracy")
    op.drop_index("ix_forecasts_scope_period", table_name="forecasts")
    op.drop_table("forecasts")
    op.drop_table("forecast_runs")
