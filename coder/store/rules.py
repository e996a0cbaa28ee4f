"""The rule base in the database: rules, their history, and the rule-base version.

Every function takes an open Connection and leaves the transaction to the caller, so an import
of many rules is one transaction: all of it or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Connection, func, or_, select

from coder.db.models import coding_rule, icd_code, rule_history
from coder.errors import NotFound
from rulebase.engine import gc_paused
from rulebase.errors import RuleInvalid
from rulebase.rule import Rule

from .codes import code_problem, code_states, codes_of, problem_with
from .history import bump_rulebase_version, require_author, rulebase_version
from .versioned import Versioned

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

# The fields a person edits, and the column each is kept in; history rows record these before and after.
RULES = Versioned(
    table=coding_rule,
    history_table=rule_history,
    history_key="rule_id",
    columns={
        "code": "code",
        "pattern": "pattern",
        "exclude": "exclude_pattern",
        "priority": "priority",
        "enabled": "enabled",
        "note": "note",
    },
    make=Rule,
    noun="rule",
    invalid=RuleInvalid,
)
EDITABLE = RULES.editable
_rule_from_row = RULES.from_row
fields_of = RULES.fields_of


def load_rules(
    conn: Connection,
    include_disabled: bool = False,
    invalid: dict[int, str] | None = None,
    system: str | None = None,
) -> list[Rule]:
    """Stored rules as validated Rule objects. A stored rule that no longer validates raises RuleInvalid.

    By default the rules that code: enabled, for a code that is active in the dictionary (a code
    set inactive is never given again, while its rules stay as they are); include_disabled: all.
    With `invalid`, a stored rule that no longer validates (a newer icdcoder checks more) is left
    out and recorded there with the reason, instead of raising. With `system`: only the rules whose
    code is of that code system (the rules that may code its lines)."""
    c = coding_rule.c
    # Only what a Rule holds: converting every row's timestamps would cost a tenth of a run's start.
    q = select(c.id, c.code, c.pattern, c.exclude_pattern, c.priority, c.enabled, c.version, c.note).order_by(c.id)
    if not include_disabled:
        active = select(icd_code.c.code).where(icd_code.c.active == True)  # noqa: E712 - SQL comparison
        q = q.where(c.enabled == True, c.code.in_(active))  # noqa: E712 - SQL comparison
    if system is not None:
        q = q.where(c.code.in_(codes_of(system)))
    rows = conn.execute(q).all()
    with gc_paused():  # hundreds of thousands of new objects (rows, rules, syntax trees), none of them garbage
        if invalid is None:
            return [_rule_from_row(r) for r in rows]
        rules = []
        for r in rows:
            try:
                rules.append(_rule_from_row(r))
            except RuleInvalid as exc:
                invalid[r.id] = str(exc).removeprefix(f"rule {r.id}: ")
        return rules


def find_rules(
    conn: Connection,
    code: str | None = None,
    search: str | None = None,
    include_disabled: bool = False,
    system: str | None = None,
) -> list[dict[str, Any]]:
    """Rules as dicts (the rule's keys plus author and changed_at) for listing."""
    q = select(coding_rule).order_by(coding_rule.c.id)
    if not include_disabled:
        q = q.where(coding_rule.c.enabled == True)  # noqa: E712 - SQL comparison
    if code:
        q = q.where(coding_rule.c.code == code)
    if system:
        q = q.where(coding_rule.c.code.in_(codes_of(system)))
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
    return RULES.get(conn, rule_id)


def add_rule(conn: Connection, rule: Rule, author: str, reason: str | None, rb_version: int | None = None) -> Rule:
    """Insert a rule (its id is assigned), write its history row; return the stored rule."""
    require_author(author)
    problem = code_problem(conn, rule.code)
    if problem:
        raise RuleInvalid(f"{rule.where or 'new rule'}: {problem}")
    return RULES.insert(conn, rule, author, reason, rb_version)


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
    require_author(author)
    old = get_rule(conn, rule_id)
    new = RULES.proposed(old, changes)
    if fields_of(new) == fields_of(old):
        return old
    if new.code != old.code or (new.enabled and not old.enabled):
        problem = code_problem(conn, new.code)
        if problem:
            raise RuleInvalid(f"rule {rule_id}: {problem}")
    return RULES.replace(conn, old, new, author, reason, rb_version, action)


def history(conn: Connection, rule_id: int) -> list[dict[str, Any]]:
    return RULES.history(conn, rule_id)


def rollback_rule(conn: Connection, rule_id: int, to_version: int, author: str, reason: str | None) -> Rule:
    """Restore a rule's fields as they were at `to_version`; this is a new version, not an erasure."""
    for h in history(conn, rule_id):
        if h["version"] == to_version:
            return change_rule(
                conn, rule_id, author, reason or f"rollback to version {to_version}", action="rollback", **h["new"]
            )
    raise NotFound(f"rule {rule_id} has no version {to_version}")


class LintProblem(NamedTuple):
    rule_id: int
    reason: str


def lint(conn: Connection) -> list[LintProblem]:
    """Every stored rule that no longer validates, with the reason."""
    bad = []
    states = code_states(conn)
    for row in conn.execute(select(coding_rule).order_by(coding_rule.c.id)):
        try:
            _rule_from_row(row)
        except RuleInvalid as exc:
            bad.append(LintProblem(row.id, str(exc).removeprefix(f"rule {row.id}: ")))
            continue
        problem = problem_with(row.code, states) if row.enabled else None
        if problem:
            bad.append(
                LintProblem(
                    row.id, f"{problem}: runs skip this rule (activate the code, or change or disable the rule)"
                )
            )
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
