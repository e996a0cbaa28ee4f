"""normalization table and its history

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 02:14:59.920580
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('norm_rule',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('seq_no', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('find_text', sa.String(length=200), nullable=False),
    sa.Column('replace_text', sa.String(length=200), nullable=False),
    sa.Column('enabled', sa.SmallInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.CheckConstraint('enabled IN (0, 1)', name=op.f('ck_norm_rule_enabled')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_norm_rule'))
    )
    op.create_table('norm_history',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('norm_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('old_values', sa.Text(), nullable=True),
    sa.Column('new_values', sa.Text(), nullable=True),
    sa.Column('rulebase_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['norm_id'], ['norm_rule.id'], name=op.f('fk_norm_history_norm_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_norm_history'))
    )
    with op.batch_alter_table('norm_history', schema=None) as batch_op:
        batch_op.create_index('ix_norm_history_norm_id', ['norm_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('norm_history', schema=None) as batch_op:
        batch_op.drop_index('ix_norm_history_norm_id')

    op.drop_table('norm_history')
    op.drop_table('norm_rule')
