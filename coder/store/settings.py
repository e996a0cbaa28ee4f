"""Settings that change how lines are coded, in app_setting: read by every engine at a run's start.

A change bumps the rule-base version: like a rule change, it changes decisions, so the lines that
failed under the old setting are tried again by the next run.
"""

from __future__ import annotations

from sqlalchemy import Connection

from coder.errors import SettingInvalid
from rulebase.states import Matching

from .history import bump_rulebase_version
from .users import set_setting, setting

MATCHING = "matching"


def matching(conn: Connection) -> Matching:
    """The database's matching semantics; `spans` where none was set."""
    value = setting(conn, MATCHING)
    try:
        return Matching(value) if value is not None else Matching.SPANS
    except ValueError:
        raise SettingInvalid(
            f"app_setting {MATCHING!r} is {value!r}; it is one of {', '.join(m.value for m in Matching)}."
            f" Run: icdcoder settings set {MATCHING} spans"
        ) from None


def set_matching(conn: Connection, value: str) -> bool:
    """Store the semantics; whether it changed (an unchanged value bumps nothing)."""
    try:
        wanted = Matching(value)
    except ValueError:
        raise SettingInvalid(f"{MATCHING}: {value!r} is not one of {', '.join(m.value for m in Matching)}") from None
    if matching(conn) is wanted:
        return False
    set_setting(conn, MATCHING, wanted.value)
    bump_rulebase_version(conn)
    return True
