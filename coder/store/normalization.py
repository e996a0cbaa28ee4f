"""The normalization table in the database: entries, their history, validation of the whole table.

Like rulestore, every function takes an open Connection and leaves the transaction to the caller.
Every change bumps the rule-base version: a new replacement can code old failures.
"""

from __future__ import annotations

from dataclasses import replace as dc_replace
from typing import Any

from sqlalchemy import Connection, func, select, update

from coder.db.models import coding_rule, norm_history, norm_rule, utcnow
from coder.errors import NotFound
from rulebase.normalize import LITERAL, Normalizer, Replacement, ReplacementInvalid, table_problems

from .history import bump_rulebase_version, change_action, read_history, require_author, write_history

EDITABLE = ("position", "kind", "find", "replace", "enabled", "note")


def _from_row(row: Any) -> Replacement:
    return Replacement(
        find=row.find_text,
        replace=row.replace_text,
        kind=row.kind,
        position=row.seq_no,
        enabled=row.enabled,
        id=row.id,
        version=row.version,
        note=row.note,
    )


def _values(e: Replacement) -> dict[str, Any]:
    return {
        "seq_no": e.position,
        "kind": e.kind,
        "find_text": e.find,
        "replace_text": e.replace,
        "enabled": e.enabled,
        "note": e.note,
    }


def fields_of(e: Replacement) -> dict[str, Any]:
    return {k: getattr(e, k) for k in EDITABLE}


def load(conn: Connection, include_disabled: bool = False) -> list[Replacement]:
    q = select(norm_rule).order_by(norm_rule.c.seq_no, norm_rule.c.id)
    if not include_disabled:
        q = q.where(norm_rule.c.enabled == True)  # noqa: E712 - SQL comparison
    return [_from_row(r) for r in conn.execute(q)]


def normalizer(conn: Connection) -> Normalizer:
    return Normalizer(load(conn))


def get(conn: Connection, norm_id: int) -> Replacement:
    row = conn.execute(select(norm_rule).where(norm_rule.c.id == norm_id)).first()
    if row is None:
        raise NotFound(f"no normalization entry with id {norm_id}")
    return _from_row(row)


def next_position(conn: Connection) -> int:
    top = conn.execute(select(func.max(norm_rule.c.seq_no))).scalar()
    return (top or 0) + 10


def check_table(entries: list[Replacement]) -> None:
    problems = table_problems(entries)
    if problems:
        raise ReplacementInvalid("; ".join(problems))


def _history(conn: Connection, norm_id: int, *args) -> None:
    write_history(conn, norm_history, {"norm_id": norm_id}, *args)


def add(
    conn: Connection,
    entry: Replacement,
    author: str,
    reason: str | None,
    rb_version: int | None = None,
    check: bool = True,
) -> Replacement:
    """Insert an entry (position defaults to after the last one); the table must stay stable."""
    author = require_author(author)
    if entry.position == 0:
        entry = dc_replace(entry, position=next_position(conn))
    if check:
        check_table(load(conn) + [entry])
    if rb_version is None:
        rb_version = bump_rulebase_version(conn)
    new_id = conn.execute(
        norm_rule.insert().values(**_values(entry), version=1, author=author, changed_at=utcnow())
    ).inserted_primary_key[0]
    stored = dc_replace(entry, id=new_id, version=1)
    _history(conn, new_id, 1, "insert", author, reason, None, fields_of(stored), rb_version)
    return stored


def change(
    conn: Connection,
    norm_id: int,
    author: str,
    reason: str | None,
    rb_version: int | None = None,
    check: bool = True,
    **changes: Any,
) -> Replacement:
    author = require_author(author)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ReplacementInvalid(f"unknown field(s) {', '.join(sorted(unknown))}; allowed: {', '.join(EDITABLE)}")
    old = get(conn, norm_id)
    new = Replacement(**{**fields_of(old), **changes, "id": norm_id, "version": old.version + 1})
    if fields_of(new) == fields_of(old):
        return old
    if check:
        check_table([e for e in load(conn) if e.id != norm_id] + [new])
    if rb_version is None:
        rb_version = bump_rulebase_version(conn)
    conn.execute(
        update(norm_rule)
        .where(norm_rule.c.id == norm_id)
        .values(**_values(new), version=new.version, author=author, changed_at=utcnow())
    )
    action = change_action(old.enabled, new.enabled, set(changes))
    _history(conn, norm_id, new.version, action, author, reason, fields_of(old), fields_of(new), rb_version)
    return new


def history(conn: Connection, norm_id: int) -> list[dict[str, Any]]:
    get(conn, norm_id)
    return read_history(conn, norm_history, norm_history.c.norm_id, norm_id)


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
