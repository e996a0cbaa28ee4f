"""The guard table: list, show, add, change, enable/disable, import, export; every change judged
against the audited history before it commits, like a rule change (refused when it turns correct
codes uncoded, unless forced)."""

from __future__ import annotations

import time
from dataclasses import replace as dc_replace
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine

from coder.audit.ruletest import EXAMPLES, Impact, coded_as, load_audited
from coder.db.models import guard as guard_table
from coder.errors import ChangeRefused, IcdCoderError
from coder.imports import guards as sheet
from coder.services.versioned import JudgedChanges, TableChanged, export_rows
from coder.store import guards as guardstore
from coder.store import normalization as normstore
from coder.store import rules as rulestore
from coder.store import settings
from coder.store.history import Shown, bump_rulebase_version, require_author
from rulebase.codes import SYSTEMS
from rulebase.decision import Decision
from rulebase.engine import RuleSet
from rulebase.guards import Guard, Guards
from rulebase.states import Matching


class GuardChanged(TableChanged):
    """A guard before (None for a new one) and after a change, and the change judged (None: nothing changed)."""


def judge_guards(conn: Connection, old: list[Guard], new: list[Guard]) -> Impact:
    """The audited history decided with the rule base under the guard table `old`, then `new`:
    how many lines a person coded would lose (broken) or gain (fixed) their correct auto-code.

    Only texts holding a cue of a guard that differs between the tables can change, so only those
    are decided, each system's by its own rules.
    """
    started = time.perf_counter()
    before_by_id = {g.id: g for g in old}
    after_ids = {g.id for g in new}
    touched = [g for g in new if g.id is None or before_by_id.get(g.id) != g]
    touched += [g for g in old if g.id not in after_ids]
    # Every guard of both tables whose cue could now matter, enabled or not (a disable matters too).
    probe = Guards([dc_replace(g, enabled=True) for g in touched])
    impact = Impact(0, [])
    same = lambda s: s  # noqa: E731 - audited texts are normalized already
    strict = settings.matching(conn) is Matching.STRICT
    for system in SYSTEMS:
        audited = load_audited(conn, system)
        impact.audited += sum(a.total for a in audited)
        changing = [a for a in audited if probe.occurrences(a.text)] if probe else []
        if not changing:
            continue
        rules = rulestore.load_rules(conn, system=system)
        before = RuleSet(rules, normalizer=same, guards=old, strict=strict)
        after = RuleSet(rules, normalizer=same, guards=new, strict=strict)
        for a in changing:
            was, now = before.decide(a.text), after.decide(a.text)
            for code, n in a.codes.items():
                right_before, right_after = coded_as(was, code), coded_as(now, code)
                if right_before and not right_after:
                    impact.broken += n
                    if len(impact.broken_examples) < EXAMPLES:
                        impact.broken_examples.append(f"{a.example} ({code}, now {now.outcome})")
                elif right_after and not right_before:
                    impact.fixed += n
    impact.seconds = time.perf_counter() - started
    return impact


def _refuse_unless(impact: Impact, force: bool) -> Impact:
    if impact.broken and not force:
        raise ChangeRefused(
            "\n".join(impact.lines()) + f"\nrefused: this guard change would leave {impact.broken} correctly coded "
            "audited diagnoses uncoded (a coder confirmed the code the rules give them); nothing was written. "
            "Narrow the guard (scope, not_within), or repeat with --force.",
            impact=impact,
        )
    return impact


def add_guard(
    engine: Engine,
    cue: str,
    kind: str,
    author: str,
    scope: str = "any",
    not_within: str | None = None,
    position: int = 0,
    note: str | None = None,
    reason: str | None = None,
    force: bool = False,
) -> GuardChanged:
    """Add a guard (position 0: after the last), judged before it is written."""
    item = Guard(cue=cue, kind=kind, scope=scope, not_within=not_within, position=position, note=note)
    require_author(author)
    with engine.begin() as conn:
        if item.position == 0:
            item = dc_replace(item, position=guardstore.next_position(conn))
        _no_twin(conn, item)
        table = guardstore.load(conn)
        impact = _refuse_unless(judge_guards(conn, table, table + [item]), force)
        return GuardChanged(None, guardstore.add(conn, item, author, reason), impact)


def _no_twin(conn: Connection, item: Guard) -> None:
    for g in guardstore.load(conn, include_disabled=True):
        if g.cue == item.cue and g.id != item.id:
            raise IcdCoderError(f"{item.label}: guard {g.id} already has the cue {item.cue!r}; change that one instead")


_CHANGES = JudgedChanges(
    guardstore, guardstore.GUARDS, guard_table, "guard", _no_twin, judge_guards, _refuse_unless, GuardChanged
)


def change_guard(
    engine: Engine, guard_id: int, author: str, reason: str | None = None, force: bool = False, **changes: Any
) -> GuardChanged:
    """Change a guard's fields (position, cue, kind, scope, not_within, enabled, note) as a new version."""
    return _CHANGES.change_by_id(engine, guard_id, author, reason, force, changes)


def set_guard_enabled(
    engine: Engine, guard_id: int, enabled: bool, author: str, reason: str | None = None, force: bool = False
) -> GuardChanged:
    return change_guard(engine, guard_id, author, reason, force, enabled=enabled)


def change_guard_at(
    engine: Engine,
    guard_id: int,
    version: int | None,
    author: str,
    reason: str | None = None,
    force: bool = False,
    **changes: Any,
) -> GuardChanged:
    """change_guard from a form shown at `version`: StaleForm if the guard changed since."""
    return _CHANGES.change_at(engine, guard_id, version, author, reason, force, changes)


class GuardPreview(NamedTuple):
    """A proposed guard (changed or new), what the table with it does to `text` (None without a
    text; decided by the diagnosis rules), and the change judged against the audited history."""

    guard: Guard
    decision: Decision | None
    impact: Impact


def preview_guard(engine: Engine, text: str | None, guard_id: int | None = None, **fields: Any) -> GuardPreview:
    """The table with guard `guard_id` changed by `fields` (or, without an id, a new guard of
    `fields`), validated and judged as a save would; writes nothing."""
    with engine.connect() as conn:
        table = guardstore.load(conn, include_disabled=True)
        if guard_id is None:
            item = Guard(**fields)
            if item.position == 0:
                item = dc_replace(item, position=guardstore.next_position(conn))
            after = table + [item]
        else:
            item = guardstore.GUARDS.proposed(guardstore.get(conn, guard_id), fields)
            after = [item if g.id == guard_id else g for g in table]
        _no_twin(conn, item)
        impact = judge_guards(conn, table, after)
        decision = None
        if text:
            rules = rulestore.load_rules(conn, system=SYSTEMS[0])
            strict = settings.matching(conn) is Matching.STRICT
            decision = RuleSet(rules, normalizer=normstore.normalizer(conn), guards=after, strict=strict).decide(text)
        return GuardPreview(item, decision, impact)


def list_guards(engine: Engine, include_disabled: bool = True) -> list[Guard]:
    with engine.connect() as conn:
        return guardstore.load(conn, include_disabled=include_disabled)


def show_guard(engine: Engine, guard_id: int) -> Shown:
    with engine.connect() as conn:
        return Shown(guardstore.get(conn, guard_id), guardstore.history(conn, guard_id))


def plan_and_judge(conn: Connection, path: str | Path, required: bool = True) -> tuple[sheet.GuardPlan | None, Any]:
    """The plan of a file's guards (None when an optional sheet is absent) and the tables before and after."""
    rows = sheet.guards_sheet(path, required=required)
    if rows is None:
        return None, None
    plan = sheet.plan_guards(conn, rows)
    stored = guardstore.load(conn, include_disabled=True)
    return plan, (stored, sheet.table_after(stored, plan))


def write_plan(
    conn: Connection, plan: sheet.GuardPlan, tables, author: str, reason: str | None, rb_version: int, force: bool
) -> Impact:
    """Judge a plan (refused unless forced) and write it at `rb_version`, in the caller's transaction."""
    impact = _refuse_unless(judge_guards(conn, *tables), force)
    sheet.apply_plan(conn, plan, author, reason, rb_version)
    return impact


def import_guards(
    engine: Engine, path: str | Path, author: str, reason: str | None, dry_run: bool = False, force: bool = False
) -> tuple[sheet.GuardPlan, Impact | None]:
    """The guards from a .csv or a workbook's guards sheet, checked whole, judged, all or nothing."""
    author = require_author(author)
    with engine.begin() as conn:
        plan, tables = plan_and_judge(conn, path)
        if not plan:
            return plan, None
        if dry_run:
            return plan, judge_guards(conn, *tables)
        return plan, write_plan(conn, plan, tables, author, reason, bump_rulebase_version(conn), force)


def export_guards(engine: Engine, path: str | Path) -> int:
    """Write every guard to a .csv (or, for .xlsx, a workbook with the guards sheet); the number written."""
    return export_rows(path, sheet, sheet.guard_rows(list_guards(engine)), "guards")
