"""Code systems (icd_code.code_system, aliases), the homepage table, and (PostgreSQL) a NOTIFY for watch

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# `icdcoder watch` on PostgreSQL listens on this channel; a statement that adds or resets
# pending lines wakes it (one notification per statement, not per row).
NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION icdcoder_notify_pending() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('icdcoder_pending', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""
NOTIFY_TRIGGERS = (
    "CREATE TRIGGER diagnosis_pending_insert AFTER INSERT ON diagnosis "
    "FOR EACH STATEMENT EXECUTE FUNCTION icdcoder_notify_pending()",
    "CREATE TRIGGER diagnosis_pending_update AFTER UPDATE OF status, description ON diagnosis "
    "FOR EACH STATEMENT EXECUTE FUNCTION icdcoder_notify_pending()",
)


def upgrade() -> None:
    with op.batch_alter_table("icd_code") as batch:
        batch.add_column(sa.Column("code_system", sa.String(16), nullable=False, server_default=sa.text("'icd10'")))
        batch.add_column(sa.Column("aliases", sa.String(500), nullable=True))
        batch.create_index("ix_icd_code_code_system", ["code_system"])
    op.create_table(
        "homepage",
        sa.Column("record_id", sa.String(64), nullable=False),
        sa.Column("mrn", sa.String(64), nullable=False),
        sa.Column("admission_no", sa.String(16), nullable=True),
        sa.Column("sex", sa.String(1), nullable=True),
        sa.Column("age", sa.String(16), nullable=True),
        sa.Column("birth_date", sa.DateTime(), nullable=True),
        sa.Column("admitted_at", sa.DateTime(), nullable=True),
        sa.Column("discharged_at", sa.DateTime(), nullable=True),
        sa.Column("department", sa.String(100), nullable=True),
        sa.Column("discharge_text", sa.String(1000), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("sex IN ('M', 'F')", name=op.f("ck_homepage_sex")),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_homepage")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NOTIFY_FUNCTION)
        for trigger in NOTIFY_TRIGGERS:
            op.execute(trigger)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS diagnosis_pending_update ON diagnosis")
        op.execute("DROP TRIGGER IF EXISTS diagnosis_pending_insert ON diagnosis")
        op.execute("DROP FUNCTION IF EXISTS icdcoder_notify_pending()")
    op.drop_table("homepage")
    with op.batch_alter_table("icd_code") as batch:
        batch.drop_index("ix_icd_code_code_system")
        batch.drop_column("aliases")
        batch.drop_column("code_system")
