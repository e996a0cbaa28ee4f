"""The rule base in the database: rules, their history, and the rule-base version.

Every function takes an open Connection and leaves the transaction to the caller, so an import
of many rules is one transaction: all of it or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, func, or_, select, update

from coder.db.models import coding_rule, rule_history, utcnow
from coder.errors import NotFound
from rulebase.engine import gc_paused
from rulebase.errors import RuleInvalid
from rulebase.rule import Rule

from .codes import code_problem
from .history import bump_rulebase_version, change_action, read_history, require_author, rulebase_version, write_history

__all__ = [
    "EDITABLE",
    "RuleChange",
    "add_rule",
    "bump_rulebase_version",
    "change_rule",
    "code_problem",
    "count_rules",
    "fields_of",
    "find_rules",
    "get_rule",
    "history",
    "lint",
    "load_rules",
    "require_author",
    "rollback_rule",
    "rulebase_version",
]

# The fields a person edits; history rows record these before and after.
EDITABLE = ("code", "pattern", "exclude", "priority", "enabled", "note")


def _rule_from_row(row: Any) -> Rule:
    return Rule(
        id=row.id,
        code=row.code,
        pattern=row.pattern,
        exclude=row.exclude_pattern,
        priority=row.priority,
        enabled=row.enabled,
        version=row.version,
        note=row.note,
    )


def load_rules(conn: Connection, include_disabled: bool = False) -> list[Rule]:
    """Stored rules as validated Rule objects. A stored rule that no longer validates raises RuleInvalid."""
    c = coding_rule.c
    # Only what a Rule holds: converting every row's timestamps would cost a tenth of a run's start.
    q = select(c.id, c.code, c.pattern, c.exclude_pattern, c.priority, c.enabled, c.version, c.note).order_by(c.id)
    if not include_disabled:
        q = q.where(c.enabled == True)  # noqa: E712 - SQL comparison
    with gc_paused():  # hundreds of thousands of new objects (rows, rules, syntax trees), none of them garbage
        return [_rule_from_row(r) for r in conn.execute(q).all()]


def find_rules(
    conn: Connection, code: str | None = None, search: str | None = None, include_disabled: bool = False
) -> list[dict[str, Any]]:
    """Rules as dicts (the rule's keys plus author and changed_at) for listing."""
    q = select(coding_rule).order_by(coding_rule.c.id)
    if not include_disabled:
        q = q.where(coding_rule.c.enabled == True)  # noqa: E712 - SQL comparison
    if code:
        q = q.where(coding_rule.c.code == code)
    if search:
        # autoescape: % and _ in the search text are matched as themselves, not as LIKE wildcards.
        hit = [
            col.contains(search, autoescape=True)
            for col in (coding_rule.c.pattern, coding_rule.c.exclude_pattern, coding_rule.c.note, coding_rule.c.code)
        ]
        q = q.where(or_(*hit))
    return [
        {**_rule_from_row(r).to_dict(), "author": r.author, "changed_at": r.changed_at.isoformat()}
        for r in conn.execute(q)
    ]


def get_rule(conn: Connection, rule_id: int) -> Rule:
    row = conn.execute(select(coding_rule).where(coding_rule.c.id == rule_id)).first()
    if row is None:
        raise NotFound(f"no rule with id {rule_id}")
    return _rule_from_row(row)


def rule_row(conn: Connection, rule_id: int) -> Any:
    row = conn.execute(select(coding_rule).where(coding_rule.c.id == rule_id)).first()
    if row is None:
        raise NotFound(f"no rule with id {rule_id}")
    return row


def fields_of(rule: Rule) -> dict[str, Any]:
    return {k: getattr(rule, k) for k in EDITABLE}


def _history(conn: Connection, rule_id: int, *args) -> None:
    write_history(conn, rule_history, {"rule_id": rule_id}, *args)


def add_rule(conn: Connection, rule: Rule, author: str, reason: str | None, rb_version: int | None = None) -> Rule:
    """Insert a rule (its id is assigned), write its history row; return the stored rule."""
    author = require_author(author)
    problem = code_problem(conn, rule.code)
    if problem:
        raise RuleInvalid(f"{rule.where or 'new rule'}: {problem}")
    if rb_version is None:
        rb_version = bump_rulebase_version(conn)
    result = conn.execute(
        coding_rule.insert().values(
            code=rule.code,
            pattern=rule.pattern,
            exclude_pattern=rule.exclude,
            priority=rule.priority,
            enabled=rule.enabled,
            version=1,
            author=author,
            changed_at=utcnow(),
            note=rule.note,
        )
    )
    rule_id = result.inserted_primary_key[0]
    stored = replace(rule, id=rule_id, version=1)
    _history(conn, rule_id, 1, "insert", author, reason, None, fields_of(stored), rb_version)
    return stored


def change_rule(
    conn: Connection,
    rule_id: int,
    author: str,
    reason: str | None,
    action: str = "update",
    rb_version: int | None = None,
    **changes: Any,
) -> Rule:
    """Apply field changes to a stored rule: validated, versioned, recorded. Returns the new rule."""
    author = require_author(author)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise RuleInvalid(f"unknown rule field(s) {', '.join(sorted(unknown))}; allowed: {', '.join(EDITABLE)}")
    old = get_rule(conn, rule_id)
    new = Rule(**{**fields_of(old), **changes, "id": rule_id, "version": old.version + 1})
    if fields_of(new) == fields_of(old):
        return old
    if new.code != old.code or (new.enabled and not old.enabled):
        problem = code_problem(conn, new.code)
        if problem:
            raise RuleInvalid(f"rule {rule_id}: {problem}")
    if rb_version is None:
        rb_version = bump_rulebase_version(conn)
    conn.execute(
        update(coding_rule)
        .where(coding_rule.c.id == rule_id)
        .values(
            code=new.code,
            pattern=new.pattern,
            exclude_pattern=new.exclude,
            priority=new.priority,
            enabled=new.enabled,
            note=new.note,
            version=new.version,
            author=author,
            changed_at=utcnow(),
        )
    )
    if action == "update":
        action = change_action(old.enabled, new.enabled, set(changes))
    _history(conn, rule_id, new.version, action, author, reason, fields_of(old), fields_of(new), rb_version)
    return new


def history(conn: Connection, rule_id: int) -> list[dict[str, Any]]:
    get_rule(conn, rule_id)
    return read_history(conn, rule_history, rule_history.c.rule_id, rule_id)


def rollback_rule(conn: Connection, rule_id: int, to_version: int, author: str, reason: str | None) -> Rule:
    """Restore a rule's fields as they were at `to_version`; this is a new version, not an erasure."""
    for h in history(conn, rule_id):
        if h["version"] == to_version:
            return change_rule(
                conn, rule_id, author, reason or f"rollback to version {to_version}", action="rollback", **h["new"]
            )
    raise NotFound(f"rule {rule_id} has no version {to_version}")


def lint(conn: Connection) -> list[tuple[int, str]]:
    """(rule id, reason) for every stored rule that no longer validates."""
    bad = []
    for row in conn.execute(select(coding_rule).order_by(coding_rule.c.id)):
        try:
            _rule_from_row(row)
        except RuleInvalid as exc:
            bad.append((row.id, str(exc).removeprefix(f"rule {row.id}: ")))
    return bad


def count_rules(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(coding_rule)).scalar_one()


@dataclass(frozen=True)
class RuleChange:
    rule_id: int
    old: dict[str, Any]
    new: dict[str, Any]

    @property
    def changed_fields(self) -> list[str]:
        return [k for k in EDITABLE if self.old.get(k) != self.new.get(k)]
