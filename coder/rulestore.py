"""The rule base in the database: rules, their history, and the rule-base version.

Every function takes an open Connection and leaves the transaction to the caller, so an import
of many rules is one transaction: all of it or nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, func, or_, select, update

from rulebase.errors import NotFound, RuleInvalid
from rulebase.rule import Rule

from .engine import gc_paused
from .db.models import coding_rule, icd_code, rule_history, rulebase_state, utcnow

# The fields a person edits; history rows record these before and after.
EDITABLE = ("code", "pattern", "exclude", "priority", "enabled", "note")


def rulebase_version(conn: Connection) -> int:
    return conn.execute(select(rulebase_state.c.version).where(rulebase_state.c.id == 1)).scalar_one()


def bump_rulebase_version(conn: Connection) -> int:
    # An UPDATE in place takes the row lock, so concurrent authors get distinct versions.
    conn.execute(
        update(rulebase_state).where(rulebase_state.c.id == 1)
        .values(version=rulebase_state.c.version + 1, changed_at=utcnow())
    )
    return rulebase_version(conn)


def _rule_from_row(row: Any) -> Rule:
    return Rule(
        id=row.id, code=row.code, pattern=row.pattern, exclude=row.exclude_pattern, priority=row.priority,
        enabled=row.enabled, version=row.version, note=row.note,
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


def find_rules(conn: Connection, code: str | None = None, search: str | None = None,
               include_disabled: bool = False) -> list[dict[str, Any]]:
    """Rules as dicts (the rule's keys plus author and changed_at) for listing."""
    q = select(coding_rule).order_by(coding_rule.c.id)
    if not include_disabled:
        q = q.where(coding_rule.c.enabled == True)  # noqa: E712 - SQL comparison
    if code:
        q = q.where(coding_rule.c.code == code)
    if search:
        # autoescape: % and _ in the search text are matched as themselves, not as LIKE wildcards.
        hit = [col.contains(search, autoescape=True) for col in (
            coding_rule.c.pattern, coding_rule.c.exclude_pattern, coding_rule.c.note, coding_rule.c.code)]
        q = q.where(or_(*hit))
    return [{**_rule_from_row(r).to_dict(), "author": r.author, "changed_at": r.changed_at.isoformat()}
            for r in conn.execute(q)]


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


def code_problem(conn: Connection, code: str) -> str | None:
    """Why `code` cannot be used for a rule or a diagnosis, or None when it can."""
    row = conn.execute(select(icd_code.c.active).where(icd_code.c.code == code)).first()
    if row is None:
        return f"code {code!r} is not in the code dictionary (import it with icdcoder dict import)"
    if not row.active:
        return f"code {code!r} is inactive in the code dictionary"
    return None


def fields_of(rule: Rule) -> dict[str, Any]:
    return {k: getattr(rule, k) for k in EDITABLE}


def write_history(conn: Connection, table, key: dict[str, int], version: int, action: str, author: str,
                  reason: str | None, old: dict | None, new: dict | None, rb_version: int) -> None:
    """One history row (rule_history or norm_history): who, when, why, the values before and after."""
    conn.execute(table.insert().values(
        **key, version=version, action=action, author=author, reason=reason, changed_at=utcnow(),
        old_values=json.dumps(old, ensure_ascii=False) if old is not None else None,
        new_values=json.dumps(new, ensure_ascii=False) if new is not None else None,
        rulebase_version=rb_version,
    ))


def read_history(conn: Connection, table, key_column, key: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(table).where(key_column == key).order_by(table.c.id))
    return [
        {
            "version": r.version, "action": r.action, "author": r.author, "changed_at": r.changed_at.isoformat(),
            "reason": r.reason, "old": json.loads(r.old_values) if r.old_values else None,
            "new": json.loads(r.new_values) if r.new_values else None, "rulebase_version": r.rulebase_version,
        }
        for r in rows
    ]


def change_action(old_enabled: bool, new_enabled: bool, changed: set[str]) -> str:
    """update, or enable / disable when that is all a change does."""
    if old_enabled != new_enabled and changed <= {"enabled"}:
        return "enable" if new_enabled else "disable"
    return "update"


def _history(conn: Connection, rule_id: int, *args) -> None:
    write_history(conn, rule_history, {"rule_id": rule_id}, *args)


def require_author(author: str | None) -> str:
    author = (author or "").strip()
    if not author:
        raise RuleInvalid("an author is required for every change to the rule base (--author NAME)")
    return author


def add_rule(conn: Connection, rule: Rule, author: str, reason: str | None, rb_version: int | None = None) -> Rule:
    """Insert a rule (its id is assigned), write its history row; return the stored rule."""
    author = require_author(author)
    problem = code_problem(conn, rule.code)
    if problem:
        raise RuleInvalid(f"{rule.where or 'new rule'}: {problem}")
    if rb_version is None:
        rb_version = bump_rulebase_version(conn)
    result = conn.execute(coding_rule.insert().values(
        code=rule.code, pattern=rule.pattern, exclude_pattern=rule.exclude, priority=rule.priority,
        enabled=rule.enabled, version=1, author=author, changed_at=utcnow(), note=rule.note,
    ))
    rule_id = result.inserted_primary_key[0]
    stored = replace(rule, id=rule_id, version=1)
    _history(conn, rule_id, 1, "insert", author, reason, None, fields_of(stored), rb_version)
    return stored


def change_rule(conn: Connection, rule_id: int, author: str, reason: str | None, action: str = "update",
                rb_version: int | None = None, **changes: Any) -> Rule:
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
    conn.execute(update(coding_rule).where(coding_rule.c.id == rule_id).values(
        code=new.code, pattern=new.pattern, exclude_pattern=new.exclude, priority=new.priority,
        enabled=new.enabled, note=new.note, version=new.version, author=author, changed_at=utcnow(),
    ))
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
            return change_rule(conn, rule_id, author, reason or f"rollback to version {to_version}",
                               action="rollback", **h["new"])
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
