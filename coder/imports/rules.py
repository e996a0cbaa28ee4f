"""Rules from a file (.xlsx sheet "rules", or .csv): validated row by row into a plan.

Rows with an id change that rule, rows without one add a rule, enabled = 0 disables. The plan is
written by services.rules.import_rules, judged against the audited history first. A mined workbook
(`rules mine`, with an accept column) is read as its accepted rows (imports.mined.accepted_rows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coder.errors import ImportRejected, Problem
from coder.store import rules as rulestore
from coder.store.codes import code_states, problem_with
from rulebase.dialect import parse
from rulebase.errors import PatternInvalid, RuleInvalid
from rulebase.rule import MAX_CODE_LENGTH, Rule

from .columns import CellInvalid, Column, FirstSeen, Schema, integer, one_or_zero, text
from .tabular import Sheet, read_sheet


def _pattern(value: str, name: str) -> str:
    try:
        parse(value)
    except PatternInvalid as exc:
        raise CellInvalid(f"invalid pattern {value!r}: {exc}") from None
    return value


SCHEMA = Schema(
    (
        Column("id", integer(), unique="rule {value} appears twice"),
        Column("code", text(MAX_CODE_LENGTH), required=True, empty="code is empty"),
        Column("code_name", ignored=True),  # the name beside the code in an exported workbook
        Column("pattern", _pattern, required=True, empty="pattern is empty"),
        Column("exclude", _pattern),
        Column("priority", integer(), default=0),
        Column("enabled", one_or_zero, default=True),
        Column("note", text()),
        Column("version", integer()),
    )
)
RULE_COLUMNS = SCHEMA.names


@dataclass
class RulePlan:
    added: list[Rule] = field(default_factory=list)
    changed: list[rulestore.RuleChange] = field(default_factory=list)
    unchanged: int = 0
    normalization: Any = None  # an imports.normalization.NormPlan when the workbook has that sheet
    guards: Any = None  # an imports.guards.GuardPlan when the workbook has that sheet
    guard_impact: Any = None  # the guard changes judged (an audit.ruletest.Impact)
    combinations: Any = None  # an imports.combinations.CombinationPlan when the workbook has that sheet
    combination_impact: Any = None  # the combination changes judged (an audit.combotest.ComboImpact)
    impact: Any = None  # an audit.ruletest.Impact: the change judged against the audited history
    stored: dict[int, Rule] = field(default_factory=dict, repr=False)  # the rule base the plan was made against
    not_accepted: int | None = None  # a mined workbook's rows with accept = 0 (None: not a mined workbook)

    @property
    def disabled(self) -> list[rulestore.RuleChange]:
        return [c for c in self.changed if c.old["enabled"] and not c.new["enabled"]]

    def summary(self) -> dict[str, int]:
        out = {
            "added": len(self.added),
            "changed": len(self.changed),
            "disabled": len(self.disabled),
            "unchanged": self.unchanged,
        }
        if self.not_accepted is not None:
            out["not_accepted"] = self.not_accepted
        return out


def rules_sheet(path: str | Path) -> Sheet:
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        sheet = read_sheet(path, "rules", required=False)
        if sheet is not None:
            return sheet
    return read_sheet(path)


def plan_rules(conn, path: str | Path) -> RulePlan:
    from .mined import accepted_rows, is_mined  # it builds on this module's columns

    sheet = rules_sheet(path)
    problems: list[Problem] = []
    not_accepted = None
    if is_mined(sheet):
        sheet, not_accepted = accepted_rows(sheet, problems)
    stored = {r.id: r for r in rulestore.load_rules(conn, include_disabled=True)}
    states = code_states(conn)
    keys = FirstSeen()
    live_keys = {(r.code, r.pattern, r.exclude): r for r in stored.values() if r.enabled}
    plan = RulePlan(stored=stored, not_accepted=not_accepted)
    checks = {
        "code": lambda code: problem_with(code, states),
        "id": lambda i: None if i in stored else f"no rule with id {i}; leave id empty to add a new rule",
    }
    for n, v, ok in SCHEMA.read(sheet, problems, checks):
        rule_id = v["id"]
        old = stored.get(rule_id) if rule_id is not None else None
        if old is not None and v["version"] is not None and v["version"] < old.version:
            problems.append(
                sheet.problem(
                    n,
                    "version",
                    f"conflict: rule {rule_id} was changed to version {old.version} after this file was exported "
                    f"(file has version {v['version']}); export again and redo this row's edit",
                )
            )
            ok = False
        if not ok:
            continue
        where = f"{sheet.file}, row {n}"
        try:
            rule = Rule(
                code=v["code"],
                pattern=v["pattern"],
                exclude=v["exclude"],
                priority=v["priority"],
                enabled=v["enabled"],
                note=v["note"],
                id=rule_id,
                where=where,
            )
        except RuleInvalid as exc:
            problems.append(sheet.problem(n, None, str(exc).removeprefix(where + ": ")))
            continue
        key = (rule.code, rule.pattern, rule.exclude)
        if rule.enabled:
            earlier = keys.earlier(key, n)
            if earlier is not None:
                problems.append(
                    sheet.problem(n, "pattern", f"duplicate of row {earlier} (same code, pattern and exclude)")
                )
                continue
            twin = live_keys.get(key)
            if old is None and twin is not None:
                # A row without its id that is a stored rule: the same rule again is harmless, a
                # different one needs the id to say which rule it changes.
                if rulestore.fields_of(twin) == rulestore.fields_of(rule):
                    plan.unchanged += 1
                else:
                    problems.append(
                        sheet.problem(
                            n,
                            "pattern",
                            f"rule {twin.id} already has this code, pattern and exclude; "
                            "put its id in the id column to change it",
                        )
                    )
                continue
        if old is None:
            plan.added.append(rule)
            continue
        before, after = rulestore.fields_of(old), rulestore.fields_of(rule)
        if before == after:
            plan.unchanged += 1
        else:
            plan.changed.append(rulestore.RuleChange(rule_id, before, after))
    if problems:
        raise ImportRejected(problems)
    return plan
