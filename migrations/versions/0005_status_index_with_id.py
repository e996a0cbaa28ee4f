"""diagnosis status index on (status, id): batches read in id order without a sort

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 03:20:00
"""
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_diagnosis_status', table_name='diagnosis')
    op.create_index('ix_diagnosis_status', 'diagnosis', ['status', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_diagnosis_status', table_name='diagnosis')
    op.create_index('ix_diagnosis_status', 'diagnosis', ['status'], unique=False)
