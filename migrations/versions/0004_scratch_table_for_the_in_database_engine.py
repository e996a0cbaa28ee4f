"""scratch table for the in-database engine

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 02:44:00.230634
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('match_text',
    sa.Column('run_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('diagnosis_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('normalized', sa.String(length=1000), nullable=False),
    sa.PrimaryKeyConstraint('run_id', 'diagnosis_id', name=op.f('pk_match_text'))
    )


def downgrade() -> None:
    op.drop_table('match_text')
