"""Several codes a line: the codes after a line's first, a log row per code, the audit's lists

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 06:00:00

A line that names several diagnoses at separate places (冠状动脉粥样硬化性心脏病 不稳定型心绞痛)
is coded with each: `diagnosis.code` stays the first (in text order), `other_codes` holds the rest,
comma-separated, NULL for a line of one code. The success log gets a row per code, numbered by
`position` (0 the first), so its unique key gains the position. An audit action keeps the lists
before and after beside the first codes it kept already.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("diagnosis") as batch:
        batch.add_column(sa.Column("other_codes", sa.String(200), nullable=True))
    with op.batch_alter_table("code_log") as batch:
        batch.add_column(sa.Column("position", sa.Integer(), nullable=False, server_default=sa.text("0")))
        batch.drop_constraint("uq_code_log_run_diag", type_="unique")
        batch.create_unique_constraint("uq_code_log_run_diag", ["run_id", "diagnosis_id", "position"])
    with op.batch_alter_table("audit_action") as batch:
        batch.add_column(sa.Column("old_other_codes", sa.String(200), nullable=True))
        batch.add_column(sa.Column("new_other_codes", sa.String(200), nullable=True))
    # The audited lines' index gains the other codes: reports count a line's codes one by one,
    # still from the index alone.
    _audited_index(["updated_at", "status", "code", "attempted_at", "kind", "other_codes"])


def _audited_index(columns: list[str]) -> None:
    op.drop_index("ix_diagnosis_audited", table_name="diagnosis")
    # models.audited's form (OR, not IN: SQLite rebuilds an IN list's table for every row a run updates)
    audited = sa.text("status = 'confirmed' OR status = 'corrected' OR status = 'manual'")
    op.create_index("ix_diagnosis_audited", "diagnosis", columns, sqlite_where=audited, postgresql_where=audited)


def downgrade() -> None:
    _audited_index(["updated_at", "status", "code", "attempted_at", "kind"])
    with op.batch_alter_table("audit_action") as batch:
        batch.drop_column("new_other_codes")
        batch.drop_column("old_other_codes")
    op.execute("DELETE FROM code_log WHERE position > 0")
    with op.batch_alter_table("code_log") as batch:
        batch.drop_constraint("uq_code_log_run_diag", type_="unique")
        batch.create_unique_constraint("uq_code_log_run_diag", ["run_id", "diagnosis_id"])
        batch.drop_column("position")
    with op.batch_alter_table("diagnosis") as batch:
        batch.drop_column("other_codes")
