"""What every change to the rule base leaves behind: a history row (who, when, why, the values
before and after) and a new rule-base version. Rules and normalization entries share these."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from sqlalchemy import Connection, select, update

from coder.db.models import PERSON_LENGTH, rulebase_state, utcnow
from rulebase.errors import RuleInvalid


class Shown(NamedTuple):
    """A rule or normalization entry as stored, with its history, oldest first."""

    item: Any
    history: list[dict[str, Any]]


def rulebase_version(conn: Connection) -> int:
    return conn.execute(select(rulebase_state.c.version).where(rulebase_state.c.id == 1)).scalar_one()


def bump_rulebase_version(conn: Connection) -> int:
    # An UPDATE in place takes the row lock, so concurrent authors get distinct versions.
    conn.execute(
        update(rulebase_state)
        .where(rulebase_state.c.id == 1)
        .values(version=rulebase_state.c.version + 1, changed_at=utcnow())
    )
    return rulebase_version(conn)


def require_author(author: str | None) -> str:
    author = (author or "").strip()
    if len(author) > PERSON_LENGTH:
        raise RuleInvalid(f"the author's name is longer than {PERSON_LENGTH} characters")
    if not author:
        raise RuleInvalid("an author is required for every change to the rule base (--author NAME)")
    return author


def write_history(
    conn: Connection,
    table,
    key: dict[str, int],
    version: int,
    action: str,
    author: str,
    reason: str | None,
    old: dict | None,
    new: dict | None,
    rb_version: int,
) -> None:
    """One history row (rule_history or norm_history): who, when, why, the values before and after."""
    conn.execute(
        table.insert().values(
            **key,
            version=version,
            action=action,
            author=author,
            reason=reason,
            changed_at=utcnow(),
            old_values=json.dumps(old, ensure_ascii=False) if old is not None else None,
            new_values=json.dumps(new, ensure_ascii=False) if new is not None else None,
            rulebase_version=rb_version,
        )
    )


def read_history(conn: Connection, table, key_column, key: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(table).where(key_column == key).order_by(table.c.id))
    return [
        {
            "version": r.version,
            "action": r.action,
            "author": r.author,
            "changed_at": r.changed_at.isoformat(),
            "reason": r.reason,
            "old": json.loads(r.old_values) if r.old_values else None,
            "new": json.loads(r.new_values) if r.new_values else None,
            "rulebase_version": r.rulebase_version,
        }
        for r in rows
    ]


def change_action(old_enabled: bool, new_enabled: bool, changed: set[str]) -> str:
    """update, or enable / disable when that is all a change does."""
    if old_enabled != new_enabled and changed <= {"enabled"}:
        return "enable" if new_enabled else "disable"
    return "update"
