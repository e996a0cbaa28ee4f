"""The cue that stopped a guarded line: the guard and the cue's place, in the failure log

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 18:00:00

An uncertain or negated line failed because a guard's cue stood beside a diagnosis: its failure
row names the guard (id and version, as guard_history keeps them) and where the cue stands in the
normalized text ([cue_start, cue_end), 0-based characters, like code_log's match span), so a
coder sees which word stopped it. NULL for every other failure, and for failures logged before.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fail_log") as batch:
        batch.add_column(sa.Column("guard_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_fail_log_guard_id"), "guard", ["guard_id"], ["id"])
        batch.add_column(sa.Column("guard_version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("cue_start", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("cue_end", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fail_log") as batch:
        batch.drop_column("cue_end")
        batch.drop_column("cue_start")
        batch.drop_column("guard_version")
        batch.drop_constraint(op.f("fk_fail_log_guard_id"), type_="foreignkey")
        batch.drop_column("guard_id")
