"""Code edits: the validation table, with history and a starter set

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 03:30:00

The starter set is written out here, not imported: a revision says what it did on the day. It is
the set rulebase.edits.STARTER describes (a test holds the two equal).
"""

import datetime as dt
import json

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

AUTHOR = "icdcoder"
REASON = "starter set (migration 0012)"
# kind, codes, other_codes, sex, min_days, max_days, message
STARTER = [
    ("dictionary", None, None, None, None, None, "编码不在字典中或已停用"),
    ("sex", "O00-O99", None, "F", None, None, "妊娠、分娩和产褥期编码仅用于女性"),
    ("sex", "N70-N98,C51-C58,D06,D25-D28,D39", None, "F", None, None, "女性生殖器官疾病编码仅用于女性"),
    ("sex", "N40-N51,C60-C63,D29,D40", None, "M", None, None, "男性生殖器官疾病编码仅用于男性"),
    ("age", "P00-P96", None, None, None, 28, "起源于围生期的情况仅用于出生 28 天以内"),
    ("asterisk_alone", None, None, None, None, None, "星号编码须与其剑号编码同时编码"),
    ("asterisk_alone", "G63.2", "E10-E14", None, None, None, "糖尿病性多神经病须与糖尿病编码同时编码"),
    ("asterisk_main", None, None, None, None, None, "星号编码不能作为主要诊断"),
    ("duplicate", None, None, None, None, None, "同一编码在病案中重复"),
    ("exclusive", "E10", "E11", None, None, None, "1型与2型糖尿病不能同时编码"),
    ("exclusive", "E10-E13", "E14", None, None, None, "特指类型糖尿病与未特指糖尿病不能同时编码"),
    ("exclusive", "I10", "I11-I13", None, None, None, "原发性高血压与高血压性心脏病、肾病不能同时编码"),
    ("exclusive", "O80", "O82", None, None, None, "单胎顺产与剖宫产不能同时编码"),
]
FIELDS = ("kind", "codes", "other_codes", "sex", "min_days", "max_days", "message")


def upgrade() -> None:
    code_edit = op.create_table(
        "code_edit",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("codes", sa.String(length=500), nullable=True),
        sa.Column("other_codes", sa.String(length=500), nullable=True),
        sa.Column("sex", sa.String(length=1), nullable=True),
        sa.Column("min_days", sa.Integer(), nullable=True),
        sa.Column("max_days", sa.Integer(), nullable=True),
        sa.Column("message", sa.String(length=200), nullable=False),
        sa.Column("enabled", sa.SmallInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.CheckConstraint("enabled IN (0, 1)", name=op.f("ck_code_edit_enabled")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_edit")),
    )
    edit_history = op.create_table(
        "edit_history",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("edit_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("old_values", sa.Text(), nullable=True),
        sa.Column("new_values", sa.Text(), nullable=True),
        sa.Column("rulebase_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["edit_id"], ["code_edit.id"], name=op.f("fk_edit_history_edit_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edit_history")),
    )
    op.create_index("ix_edit_history_edit_id", "edit_history", ["edit_id"])
    op.create_table(
        "edit_hit",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("diagnosis_id", sa.Integer(), nullable=False),
        sa.Column("edit_id", sa.Integer(), nullable=False),
        sa.Column("edit_version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("found_at", sa.DateTime(), nullable=False),
        sa.Column("cleared_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["diagnosis_id"], ["diagnosis.id"], name=op.f("fk_edit_hit_diagnosis_id")),
        sa.ForeignKeyConstraint(["edit_id"], ["code_edit.id"], name=op.f("fk_edit_hit_edit_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edit_hit")),
    )
    op.create_index("ix_edit_hit_open", "edit_hit", ["cleared_at", "kind", "diagnosis_id"])
    op.create_index("ix_edit_hit_diagnosis_id", "edit_hit", ["diagnosis_id"])

    conn = op.get_bind()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rb_version = conn.execute(sa.text("SELECT version FROM rulebase_state WHERE id = 1")).scalar() or 0
    for row in STARTER:
        values = dict(zip(FIELDS, row, strict=True))
        new_id = conn.execute(
            code_edit.insert().values(**values, enabled=1, version=1, author=AUTHOR, changed_at=now, note=None)
        ).inserted_primary_key[0]
        shown = {**values, "enabled": True, "note": None}
        conn.execute(
            edit_history.insert().values(
                edit_id=new_id,
                version=1,
                action="insert",
                author=AUTHOR,
                changed_at=now,
                reason=REASON,
                old_values=None,
                new_values=json.dumps(shown, ensure_ascii=False),
                rulebase_version=rb_version,
            )
        )


def downgrade() -> None:
    op.drop_index("ix_edit_hit_diagnosis_id", table_name="edit_hit")
    op.drop_index("ix_edit_hit_open", table_name="edit_hit")
    op.drop_table("edit_hit")
    op.drop_index("ix_edit_history_edit_id", table_name="edit_history")
    op.drop_table("edit_history")
    op.drop_table("code_edit")
