"""Guards: uncertainty and negation cues, with history and a starter set

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 03:30:00

A guarded line (疑似肺炎, 肺部阴影待查, 排除心肌梗死) fails as uncertain or negated instead of being
auto-coded; the run counts them in two new coding_run columns. The starter set is written here,
as it stands on this day (rulebase.guards.STARTER is held equal to it by a test), with a history
row each at the current rule-base version, so a fresh `icdcoder db upgrade` never auto-codes 疑似肺炎.
The version is not bumped: guards only turn would-be codes into failures, so retrying an upgraded
database's failures could gain nothing (its coded lines are never retried).
"""

import datetime
import json

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

AUTHOR = "icdcoder"
REASON = "starter set (migration 0011)"
# (cue, kind, scope, not_within, note), in table order; seq_no 10, 20, ...
STARTER = (
    ("疑似", "uncertain", "before", None, "疑似肺结核"),
    ("可疑", "uncertain", "before", None, "可疑肺结核"),
    ("可能", "uncertain", "any", None, "可能为急性胰腺炎; 急性胰腺炎可能"),
    ("考虑", "uncertain", "before", "不考虑", "考虑肺炎; 不考虑 is a negation"),
    ("待查", "uncertain", "after", None, "肺部阴影待查"),
    ("待排", "uncertain", "any", None, "急性心肌梗死待排; 待排除 included"),
    ("待除外", "uncertain", "any", None, "待除外肺结核"),
    ("不除外", "uncertain", "any", None, "不除外肺结核; 肺结核不除外"),
    ("不排除", "uncertain", "any", None, "不排除肺结核"),
    ("?", "uncertain", "any", None, "冠心病?, ?肺癌 (also ？, which NFKC writes ?)"),
    ("排除", "negated", "before", "不排除|待排除", "排除心肌梗死"),
    ("除外", "negated", "before", "不除外|待除外", "除外肺结核"),
    ("否认", "negated", "before", None, "否认高血压病史"),
    ("未见", "negated", "before", None, "未见骨折"),
    ("不考虑", "negated", "before", None, "不考虑肺结核"),
)


def upgrade() -> None:
    op.create_table(
        "guard",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("seq_no", sa.Integer(), nullable=False),
        sa.Column("cue", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("not_within", sa.String(length=200), nullable=True),
        sa.Column("enabled", sa.SmallInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.CheckConstraint("enabled IN (0, 1)", name=op.f("ck_guard_enabled")),
        sa.CheckConstraint("kind IN ('uncertain', 'negated')", name=op.f("ck_guard_kind")),
        sa.CheckConstraint("scope IN ('before', 'after', 'any')", name=op.f("ck_guard_scope")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guard")),
    )
    op.create_table(
        "guard_history",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("guard_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("old_values", sa.Text(), nullable=True),
        sa.Column("new_values", sa.Text(), nullable=True),
        sa.Column("rulebase_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["guard_id"], ["guard.id"], name=op.f("fk_guard_history_guard_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guard_history")),
    )
    with op.batch_alter_table("guard_history", schema=None) as batch_op:
        batch_op.create_index("ix_guard_history_guard_id", ["guard_id"], unique=False)
    with op.batch_alter_table("coding_run") as batch:
        batch.add_column(sa.Column("uncertain", sa.Integer(), nullable=False, server_default=sa.text("0")))
        batch.add_column(sa.Column("negated", sa.Integer(), nullable=False, server_default=sa.text("0")))
    _insert_starter_set()


def _insert_starter_set() -> None:
    conn = op.get_bind()
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    rb_version = conn.execute(sa.text("SELECT version FROM rulebase_state WHERE id = 1")).scalar_one()
    guard = sa.table(
        "guard",
        *(sa.column(c) for c in ("id", "seq_no", "cue", "kind", "scope", "not_within", "enabled", "version")),
        *(sa.column(c) for c in ("author", "changed_at", "note")),
    )
    history = sa.table(
        "guard_history",
        *(sa.column(c) for c in ("guard_id", "version", "action", "author", "changed_at", "reason")),
        *(sa.column(c) for c in ("old_values", "new_values", "rulebase_version")),
    )
    rows = []
    for n, (cue, kind, scope, not_within, note) in enumerate(STARTER):
        values = {"cue": cue, "kind": kind, "scope": scope, "not_within": not_within, "note": note}
        rows.append({"seq_no": 10 * (n + 1), **values})
    for row in rows:
        conn.execute(guard.insert().values(enabled=1, version=1, author=AUTHOR, changed_at=now, **row))
    ids = dict(conn.execute(sa.text("SELECT seq_no, id FROM guard")).all())  # the table was empty
    for row in rows:
        # The history row holds the fields as coder.store.guards keeps them (position, not seq_no).
        fields = {"position": row["seq_no"], **{k: v for k, v in row.items() if k != "seq_no"}, "enabled": True}
        conn.execute(
            history.insert().values(
                guard_id=ids[row["seq_no"]],
                version=1,
                action="insert",
                author=AUTHOR,
                changed_at=now,
                reason=REASON,
                old_values=None,
                new_values=json.dumps(fields, ensure_ascii=False),
                rulebase_version=rb_version,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("coding_run") as batch:
        batch.drop_column("negated")
        batch.drop_column("uncertain")
    with op.batch_alter_table("guard_history", schema=None) as batch_op:
        batch_op.drop_index("ix_guard_history_guard_id")
    op.drop_table("guard_history")
    op.drop_table("guard")
