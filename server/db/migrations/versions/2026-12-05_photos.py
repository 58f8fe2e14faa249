"""photos: visit_photos (issue 24) and the company's photo retention

Revision ID: photos_0004
Revises: repplan_0004
Create Date: 2026-12-05 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "photos_0004"
down_revision: str | None = "repplan_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
UTC = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def upgrade() -> None:
    op.create_table(
        "visit_photos",
        sa.Column("id", GUID, nullable=False),
        sa.Column("checkin_id", GUID, nullable=False),
        sa.Column("customer_id", GUID, nullable=False),
        sa.Column("rep_id", GUID, nullable=False),
        sa.Column("company_id", GUID, nullable=True),
        sa.Column("content_type", sa.String(length=16), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("upload_sha256", sa.String(length=64), nullable=False),
        sa.Column("image_key", sa.String(length=200), nullable=False),
        sa.Column("thumb_key", sa.String(length=200), nullable=False),
        sa.Column("taken_at", UTC, nullable=True),
        sa.Column("received_at", UTC, nullable=False),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("lng", sa.Double(), nullable=True),
        sa.Column("geo_status", sa.String(length=12), nullable=False),
        sa.Column("deleted_at", UTC, nullable=True),
        sa.Column("deleted_by", GUID, nullable=True),
        sa.Column("delete_reason", sa.String(length=500), nullable=True),
        sa.Column("files_purged_at", UTC, nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["checkin_id"], ["checkins.id"], name=op.f("fk_visit_photos_checkin_id_checkins")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_visit_photos_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["rep_id"], ["users.id"], name=op.f("fk_visit_photos_rep_id_users")),
        sa.ForeignKeyConstraint(
            ["company_id"], ["org_units.id"], name=op.f("fk_visit_photos_company_id_org_units")
        ),
        sa.ForeignKeyConstraint(["deleted_by"], ["users.id"], name=op.f("fk_visit_photos_deleted_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_photos")),
    )
    op.create_index("ix_visit_photos_checkin_id", "visit_photos", ["checkin_id"], unique=False)
    op.create_index(
        "ix_visit_photos_customer_id_received_at", "visit_photos", ["customer_id", "received_at"], unique=False
    )
    op.create_index(
        "ix_visit_photos_company_id_received_at", "visit_photos", ["company_id", "received_at"], unique=False
    )
    op.create_index(
        "ix_visit_photos_deleted_at_files_purged_at",
        "visit_photos",
        ["deleted_at", "files_purged_at"],
        unique=False,
    )
    with op.batch_alter_table("org_settings") as batch:
        batch.add_column(sa.Column("photo_retention_days", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("org_settings") as batch:
        batch.drop_column("photo_retention_days")
    for name in (
        "ix_visit_photos_deleted_at_files_purged_at",
        "ix_visit_photos_company_id_received_at",
        "ix_visit_photos_customer_id_received_at",
        "ix_visit_photos_checkin_id",
    ):
        op.drop_index(name, table_name="visit_photos")
    op.drop_table("visit_photos")
