"""The stored rule base and the audited history, kept per engine while they have not changed.

Judging a rule change reads both whole: 30,000 rules parsed and indexed, a history of a hundred
thousand lines normalized. A long-lived process (the workbench) judges change after change on the
same rule base, so it keeps them and checks before each use, with two index-only reads, that
they still hold:
- the rules by the rule-base version and its time (a change bumps both; a change refused and
  rolled back leaves the old ones, so the time tells a version written again apart), by the rule
  table's count, last id and last change (a change is judged after the bump and before its rules
  are written: the version alone would keep the rule base as it was under the new version), and by
  the dictionary's last change (a code set inactive takes its rules out);
- the history by that, plus how many audited lines there are and the latest action on one (an
  audit action stamps updated_at; an import of coded lines adds lines).
A read inside a transaction that is changing the rule base is kept under what that transaction
sees; once it commits or rolls back, the key read next differs, so nothing of it is used again
unless it is what was committed.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from coder.db.models import audited, coding_rule, diagnosis, icd_code, rulebase_state
from coder.store import rules as rulestore
from coder.store import settings
from rulebase.engine import RuleSet
from rulebase.rule import Rule
from rulebase.states import Matching

_lock = threading.Lock()
_kept: weakref.WeakKeyDictionary[Engine, dict[Any, tuple[Any, Any, float]]] = weakref.WeakKeyDictionary()


def _rules_key(conn: Connection) -> tuple:
    version = conn.execute(select(rulebase_state.c.version, rulebase_state.c.changed_at)).first()
    c = coding_rule.c
    rules = conn.execute(select(func.count(), func.max(c.id), func.max(c.changed_at))).first()
    codes = conn.execute(select(func.max(icd_code.c.updated_at), func.count())).first()
    return (tuple(version or ()), tuple(rules), tuple(codes))


def _history_key(conn: Connection) -> tuple:
    lines = conn.execute(select(func.count(), func.max(diagnosis.c.updated_at)).where(audited())).first()
    return (_rules_key(conn), tuple(lines))


def kept(conn: Connection, name: Any, key: tuple, build: Callable[[], Any], stale_ok: float = 0.0) -> Any:
    """The value kept under `name` for this engine while `key` holds, else `build()` kept anew.
    `stale_ok`: a kept value `key` no longer holds may still serve that many seconds after it was
    built (the workbench's suggestions: a day of audits does not rebuild them on every page)."""
    with _lock:
        found = _kept.setdefault(conn.engine, {}).get(name)
    if found is not None and (found[0] == key or time.monotonic() - found[2] < stale_ok):
        return found[1]
    value = build()
    with _lock:
        _kept.setdefault(conn.engine, {})[name] = (key, value, time.monotonic())
    return value


def live_rules(conn: Connection) -> list[Rule]:
    """`store.rules.load_rules(conn)`: the rules that code, as stored now."""
    return kept(conn, "rules", _rules_key(conn), lambda: rulestore.load_rules(conn))


def rule_set(conn: Connection, system: str, rules_of: Callable[[list[Rule]], list[Rule]]) -> RuleSet:
    """The live rules of `system` (`rules_of` picks them from `live_rules`) indexed, on normalized text."""
    rules = live_rules(conn)
    # The rule-base version in the key moves with the matching setting too (store.settings bumps it).
    strict = settings.matching(conn) is Matching.STRICT
    return kept(
        conn,
        ("set", system),
        _rules_key(conn),
        lambda: RuleSet(rules_of(rules), normalizer=lambda s: s, strict=strict),
    )


def history_key(conn: Connection) -> tuple:
    """What the audited history (as normalized and coded) depends on: the rule-base version (the
    normalization table is part of it), the dictionary, the audited lines' count and latest action."""
    return _history_key(conn)


def history(conn: Connection, system: str, load: Callable[[], Any]) -> Any:
    """The audited history of `system` as `load()` reads it, kept while no line of it changed."""
    return kept(conn, ("history", system), _history_key(conn), load)


def forget(engine: Engine) -> None:
    with _lock:
        _kept.pop(engine, None)
