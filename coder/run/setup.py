"""What a run decides with, read once at its start: every code system's rules, the normalization,
the guard table and the matching semantics. The run and the evaluation of going live
(`services.evaluation`) build their matchers from it, so they decide alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

from sqlalchemy import Connection

from coder.store import guards as guardstore
from coder.store import normalization as normstore
from coder.store import rules as rulestore
from coder.store import settings
from rulebase.codes import SYSTEMS
from rulebase.engine import DEFAULT_TIMEOUT, RuleSet
from rulebase.guards import Guards
from rulebase.rule import Rule
from rulebase.states import Matching


class RunSetup(NamedTuple):
    rulebase_version: int
    rules: dict[str, list[Rule]]  # per code system: a line is decided by its own system's rules
    normalizer: Callable[[str], str]
    guards: Guards  # one table for every system's lines
    strict: bool  # the paper's semantics: several codes at the top are ambiguous

    def rule_set(self, rules: Iterable[Rule], timeout: float = DEFAULT_TIMEOUT) -> RuleSet:
        return RuleSet(rules, timeout=timeout, normalizer=self.normalizer, guards=self.guards, strict=self.strict)


def load_setup(
    conn: Connection,
    timeout: float = DEFAULT_TIMEOUT,
    skipped: dict[int, str] | None = None,
    systems: Iterable[str] = SYSTEMS,
) -> RunSetup:
    """`skipped` collects the stored rules that no longer validate, with why."""
    return RunSetup(
        rulebase_version=rulestore.rulebase_version(conn),
        rules={s: rulestore.load_rules(conn, invalid=skipped, system=s) for s in systems},
        normalizer=normstore.normalizer(conn, timeout),
        guards=guardstore.compiled(conn),
        strict=settings.matching(conn) is Matching.STRICT,
    )
