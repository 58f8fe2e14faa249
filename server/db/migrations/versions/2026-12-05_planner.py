"""planner: the company's effort split by grade and when an open deal asks for a visit

Revision ID: planner_0004
Revises: pipeline_0004
Create Date: 2026-12-05 06:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "planner_0004"
down_revision: str | None = "pipeline_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SETTINGS = (
    ("effort_a", sa.Numeric(5, 4), "0.4"),
    ("effort_b", sa.Numeric(5, 4), "0.3"),
    ("effort_c", sa.Numeric(5, 4), "0.2"),
    ("effort_prospect", sa.Numeric(5, 4), "0.1"),
    ("deal_close_days", sa.Integer(), "14"),
    ("deal_stale_days", sa.Integer(), "21"),
)


def upgrade() -> None:
    with op.batch_alter_table("org_settings") as batch:
        for name, type_, default in _SETTINGS:
            batch.add_column(sa.Column(name, type_, nullable=False, server_default=default))


def downgrade() -> None:
    with op.batch_alter_table("org_settings") as batch:
        for name, _type, _default in reversed(_SETTINGS):
            batch.drop_column(name)
