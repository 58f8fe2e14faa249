"""visit forms (issue 24): company-defined forms, their versions, and the answers of each visit

Revision ID: forms_0004
Revises: photos_0004
Create Date: 2026-12-05 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "forms_0004"
down_revision: str | None = "photos_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
UTC = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "visit_forms",
        sa.Column("id", GUID, nullable=False),
        sa.Column("company_id", GUID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("grades", JSON, nullable=False),
        sa.Column("statuses", JSON, nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["org_units.id"], name=op.f("fk_visit_forms_company_id_org_units"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_forms")),
    )
    op.create_index("ix_visit_forms_company_id", "visit_forms", ["company_id"], unique=False)
    op.create_table(
        "visit_form_versions",
        sa.Column("id", GUID, nullable=False),
        sa.Column("form_id", GUID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("created_by", GUID, nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_visit_form_versions_created_by_users")),
        sa.ForeignKeyConstraint(
            ["form_id"], ["visit_forms.id"], name=op.f("fk_visit_form_versions_form_id_visit_forms"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_form_versions")),
        sa.UniqueConstraint("form_id", "version", name=op.f("uq_visit_form_versions_form_id")),
    )
    op.create_table(
        "visit_form_answers",
        sa.Column("id", GUID, nullable=False),
        sa.Column("checkin_id", GUID, nullable=False),
        sa.Column("form_id", GUID, nullable=False),
        sa.Column("form_version", sa.Integer(), nullable=False),
        sa.Column("rep_id", GUID, nullable=False),
        sa.Column("customer_id", GUID, nullable=False),
        sa.Column("answered_at", UTC, nullable=False),
        sa.Column("values", JSON, nullable=False),
        sa.Column("photo_count", sa.Integer(), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["checkin_id"], ["checkins.id"], name=op.f("fk_visit_form_answers_checkin_id_checkins"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_visit_form_answers_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["form_id"], ["visit_forms.id"], name=op.f("fk_visit_form_answers_form_id_visit_forms")),
        sa.ForeignKeyConstraint(["rep_id"], ["users.id"], name=op.f("fk_visit_form_answers_rep_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_form_answers")),
        sa.UniqueConstraint("checkin_id", "form_id", name=op.f("uq_visit_form_answers_checkin_id")),
    )
    op.create_index(
        "ix_visit_form_answers_form_id_answered_at", "visit_form_answers", ["form_id", "answered_at"], unique=False
    )
    op.create_index(
        "ix_visit_form_answers_customer_id_answered_at",
        "visit_form_answers",
        ["customer_id", "answered_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_visit_form_answers_customer_id_answered_at", table_name="visit_form_answers")
    op.drop_index("ix_visit_form_answers_form_id_answered_at", table_name="visit_form_answers")
    op.drop_table("visit_form_answers")
    op.drop_table("visit_form_versions")
    op.drop_index("ix_visit_forms_company_id", table_name="visit_forms")
    op.drop_table("visit_forms")
