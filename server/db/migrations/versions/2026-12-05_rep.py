"""rep's day (issue 17): one open visit per rep, customer contacts, order corrections and the
amount ceiling

Revision ID: rep_0003
Revises: tasks_0002
Create Date: 2026-12-05 03:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "rep_0003"
down_revision: str | None = "plans_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("checkins") as batch:
        batch.add_column(
            sa.Column("closed_by_checkin_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True)
        )
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("contact_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("contact_phone", sa.String(length=50), nullable=True))
        batch.add_column(sa.Column("contact_email", sa.String(length=254), nullable=True))
    with op.batch_alter_table("orders") as batch:
        batch.add_column(
            sa.Column("corrects_order_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True)
        )
        batch.add_column(sa.Column("correction_reason", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("created_by", advanced_alchemy.types.guid.GUID(length=16), nullable=True))
        batch.add_column(
            sa.Column("amount_confirmed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_foreign_key(
            op.f("fk_orders_corrects_order_id_orders"), "orders", ["corrects_order_id"], ["id"]
        )
        batch.create_foreign_key(op.f("fk_orders_created_by_users"), "users", ["created_by"], ["id"])
        batch.create_index("ix_orders_corrects_order_id", ["corrects_order_id"], unique=False)
    with op.batch_alter_table("org_settings") as batch:
        batch.add_column(
            sa.Column("order_amount_ceiling", sa.Numeric(16, 2), nullable=False, server_default="10000")
        )


def downgrade() -> None:
    with op.batch_alter_table("org_settings") as batch:
        batch.drop_column("order_amount_ceiling")
    with op.batch_alter_table("orders") as batch:
        batch.drop_index("ix_orders_corrects_order_id")
        batch.drop_constraint(op.f("fk_orders_created_by_users"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_orders_corrects_order_id_orders"), type_="foreignkey")
        for column in ("amount_confirmed", "created_by", "correction_reason", "corrects_order_id"):
            batch.drop_column(column)
    with op.batch_alter_table("customers") as batch:
        for column in ("contact_email", "contact_phone", "contact_name"):
            batch.drop_column(column)
    with op.batch_alter_table("checkins") as batch:
        batch.drop_column("closed_by_checkin_id")
