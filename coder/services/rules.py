"""Rule authoring: every change judged against the audited history before it commits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Engine

from coder.audit.feedback import CITATION, cited_audits
from coder.audit.ruletest import Impact, candidate_impact, check_change
from coder.errors import ImportRejected, Problem, RuleInvalid
from coder.imports import export as workbook
from coder.imports.normalization import apply_plan, norm_sheet, plan_normalization
from coder.imports.rules import RulePlan, plan_rules
from coder.store import rules as rulestore
from coder.store.history import Shown
from rulebase.rule import Rule


@dataclass(frozen=True)
class RuleChanged:
    """A change to one stored rule: the rule before and after, and what it does to the audited history
    (None when nothing changed)."""

    old: Rule
    new: Rule
    impact: Impact | None

    @property
    def changed(self) -> bool:
        return self.new.version != self.old.version


@dataclass(frozen=True)
class RuleAdded:
    rule: Rule
    impact: Impact


def add_rule(
    engine: Engine,
    code: str,
    pattern: str,
    author: str,
    exclude: str | None = None,
    priority: int = 0,
    note: str | None = None,
    reason: str | None = None,
    force: bool = False,
) -> RuleAdded:
    """Add a rule: validated, its code in the dictionary and active, judged before the insert (a
    refusal uses no id)."""
    candidate = Rule(code=code, pattern=pattern, exclude=exclude, priority=priority, note=note)
    rulestore.require_author(author)
    with engine.begin() as conn:
        problem = rulestore.code_problem(conn, candidate.code)
        if problem:
            raise RuleInvalid(f"new rule: {problem}")
        impact = check_change(conn, [], [candidate], force)
        return RuleAdded(rulestore.add_rule(conn, candidate, author, reason), impact)


def change_rule(
    engine: Engine, rule_id: int, author: str, reason: str | None = None, force: bool = False, **changes: Any
) -> RuleChanged:
    """Change a rule's fields (code, pattern, exclude, priority, enabled, note) as a new version."""
    with engine.begin() as conn:
        old = rulestore.get_rule(conn, rule_id)
        new = rulestore.change_rule(conn, rule_id, author, reason, **changes)
        return RuleChanged(old, new, _judge(conn, old, new, force))


def set_rule_enabled(
    engine: Engine, rule_id: int, enabled: bool, author: str, reason: str | None = None, force: bool = False
) -> RuleChanged:
    return change_rule(engine, rule_id, author, reason, force, enabled=enabled)


def rollback_rule(
    engine: Engine, rule_id: int, to_version: int, author: str, reason: str | None = None, force: bool = False
) -> RuleChanged:
    """Restore a rule's fields as they were at `to_version`, recorded as a new version."""
    with engine.begin() as conn:
        old = rulestore.get_rule(conn, rule_id)
        new = rulestore.rollback_rule(conn, rule_id, to_version, author, reason)
        return RuleChanged(old, new, _judge(conn, old, new, force))


def _judge(conn, old: Rule, new: Rule, force: bool) -> Impact | None:
    # Judged after the write, in its transaction: a refusal (ChangeRefused) rolls it back.
    return check_change(conn, [old], [new], force) if new.version != old.version else None


def import_rules(
    engine: Engine, path: str | Path, author: str, reason: str | None, dry_run: bool = False, force: bool = False
) -> RulePlan:
    """Validate the whole file (and a workbook's normalization sheet), judge it, write it, all or nothing.

    A dry run judges the rule changes in memory and writes nothing.
    """
    author = rulestore.require_author(author)
    with engine.begin() as conn:
        problems: list[Problem] = []
        plan = None
        try:
            plan = plan_rules(conn, path)
        except ImportRejected as exc:
            problems = list(exc.problems)
        sheet = norm_sheet(path, required=False)
        norm = None
        if sheet is not None:
            try:
                norm = plan_normalization(conn, sheet)
            except ImportRejected as exc:
                problems += exc.problems
        if problems:
            raise ImportRejected(problems)
        plan.normalization = norm
        if not (plan.added or plan.changed or plan.normalization):
            return plan
        stored = plan.stored  # read in the same transaction
        old = [stored[c.rule_id] for c in plan.changed]
        # Judged before the rules are written (added rules without ids), so a refused or dry-run
        # import consumes no ids; normalization changes are applied first so the judgement sees them.
        new = list(plan.added) + [
            Rule(**c.new, id=c.rule_id, version=stored[c.rule_id].version + 1) for c in plan.changed
        ]
        if dry_run:
            plan.impact = check_change(conn, old, new, force=True)
            return plan
        rb_version = rulestore.bump_rulebase_version(conn)
        if plan.normalization:
            apply_plan(conn, plan.normalization, author, reason, rb_version)
        plan.impact = check_change(conn, old, new, force=force)
        for rule in plan.added:
            rulestore.add_rule(conn, rule, author, reason, rb_version=rb_version)
        for change in plan.changed:
            rulestore.change_rule(
                conn,
                change.rule_id,
                author,
                reason,
                rb_version=rb_version,
                **{k: change.new[k] for k in change.changed_fields},
            )
    return plan


def export_rules(engine: Engine, path: str | Path, include_disabled: bool = True, system: str | None = None) -> int:
    return workbook.export_rules(engine, path, include_disabled, system)


def list_rules(
    engine: Engine,
    code: str | None = None,
    search: str | None = None,
    include_disabled: bool = False,
    system: str | None = None,
) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return rulestore.find_rules(conn, code=code, search=search, include_disabled=include_disabled, system=system)


def show_rule(engine: Engine, rule_id: int) -> Shown:
    """A rule and its whole history; each history entry lists the audit rows its reason cites (`answers`)."""
    with engine.connect() as conn:
        rule, hist = rulestore.get_rule(conn, rule_id), rulestore.history(conn, rule_id)
        audits = cited_audits(conn, [h["reason"] for h in hist])
    for h in hist:
        h["answers"] = [
            audits[int(m.group(1))] for m in CITATION.finditer(h["reason"] or "") if int(m.group(1)) in audits
        ]
    return Shown(rule, hist)


class LintReport(NamedTuple):
    invalid: list[rulestore.LintProblem]  # every stored rule that no longer validates
    total: int  # rules stored


def lint_rules(engine: Engine) -> LintReport:
    with engine.connect() as conn:
        return LintReport(rulestore.lint(conn), rulestore.count_rules(conn))


def try_rule(
    engine: Engine, pattern: str, exclude: str | None = None, code: str | None = None, priority: int = 0
) -> Impact:
    """What a candidate rule would do on the audited history; writes nothing."""
    candidate = Rule(code=code or "?", pattern=pattern, exclude=exclude, priority=priority, where="candidate")
    with engine.connect() as conn:
        return candidate_impact(conn, candidate, any_system=code is None)
