"""Indexes for the workbench's worklist: the review order, and departments

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 01:40:00
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_diagnosis_review", "diagnosis", ["status", "fail_reason", "attempted_at", "id", "kind", "code"])
    op.create_index("ix_homepage_department", "homepage", ["department"])


def downgrade() -> None:
    op.drop_index("ix_homepage_department", table_name="homepage")
    op.drop_index("ix_diagnosis_review", table_name="diagnosis")
