"""The discharge department on each line, for the worklist's department filter; the audited-history index

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 03:30:00

The department is the homepage's (出院科别); a copy on the line lets the worklist count and page
one department's lines from an index range instead of joining every homepage of the department.
The audited history (a person's status) by day, for reports, rule tests and mining: a partial
index on SQLite and PostgreSQL (a run never writes those statuses), a whole one on Oracle.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("diagnosis") as batch:
        batch.add_column(sa.Column("department", sa.String(100), nullable=True))
    op.execute(
        "UPDATE diagnosis SET department ="
        " (SELECT h.department FROM homepage h WHERE h.record_id = diagnosis.record_id)"
        " WHERE record_id IN (SELECT record_id FROM homepage WHERE department IS NOT NULL)"
    )
    with_department = sa.text("department IS NOT NULL")  # a line without one costs a run nothing
    op.create_index(
        "ix_diagnosis_department",
        "diagnosis",
        ["department", "status", "fail_reason", "attempted_at", "id"],
        sqlite_where=with_department,
        postgresql_where=with_department,
    )

    audited = sa.text("status IN ('confirmed', 'corrected', 'manual')")
    op.create_index(
        "ix_diagnosis_audited",
        "diagnosis",
        ["updated_at", "status", "code", "attempted_at", "kind"],
        sqlite_where=audited,
        postgresql_where=audited,
    )


def downgrade() -> None:
    op.drop_index("ix_diagnosis_audited", table_name="diagnosis")
    op.drop_index("ix_diagnosis_department", table_name="diagnosis")
    with op.batch_alter_table("diagnosis") as batch:
        batch.drop_column("department")
