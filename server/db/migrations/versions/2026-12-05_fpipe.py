"""fpipe: forecasts.pipeline, the probability-weighted open pipeline that went into a forecast

NULL on forecasts stored before the pipeline was an input.

Revision ID: fpipe_0005
Revises: scale_0004
Create Date: 2026-12-05 07:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "fpipe_0005"
down_revision: str | None = "scale_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("forecasts") as batch:
        batch.add_column(sa.Column("pipeline", sa.Numeric(16, 2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("forecasts") as batch:
        batch.drop_column("pipeline")
