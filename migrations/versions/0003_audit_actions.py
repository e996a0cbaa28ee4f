"""audit actions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 02:25:28.826823
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_action',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('diagnosis_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('person', sa.String(length=64), nullable=False),
    sa.Column('acted_at', sa.DateTime(), nullable=False),
    sa.Column('old_status', sa.String(length=16), nullable=False),
    sa.Column('old_code', sa.String(length=32), nullable=True),
    sa.Column('new_code', sa.String(length=32), nullable=False),
    sa.Column('remark', sa.String(length=500), nullable=True),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('rule_version', sa.Integer(), nullable=True),
    sa.Column('fail_reason', sa.String(length=16), nullable=True),
    sa.Column('candidates', sa.String(length=2000), nullable=True),
    sa.Column('normalized', sa.String(length=1000), nullable=True),
    sa.ForeignKeyConstraint(['diagnosis_id'], ['diagnosis.id'], name=op.f('fk_audit_action_diagnosis_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_action'))
    )
    with op.batch_alter_table('audit_action', schema=None) as batch_op:
        batch_op.create_index('ix_audit_action_acted_at', ['acted_at'], unique=False)
        batch_op.create_index('ix_audit_action_diagnosis_id', ['diagnosis_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('audit_action', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_action_diagnosis_id')
        batch_op.drop_index('ix_audit_action_acted_at')

    op.drop_table('audit_action')
