"""Guards: uncertainty and negation cues, with history and a starter set

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 03:30:00
"""

from alembic import op  # noqa: F401

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
