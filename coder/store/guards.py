"""The guard table in the database: guards and their history (coder.store.versioned, as rules
and normalization entries are kept). Every function takes an open Connection and leaves the
transaction to the caller; every change bumps the rule-base version, so a run retries failures."""

from __future__ import annotations

from dataclasses import replace as dc_replace
from typing import Any

from sqlalchemy import Connection, func, select

from coder.db.models import guard, guard_history
from rulebase.guards import Guard, GuardInvalid, Guards

from .history import require_author
from .versioned import Versioned

GUARDS = Versioned(
    table=guard,
    history_table=guard_history,
    history_key="guard_id",
    columns={
        "position": "seq_no",
        "cue": "cue",
        "kind": "kind",
        "scope": "scope",
        "not_within": "not_within",
        "enabled": "enabled",
        "note": "note",
    },
    make=Guard,
    noun="guard",
    invalid=GuardInvalid,
)
EDITABLE = GUARDS.editable
fields_of = GUARDS.fields_of


def load(conn: Connection, include_disabled: bool = False) -> list[Guard]:
    """The guards in table order (position, then id)."""
    q = select(guard).order_by(guard.c.seq_no, guard.c.id)
    if not include_disabled:
        q = q.where(guard.c.enabled == True)  # noqa: E712 - SQL comparison
    return [GUARDS.from_row(r) for r in conn.execute(q)]


def compiled(conn: Connection) -> Guards:
    """The enabled table as a run applies it."""
    return Guards(load(conn))


def get(conn: Connection, guard_id: int) -> Guard:
    return GUARDS.get(conn, guard_id)


def next_position(conn: Connection) -> int:
    top = conn.execute(select(func.max(guard.c.seq_no))).scalar()
    return (top or 0) + 10


def add(conn: Connection, item: Guard, author: str, reason: str | None, rb_version: int | None = None) -> Guard:
    """Insert a guard (position 0: after the last one), with its history row."""
    require_author(author)
    if item.position == 0:
        item = dc_replace(item, position=next_position(conn))
    return GUARDS.insert(conn, item, author, reason, rb_version)


def proposed(conn: Connection, guard_id: int, changes: dict[str, Any]) -> tuple[Guard, Guard]:
    """(the stored guard, it with `changes` at the next version), validated; nothing written."""
    old = get(conn, guard_id)
    return old, GUARDS.proposed(old, changes)


def replace(
    conn: Connection, old: Guard, new: Guard, author: str, reason: str | None, rb_version: int | None = None
) -> Guard:
    """Store `new` over `old` (unchanged fields: nothing written, `old` returned)."""
    require_author(author)
    if fields_of(new) == fields_of(old):
        return old
    return GUARDS.replace(conn, old, new, author, reason, rb_version)


def history(conn: Connection, guard_id: int) -> list[dict[str, Any]]:
    return GUARDS.history(conn, guard_id)
