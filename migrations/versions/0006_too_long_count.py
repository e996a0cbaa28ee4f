"""coding_run.too_long: descriptions whose normalized text is longer than a log row holds

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("coding_run") as batch:
        batch.add_column(sa.Column("too_long", sa.Integer(), nullable=False, server_default=sa.text("0")))


def downgrade() -> None:
    with op.batch_alter_table("coding_run") as batch:
        batch.drop_column("too_long")
