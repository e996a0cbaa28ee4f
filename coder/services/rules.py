"""Rule authoring: every change judged against the audited history before it commits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Engine, exists, func, or_, select

from coder.audit.feedback import CITATION, cited_audits
from coder.audit.ruletest import Impact, candidate_impact, check_change
from coder.db.models import coding_rule, icd_code
from coder.errors import ChangeRefused, IcdCoderError, ImportRejected, Problem, RuleInvalid
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
    """Validate the whole file (and a workbook's normalization and guards sheets), judge it, write it,
    all or nothing.

    A dry run judges the rule changes in memory and writes nothing.
    """
    from coder.services import combinations as comboservice  # it imports this module (StaleForm)
    from coder.services import guards as guardservice  # it imports this module (StaleForm)

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
        guard_plan = guard_tables = None
        try:
            guard_plan, guard_tables = guardservice.plan_and_judge(conn, path, required=False)
        except ImportRejected as exc:
            problems += exc.problems
        combo_plan = combo_tables = None
        try:
            combo_plan, combo_tables = comboservice.plan_and_judge(conn, path, required=False)
        except ImportRejected as exc:
            problems += exc.problems
        if problems:
            raise ImportRejected(problems)
        plan.normalization = norm
        plan.guards = guard_plan
        plan.combinations = combo_plan
        if not (plan.added or plan.changed or plan.normalization or plan.guards or plan.combinations):
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
            if plan.guards:
                plan.guard_impact = guardservice.judge_guards(conn, *guard_tables)
            if plan.combinations:
                plan.combination_impact = comboservice.judge_combinations(conn, *combo_tables)
            return plan
        rb_version = rulestore.bump_rulebase_version(conn)
        if plan.normalization:
            apply_plan(conn, plan.normalization, author, reason, rb_version)
        if plan.guards:
            plan.guard_impact = guardservice.write_plan(
                conn, plan.guards, guard_tables, author, reason, rb_version, force
            )
        if plan.combinations:
            plan.combination_impact = comboservice.write_plan(
                conn, plan.combinations, combo_tables, author, reason, force
            )
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


# The workbench (coder.web): a page of rules, a rule with its code, and changes made from a form
# that was shown at a version (refused, naming who changed it, when the rule changed since).


class RulePage(NamedTuple):
    rows: list[dict[str, Any]]  # the rule's keys plus code_name, author, changed_at
    total: int  # rules the search finds, on every page


def rules_page(
    engine: Engine,
    code: str | None = None,
    search: str | None = None,
    include_disabled: bool = False,
    system: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> RulePage:
    """One page of `list_rules` (by id), paged in the database, with the count of all it finds."""
    c = coding_rule.c
    where = []
    if not include_disabled:
        where.append(c.enabled == True)  # noqa: E712 - SQL comparison
    if code:
        where.append(c.code == code)
    if system:
        # EXISTS, not IN (codes of the system) or a join: SQLite and PostgreSQL (even before it has
        # statistics of a freshly loaded table) then walk the rules by id and look each code up.
        where.append(exists().where(icd_code.c.code == c.code, icd_code.c.code_system == system).correlate(coding_rule))
    if search:
        # autoescape: % and _ in the search text are matched as themselves, not as LIKE wildcards.
        where.append(
            or_(*(col.contains(search, autoescape=True) for col in (c.pattern, c.exclude_pattern, c.note, c.code)))
        )
    # Without the dictionary's names: the database pages the rules alone (by their primary key), then
    # the page's fifty codes are named, so no plan joins every rule to its code first.
    q = select(coding_rule).where(*where).order_by(c.id).offset(max(0, offset)).limit(max(0, limit))
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(coding_rule).where(*where)).scalar_one()
        found = conn.execute(q).all()
        codes = sorted({r.code for r in found})
        names = (
            dict(conn.execute(select(icd_code.c.code, icd_code.c.name).where(icd_code.c.code.in_(codes))).all())
            if codes
            else {}
        )
    rows = [
        {
            "id": r.id,
            "code": r.code,
            "code_name": names.get(r.code),
            "pattern": r.pattern,
            "exclude": r.exclude_pattern,
            "priority": r.priority,
            "enabled": bool(r.enabled),
            "note": r.note,
            "version": r.version,
            "author": r.author,
            "changed_at": r.changed_at.isoformat(),
        }
        for r in found
    ]
    return RulePage(rows, total)


@dataclass(frozen=True)
class RuleView:
    """A rule as the workbench shows it: its history (as show_rule), its code's name and system,
    and who changed it last, when."""

    rule: Rule
    history: list[dict[str, Any]]
    code_name: str | None
    code_system: str | None
    code_active: bool
    author: str
    changed_at: str


def view_rule(engine: Engine, rule_id: int) -> RuleView:
    shown = show_rule(engine, rule_id)
    with engine.connect() as conn:
        row = conn.execute(
            select(coding_rule.c.author, coding_rule.c.changed_at).where(coding_rule.c.id == rule_id)
        ).one()
        code = conn.execute(
            select(icd_code.c.name, icd_code.c.code_system, icd_code.c.active).where(icd_code.c.code == shown.item.code)
        ).first()
    return RuleView(
        shown.item,
        shown.history,
        code.name if code else None,
        code.code_system if code else None,
        bool(code.active) if code else False,
        row.author,
        row.changed_at.isoformat(),
    )


class StaleForm(IcdCoderError):
    """A change from a form shown at an older version of the rule (or entry): someone changed it since."""

    def __init__(self, noun: str, item_id: int, shown: int, current: int, changes: list[dict[str, Any]]):
        self.item_id, self.shown, self.current = item_id, shown, current
        self.changes = changes  # the history rows after the version shown, oldest first
        last = changes[-1] if changes else {"author": "?", "changed_at": "?"}
        self.author, self.changed_at = last["author"], last["changed_at"]
        super().__init__(
            f"{noun} {item_id} was changed by {self.author} at {self.changed_at} (now version {current}, the form "
            f"showed version {shown}): nothing was written; reload it and make the change again"
        )


RuleChangeRefused = ChangeRefused  # its `impact` is the judgement that refused the change


def stale_check(conn, rule_id: int, version: int | None) -> Rule:
    """The stored rule; StaleForm when `version` (the form's) is not its version."""
    rule = rulestore.get_rule(conn, rule_id)
    if version is not None and rule.version != version:
        later = [h for h in rulestore.history(conn, rule_id) if h["version"] > version]
        raise StaleForm("rule", rule_id, version, rule.version, later)
    return rule


def preview_change(engine: Engine, rule_id: int, **changes: Any) -> RuleChanged:
    """What change_rule would do (the rule after, and its judgement as if forced); writes nothing."""
    with engine.connect() as conn:
        old = rulestore.get_rule(conn, rule_id)
        new = rulestore.RULES.proposed(old, changes)
        if rulestore.fields_of(new) == rulestore.fields_of(old):
            return RuleChanged(old, old, None)
        if new.code != old.code or (new.enabled and not old.enabled):
            problem = rulestore.code_problem(conn, new.code)
            if problem:
                raise RuleInvalid(f"rule {rule_id}: {problem}")
        return RuleChanged(old, new, check_change(conn, [old], [new], force=True))


def preview_add(
    engine: Engine,
    code: str | None,
    pattern: str,
    exclude: str | None = None,
    priority: int = 0,
    note: str | None = None,
) -> Impact:
    """What add_rule would do (judged as if forced); without a code, `try_rule`'s test in every system.
    Writes nothing."""
    if not code:
        return try_rule(engine, pattern, exclude=exclude, priority=priority)
    candidate = Rule(code=code, pattern=pattern, exclude=exclude, priority=priority, note=note)
    with engine.connect() as conn:
        problem = rulestore.code_problem(conn, candidate.code)
        if problem:
            raise RuleInvalid(f"new rule: {problem}")
        return check_change(conn, [], [candidate], force=True)


def change_rule_at(
    engine: Engine,
    rule_id: int,
    version: int | None,
    author: str,
    reason: str | None = None,
    force: bool = False,
    **changes: Any,
) -> RuleChanged:
    """change_rule from a form shown at `version`: StaleForm if the rule changed since; a refusal
    (RuleChangeRefused) carries the judgement. All in one transaction that writes nothing unless saved."""
    author = rulestore.require_author(author)
    with engine.connect() as conn:
        tx = conn.begin()
        try:
            # The rule-base version first: its row lock makes concurrent authors take turns, so the
            # version read next is the one the change replaces.
            rb_version = rulestore.bump_rulebase_version(conn)
            old = stale_check(conn, rule_id, version)
            new = rulestore.change_rule(conn, rule_id, author, reason, rb_version=rb_version, **changes)
            if new.version == old.version:
                tx.rollback()  # nothing changed: no new rule-base version either
                return RuleChanged(old, new, None)
            impact = check_change(conn, [old], [new], force)
        except BaseException:
            tx.rollback()
            raise
        tx.commit()
        return RuleChanged(old, new, impact)
