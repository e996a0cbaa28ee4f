"""initial schema: code dictionary, rules and their history, diagnoses, runs, logs

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 10:55:45.051715
"""
import datetime

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('coding_run',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('rulebase_version', sa.Integer(), nullable=False),
    sa.Column('engine', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('considered', sa.Integer(), nullable=False),
    sa.Column('coded', sa.Integer(), nullable=False),
    sa.Column('no_match', sa.Integer(), nullable=False),
    sa.Column('ambiguous', sa.Integer(), nullable=False),
    sa.Column('invalid_input', sa.Integer(), nullable=False),
    sa.Column('timeouts', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=1000), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coding_run'))
    )
    op.create_table('icd_code',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('parent', sa.String(length=32), nullable=True),
    sa.Column('active', sa.SmallInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('active IN (0, 1)', name=op.f('ck_icd_code_active')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_icd_code'))
    )
    op.create_table('rulebase_state',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rulebase_state'))
    )
    # The rule-base version counter starts at 0; every rule change bumps it in place.
    state = sa.table("rulebase_state", sa.column("id", sa.Integer), sa.column("version", sa.Integer),
                     sa.column("changed_at", sa.DateTime))
    op.bulk_insert(state, [{"id": 1, "version": 0, "changed_at": datetime.datetime(2000, 1, 1)}])
    op.create_table('coding_rule',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('pattern', sa.String(length=512), nullable=False),
    sa.Column('exclude_pattern', sa.String(length=512), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.SmallInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.CheckConstraint('enabled IN (0, 1)', name=op.f('ck_coding_rule_enabled')),
    sa.ForeignKeyConstraint(['code'], ['icd_code.code'], name=op.f('fk_coding_rule_code')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coding_rule'))
    )
    op.create_index('ix_coding_rule_code', 'coding_rule', ['code'], unique=False)

    op.create_table('diagnosis',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('record_id', sa.String(length=64), nullable=False),
    sa.Column('seq_no', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('description', sa.String(length=1000), nullable=True),
    sa.Column('code', sa.String(length=32), nullable=True),
    sa.Column('coded_by', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('fail_reason', sa.String(length=16), nullable=True),
    sa.Column('attempted_at', sa.DateTime(), nullable=True),
    sa.Column('attempted_version', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['code'], ['icd_code.code'], name=op.f('fk_diagnosis_code')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_diagnosis')),
    sa.UniqueConstraint('record_id', 'kind', 'seq_no', name='uq_diagnosis_record')
    )
    op.create_index('ix_diagnosis_status', 'diagnosis', ['status'], unique=False)

    op.create_table('run_lock',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('acquired_at', sa.DateTime(), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['coding_run.id'], name=op.f('fk_run_lock_run_id')),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_run_lock'))
    )
    op.create_table('code_log',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('diagnosis_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('rule_version', sa.Integer(), nullable=False),
    sa.Column('normalized', sa.String(length=1000), nullable=False),
    sa.Column('match_start', sa.Integer(), nullable=False),
    sa.Column('match_end', sa.Integer(), nullable=False),
    sa.Column('logged_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['diagnosis_id'], ['diagnosis.id'], name=op.f('fk_code_log_diagnosis_id')),
    sa.ForeignKeyConstraint(['rule_id'], ['coding_rule.id'], name=op.f('fk_code_log_rule_id')),
    sa.ForeignKeyConstraint(['run_id'], ['coding_run.id'], name=op.f('fk_code_log_run_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_code_log')),
    sa.UniqueConstraint('run_id', 'diagnosis_id', name='uq_code_log_run_diag')
    )
    op.create_index('ix_code_log_diagnosis_id', 'code_log', ['diagnosis_id'], unique=False)

    op.create_table('fail_log',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('diagnosis_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('candidates', sa.String(length=2000), nullable=True),
    sa.Column('normalized', sa.String(length=1000), nullable=True),
    sa.Column('logged_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['diagnosis_id'], ['diagnosis.id'], name=op.f('fk_fail_log_diagnosis_id')),
    sa.ForeignKeyConstraint(['run_id'], ['coding_run.id'], name=op.f('fk_fail_log_run_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fail_log')),
    sa.UniqueConstraint('run_id', 'diagnosis_id', name='uq_fail_log_run_diag')
    )
    op.create_index('ix_fail_log_diagnosis_id', 'fail_log', ['diagnosis_id'], unique=False)

    op.create_table('rule_history',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('old_values', sa.Text(), nullable=True),
    sa.Column('new_values', sa.Text(), nullable=True),
    sa.Column('rulebase_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['rule_id'], ['coding_rule.id'], name=op.f('fk_rule_history_rule_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_history'))
    )
    op.create_index('ix_rule_history_rule_id', 'rule_history', ['rule_id'], unique=False)



def downgrade() -> None:
    op.drop_index('ix_rule_history_rule_id', table_name='rule_history')

    op.drop_table('rule_history')
    op.drop_index('ix_fail_log_diagnosis_id', table_name='fail_log')

    op.drop_table('fail_log')
    op.drop_index('ix_code_log_diagnosis_id', table_name='code_log')

    op.drop_table('code_log')
    op.drop_table('run_lock')
    op.drop_index('ix_diagnosis_status', table_name='diagnosis')

    op.drop_table('diagnosis')
    op.drop_index('ix_coding_rule_code', table_name='coding_rule')

    op.drop_table('coding_rule')
    op.drop_table('rulebase_state')
    op.drop_table('icd_code')
    op.drop_table('coding_run')
