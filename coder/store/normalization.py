"""The normalization table in the database: entries, their history, validation of the whole table.

Like rulestore, every function takes an open Connection and leaves the transaction to the caller.
Every change bumps the rule-base version: a new replacement can code old failures.
"""

from __future__ import annotations

from dataclasses import replace as dc_replace
from typing import Any

from sqlalchemy import Connection, func, select

from coder.db.models import coding_rule, norm_history, norm_rule
from rulebase.dialect import DEFAULT_TIMEOUT
from rulebase.normalize import LITERAL, Normalizer, Replacement, ReplacementInvalid, table_problems

from .history import require_author
from .versioned import Versioned

# The fields a person edits, and the column each is kept in.
ENTRIES = Versioned(
    table=norm_rule,
    history_table=norm_history,
    history_key="norm_id",
    columns={
        "position": "seq_no",
        "kind": "kind",
        "find": "find_text",
        "replace": "replace_text",
        "enabled": "enabled",
        "note": "note",
    },
    make=Replacement,
    noun="normalization entry",
    invalid=ReplacementInvalid,
)
EDITABLE = ENTRIES.editable
_from_row = ENTRIES.from_row
fields_of = ENTRIES.fields_of


def load(conn: Connection, include_disabled: bool = False) -> list[Replacement]:
    q = select(norm_rule).order_by(norm_rule.c.seq_no, norm_rule.c.id)
    if not include_disabled:
        q = q.where(norm_rule.c.enabled == True)  # noqa: E712 - SQL comparison
    return [_from_row(r) for r in conn.execute(q)]


def normalizer(conn: Connection, timeout: float = DEFAULT_TIMEOUT) -> Normalizer:
    """The table as the run applies it; a pattern entry may spend `timeout` seconds on a text."""
    return Normalizer(load(conn), timeout)


def get(conn: Connection, norm_id: int) -> Replacement:
    return ENTRIES.get(conn, norm_id)


def next_position(conn: Connection) -> int:
    top = conn.execute(select(func.max(norm_rule.c.seq_no))).scalar()
    return (top or 0) + 10


def check_table(entries: list[Replacement]) -> None:
    problems = table_problems(entries)
    if problems:
        raise ReplacementInvalid("; ".join(problems))


def add(conn: Connection, entry: Replacement, author: str, reason: str | None, rb_version: int | None = None):
    """Insert an entry (position defaults to after the last one); the table must stay stable."""
    require_author(author)
    if entry.position == 0:
        entry = dc_replace(entry, position=next_position(conn))
    check_table(load(conn) + [entry])
    return ENTRIES.insert(conn, entry, author, reason, rb_version)


def change(conn: Connection, norm_id: int, author: str, reason: str | None, **changes: Any) -> Replacement:
    """Change an entry's fields as a new version; the table must stay stable."""
    require_author(author)
    old = get(conn, norm_id)
    new = ENTRIES.proposed(old, changes)
    if fields_of(new) == fields_of(old):
        return old
    check_table([e for e in load(conn) if e.id != norm_id] + [new])
    return ENTRIES.replace(conn, old, new, author, reason, None)


def history(conn: Connection, norm_id: int) -> list[dict[str, Any]]:
    return ENTRIES.history(conn, norm_id)


def rules_mentioning(conn: Connection, entry: Replacement) -> list[int]:
    """Enabled rules whose pattern holds text this entry rewrites: after it, they never see that text."""
    if entry.kind != LITERAL or not entry.enabled:
        return []
    q = (
        select(coding_rule.c.id)
        .where(
            coding_rule.c.enabled == True,  # noqa: E712 - SQL comparison
            coding_rule.c.pattern.contains(entry.find, autoescape=True),
        )
        .order_by(coding_rule.c.id)
    )
    return list(conn.execute(q).scalars())
