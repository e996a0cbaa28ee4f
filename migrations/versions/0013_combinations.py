"""Combination codes: the combinations table, with history

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 04:00:00

A combination replaces the auto-codes of a record's lines that hold all its source codes with
its code (E11.900 + G63.2* -> E11.401+G63.2*). The table starts empty: which combinations a
hospital uses is its coders' word. code_log gains the columns that name the combination and the
lines it combined; combo_hit keeps the lines a person's code kept from combining.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

LOG_COLUMNS = ("combination_id", "combination_version", "source_ids", "source_code")


def upgrade() -> None:
    op.create_table(
        "combination",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("codes", sa.String(length=500), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("enabled", sa.SmallInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.CheckConstraint("enabled IN (0, 1)", name=op.f("ck_combination_enabled")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_combination")),
    )
    op.create_table(
        "combo_history",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("combo_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("old_values", sa.Text(), nullable=True),
        sa.Column("new_values", sa.Text(), nullable=True),
        sa.Column("rulebase_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["combo_id"], ["combination.id"], name=op.f("fk_combo_history_combo_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_combo_history")),
    )
    op.create_index("ix_combo_history_combo_id", "combo_history", ["combo_id"])
    op.create_table(
        "combo_hit",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("diagnosis_id", sa.Integer(), nullable=False),
        sa.Column("combo_id", sa.Integer(), nullable=False),
        sa.Column("combo_version", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("found_at", sa.DateTime(), nullable=False),
        sa.Column("cleared_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["diagnosis_id"], ["diagnosis.id"], name=op.f("fk_combo_hit_diagnosis_id")),
        sa.ForeignKeyConstraint(["combo_id"], ["combination.id"], name=op.f("fk_combo_hit_combo_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_combo_hit")),
    )
    op.create_index("ix_combo_hit_open", "combo_hit", ["cleared_at", "diagnosis_id"])
    op.create_index("ix_combo_hit_diagnosis_id", "combo_hit", ["diagnosis_id"])
    with op.batch_alter_table("code_log") as batch:
        batch.add_column(sa.Column("combination_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("combination_version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("source_ids", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("source_code", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("code_log") as batch:
        for name in reversed(LOG_COLUMNS):
            batch.drop_column(name)
    op.drop_index("ix_combo_hit_diagnosis_id", table_name="combo_hit")
    op.drop_index("ix_combo_hit_open", table_name="combo_hit")
    op.drop_table("combo_hit")
    op.drop_index("ix_combo_history_combo_id", table_name="combo_history")
    op.drop_table("combo_history")
    op.drop_table("combination")
