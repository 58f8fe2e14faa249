"""setup: company settings an admin edits (grace days, reminder grouping, second climb; working
hours and the amount ceiling come with the manager and rep revisions), a per-user notifications switch, audit log by time

Revision ID: setup_0003
Revises: forecast_0003
Create Date: 2026-12-05 03:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "setup_0003"
down_revision: str | None = "forecast_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SETTINGS = (
    ("escalation_next_climb_h", sa.Integer(), "48"),
    ("grace_working_days", sa.Integer(), "3"),
    ("reminder_group_min", sa.Integer(), "60"),
)


def upgrade() -> None:
    with op.batch_alter_table("org_settings") as batch:
        for name, type_, default in _SETTINGS:
            batch.add_column(sa.Column(name, type_, nullable=False, server_default=default))
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("notifications_enabled", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.create_index("ix_audit_log_at", "audit_log", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("notifications_enabled")
    with op.batch_alter_table("org_settings") as batch:
        for name, _type, _default in reversed(_SETTINGS):
            batch.drop_column(name)
