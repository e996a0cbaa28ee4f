"""Imports of the code dictionary, rules and diagnoses: validated row by row, then all or nothing.

Each import first checks every row and collects every problem (file, sheet, row, column, what
to do); if there is any, it raises ImportRejected and writes nothing. Otherwise it returns a
plan, and applies it in one transaction unless it is a dry run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from rulebase.errors import ImportRejected, PatternInvalid, Problem, RuleInvalid
from rulebase.dialect import parse
from rulebase.rule import MAX_CODE_LENGTH, Rule

from . import rulestore
from .db.models import AUTO, MANUAL, PENDING, diagnosis, icd_code, utcnow
from .splitting import split_numbered
from .tabular import Sheet, read_sheet

TRUE_WORDS = {"1", "true", "yes", "y", "是", "启用", "x"}
FALSE_WORDS = {"0", "false", "no", "n", "否", "停用"}


def reject_unknown_columns(sheet: Sheet, allowed: tuple[str, ...], problems: list[Problem]) -> None:
    for h in sheet.headers:
        if h and h not in allowed:
            problems.append(sheet.problem(1, h, f"unknown column {h!r}; allowed columns: {', '.join(allowed)}"))


def flag(text: str) -> bool | None:
    t = text.strip().lower()
    if t in TRUE_WORDS:
        return True
    if t in FALSE_WORDS:
        return False
    return None


def whole_number(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def int_cell(sheet: Sheet, row, column: str, default: int | None, problems: list[Problem]) -> int | None:
    """A whole-number cell (default when empty); a problem naming the place when it is not one."""
    text = row.get(column)
    if not text:
        return default
    value = whole_number(text)
    if value is None:
        problems.append(sheet.problem(row.number, column, f"{column} {text!r} is not a whole number"))
    return value


def flag_cell(sheet: Sheet, row, column: str, problems: list[Problem]) -> bool | None:
    """A 1/0 cell (true when empty); a problem naming the place when it is neither."""
    if not row.get(column):
        return True
    value = flag(row.get(column))
    if value is None:
        problems.append(sheet.problem(row.number, column, f"{column} must be 1 or 0"))
    return value


# -- code dictionary ---------------------------------------------------------------------------

DICT_COLUMNS = ("code", "name", "parent", "active")


@dataclass
class DictPlan:
    added: list[dict[str, Any]] = field(default_factory=list)
    changed: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    unchanged: int = 0

    def summary(self) -> dict[str, int]:
        return {"added": len(self.added), "changed": len(self.changed), "unchanged": self.unchanged}


def plan_dictionary(conn: Connection, path: str | Path) -> DictPlan:
    sheet = read_sheet(path)
    sheet.require("code", "name")
    problems: list[Problem] = []
    reject_unknown_columns(sheet, DICT_COLUMNS, problems)
    existing = {r.code: r for r in conn.execute(select(icd_code))}
    seen: dict[str, int] = {}
    rows: list[tuple[int, dict[str, Any]]] = []
    for row in sheet.rows:
        code, name, parent = row.get("code"), row.get("name"), row.get("parent") or None
        if not code:
            problems.append(sheet.problem(row.number, "code", "code is empty"))
            continue
        if len(code) > MAX_CODE_LENGTH:
            problems.append(sheet.problem(row.number, "code", f"code is longer than {MAX_CODE_LENGTH} characters"))
        if code in seen:
            problems.append(sheet.problem(row.number, "code", f"duplicate code {code!r} (also on row {seen[code]})"))
        seen.setdefault(code, row.number)
        if not name:
            problems.append(sheet.problem(row.number, "name", "name is empty"))
        elif len(name) > 200:
            problems.append(sheet.problem(row.number, "name", "name is longer than 200 characters"))
        active = flag_cell(sheet, row, "active", problems)
        rows.append((row.number, {"code": code, "name": name, "parent": parent, "active": active}))
    for number, values in rows:
        p = values["parent"]
        if p and p not in seen and p not in existing:
            problems.append(sheet.problem(number, "parent", f"parent {p!r} is neither in this file nor in the dictionary"))
    if problems:
        raise ImportRejected(problems)
    plan = DictPlan()
    for _, values in rows:
        old = existing.get(values["code"])
        if old is None:
            plan.added.append(values)
        else:
            before = {"code": old.code, "name": old.name, "parent": old.parent, "active": old.active}
            if before == values:
                plan.unchanged += 1
            else:
                plan.changed.append((before, values))
    return plan


def import_dictionary(engine: Engine, path: str | Path, dry_run: bool = False) -> DictPlan:
    with engine.begin() as conn:
        plan = plan_dictionary(conn, path)
        if dry_run:
            return plan
        now = utcnow()
        if plan.added:
            conn.execute(icd_code.insert(), [{**v, "updated_at": now} for v in plan.added])
        for _, new in plan.changed:
            conn.execute(update(icd_code).where(icd_code.c.code == new["code"]).values(
                name=new["name"], parent=new["parent"], active=new["active"], updated_at=now))
    return plan


# -- rules -------------------------------------------------------------------------------------

RULE_COLUMNS = ("id", "code", "code_name", "pattern", "exclude", "priority", "enabled", "note", "version")


@dataclass
class RulePlan:
    added: list[Rule] = field(default_factory=list)
    changed: list[rulestore.RuleChange] = field(default_factory=list)
    unchanged: int = 0
    normalization: Any = None  # a norm_import.NormPlan when the workbook has a normalization sheet
    impact: Any = None  # a ruletest.Impact: the change judged against the audited history
    stored: dict[int, Rule] = field(default_factory=dict, repr=False)  # the rule base the plan was made against

    @property
    def disabled(self) -> list[rulestore.RuleChange]:
        return [c for c in self.changed if c.old["enabled"] and not c.new["enabled"]]

    def summary(self) -> dict[str, int]:
        return {"added": len(self.added), "changed": len(self.changed), "disabled": len(self.disabled),
                "unchanged": self.unchanged}


def _pattern_problem(sheet: Sheet, number: int, column: str, text: str) -> Problem | None:
    try:
        parse(text)
    except PatternInvalid as exc:
        return sheet.problem(number, column, f"invalid pattern {text!r}: {exc}")
    return None


def rules_sheet(path: str | Path) -> Sheet:
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        sheet = read_sheet(path, "rules", required=False)
        if sheet is not None:
            return sheet
    return read_sheet(path)


def plan_rules(conn: Connection, path: str | Path) -> RulePlan:
    sheet = rules_sheet(path)
    sheet.require("code", "pattern")
    problems: list[Problem] = []
    reject_unknown_columns(sheet, RULE_COLUMNS, problems)
    stored = {r.id: r for r in rulestore.load_rules(conn, include_disabled=True)}
    codes = {r.code: r.active for r in conn.execute(select(icd_code.c.code, icd_code.c.active))}
    ids_seen: dict[int, int] = {}
    keys_seen: dict[tuple, int] = {}
    live_keys = {(r.code, r.pattern, r.exclude): r.id for r in stored.values() if r.enabled}
    plan = RulePlan(stored=stored)
    for row in sheet.rows:
        n = row.number
        before = len(problems)
        rule_id = None
        if row.get("id"):
            rule_id = whole_number(row.get("id"))
            if rule_id is None:
                problems.append(sheet.problem(n, "id", f"id {row.get('id')!r} is not a whole number"))
            elif rule_id not in stored:
                problems.append(sheet.problem(n, "id", f"no rule with id {rule_id}; leave id empty to add a new rule"))
            elif rule_id in ids_seen:
                problems.append(sheet.problem(n, "id", f"rule {rule_id} appears twice (also on row {ids_seen[rule_id]})"))
            else:
                ids_seen[rule_id] = n
        code = row.get("code")
        if not code:
            problems.append(sheet.problem(n, "code", "code is empty"))
        elif code not in codes:
            problems.append(sheet.problem(n, "code", f"code {code!r} is not in the code dictionary"))
        elif not codes[code]:
            problems.append(sheet.problem(n, "code", f"code {code!r} is inactive in the code dictionary"))
        pattern, exclude = row.get("pattern"), row.get("exclude") or None
        if not pattern:
            problems.append(sheet.problem(n, "pattern", "pattern is empty"))
        else:
            p = _pattern_problem(sheet, n, "pattern", pattern)
            if p:
                problems.append(p)
        if exclude:
            p = _pattern_problem(sheet, n, "exclude", exclude)
            if p:
                problems.append(p)
        priority = int_cell(sheet, row, "priority", 0, problems)
        enabled = flag_cell(sheet, row, "enabled", problems)
        old = stored.get(rule_id) if rule_id is not None else None
        if old is not None and row.get("version"):
            v = whole_number(row.get("version"))
            if v is None:
                problems.append(sheet.problem(n, "version", f"version {row.get('version')!r} is not a whole number"))
            elif v < old.version:
                problems.append(sheet.problem(
                    n, "version",
                    f"conflict: rule {rule_id} was changed to version {old.version} after this file was exported "
                    f"(file has version {v}); export again and redo this row's edit"))
        if len(problems) > before:
            continue
        where = f"{sheet.file}, row {n}"
        try:
            rule = Rule(code=code, pattern=pattern, exclude=exclude, priority=priority, enabled=enabled,
                        note=row.get("note") or None, id=rule_id, where=where)
        except RuleInvalid as exc:
            problems.append(sheet.problem(n, None, str(exc).removeprefix(where + ": ")))
            continue
        key = (rule.code, rule.pattern, rule.exclude)
        if rule.enabled:
            if key in keys_seen:
                problems.append(sheet.problem(n, "pattern", f"duplicate of row {keys_seen[key]} (same code, pattern and exclude)"))
                continue
            keys_seen[key] = n
            twin = live_keys.get(key)
            if twin is not None and twin != rule_id and rule_id is None:
                problems.append(sheet.problem(n, "pattern", f"duplicate of existing rule {twin} (same code, pattern and exclude)"))
                continue
        if old is None:
            plan.added.append(rule)
        else:
            before_f, after_f = rulestore.fields_of(old), rulestore.fields_of(rule)
            if before_f == after_f:
                plan.unchanged += 1
            else:
                plan.changed.append(rulestore.RuleChange(rule_id, before_f, after_f))
    if problems:
        raise ImportRejected(problems)
    return plan


def import_rules(engine: Engine, path: str | Path, author: str, reason: str | None,
                 dry_run: bool = False, force: bool = False) -> RulePlan:
    """Validate the whole file, apply it, judge it against the audited history, then commit.

    A dry run judges the rule changes in memory and writes nothing.
    """
    from .norm_import import apply_plan, norm_sheet, plan_normalization
    from .ruletest import check_change

    author = rulestore.require_author(author)
    with engine.begin() as conn:
        problems: list[Problem] = []
        try:
            plan = plan_rules(conn, path)
        except ImportRejected as exc:
            plan, problems = None, list(exc.problems)
        sheet = norm_sheet(path, required=False)
        if sheet is not None:
            try:
                norm = plan_normalization(conn, sheet)
            except ImportRejected as exc:
                problems += exc.problems
        if problems:
            raise ImportRejected(problems)
        plan.normalization = norm if sheet is not None else None
        if not (plan.added or plan.changed or plan.normalization):
            return plan
        stored = plan.stored  # read in the same transaction
        old = [stored[c.rule_id] for c in plan.changed]
        # Judged before the rules are written (added rules without ids), so a refused or dry-run
        # import consumes no ids; normalization changes are applied first so the judgement sees them.
        new = list(plan.added) + [Rule(**c.new, id=c.rule_id, version=stored[c.rule_id].version + 1)
                                  for c in plan.changed]
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
            rulestore.change_rule(conn, change.rule_id, author, reason, rb_version=rb_version,
                                  **{k: change.new[k] for k in change.changed_fields})
    return plan


# -- diagnoses ---------------------------------------------------------------------------------

DIAGNOSIS_COLUMNS = ("record_id", "seq", "kind", "description", "code", "coder")


@dataclass
class DiagnosisPlan:
    rows: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    split_rows: int = 0  # file rows whose numbered list became several diagnoses

    def summary(self) -> dict[str, int]:
        pending = sum(1 for r in self.rows if r["status"] == PENDING)
        return {"added": len(self.rows), "pending": pending, "coded_by_person": len(self.rows) - pending,
                "unchanged": self.unchanged, "split_rows": self.split_rows}


def plan_diagnoses(conn: Connection, path: str | Path) -> DiagnosisPlan:
    sheet = read_sheet(path)
    sheet.require("record_id", "description")
    problems: list[Problem] = []
    reject_unknown_columns(sheet, DIAGNOSIS_COLUMNS, problems)
    codes = {r.code: r.active for r in conn.execute(select(icd_code.c.code, icd_code.c.active))}
    # Rows of one record keep their order (by seq when given, else as listed); a numbered list
    # becomes consecutive diagnoses, so the final sequence numbers are assigned per record.
    by_record: dict[tuple[str, str], list[tuple[int, int, Any]]] = {}
    for order, row in enumerate(sheet.rows):
        n = row.number
        record = row.get("record_id")
        if not record:
            problems.append(sheet.problem(n, "record_id", "record_id is empty"))
            continue
        if len(record) > 64:
            problems.append(sheet.problem(n, "record_id", "record_id is longer than 64 characters"))
        kind = row.get("kind") or "discharge"
        if len(kind) > 16:
            problems.append(sheet.problem(n, "kind", "kind is longer than 16 characters"))
        seq = order
        if row.get("seq"):
            s = whole_number(row.get("seq"))
            if s is None or s < 1:
                problems.append(sheet.problem(n, "seq", f"seq {row.get('seq')!r} is not a whole number >= 1"))
                continue
            seq = s
        if len(row.get("description")) > 1000:
            problems.append(sheet.problem(n, "description", "description is longer than 1000 characters"))
        code = row.get("code")
        if code:
            if code not in codes:
                problems.append(sheet.problem(n, "code", f"code {code!r} is not in the code dictionary"))
            elif not codes[code]:
                problems.append(sheet.problem(n, "code", f"code {code!r} is inactive in the code dictionary"))
            if row.get("coder").strip().lower() == AUTO:
                problems.append(sheet.problem(n, "coder", f"coder {AUTO!r} is reserved for icdcoder's own codes"))
        by_record.setdefault((record, kind), []).append((seq, n, row))
    plan = DiagnosisPlan()
    existing = {
        (r.record_id, r.kind, r.seq_no): r.description
        for r in conn.execute(select(diagnosis.c.record_id, diagnosis.c.kind, diagnosis.c.seq_no, diagnosis.c.description))
    }
    now = utcnow()
    for (record, kind), items in by_record.items():
        seqs_seen: dict[int, int] = {}
        next_seq = 1
        for seq, n, row in sorted(items, key=lambda t: (t[0], t[1])):
            if row.get("seq"):
                if seq in seqs_seen:
                    problems.append(sheet.problem(n, "seq", f"record {record} has seq {seq} twice (also row {seqs_seen[seq]})"))
                    continue
                seqs_seen[seq] = n
                next_seq = max(next_seq, seq)
            parts = split_numbered(row.get("description"))
            if len(parts) > 1:
                plan.split_rows += 1
                if row.get("code"):
                    problems.append(sheet.problem(n, "code", "a row with a code must hold one diagnosis, not a numbered list"))
                    continue
            for part in parts:
                key = (record, kind, next_seq)
                next_seq += 1
                if key in existing:
                    if existing[key] == part:
                        plan.unchanged += 1
                    else:
                        problems.append(sheet.problem(
                            n, "description",
                            f"record {record} already has diagnosis {key[2]} with a different description; "
                            "diagnoses are not replaced by an import"))
                    continue
                code = row.get("code") or None
                plan.rows.append({
                    "record_id": record, "seq_no": key[2], "kind": kind, "description": part,
                    "code": code, "coded_by": (row.get("coder") or "import") if code else None,
                    "status": MANUAL if code else PENDING, "created_at": now, "updated_at": now,
                })
    if problems:
        raise ImportRejected(problems)
    return plan


def import_diagnoses(engine: Engine, path: str | Path, dry_run: bool = False) -> DiagnosisPlan:
    with engine.begin() as conn:
        plan = plan_diagnoses(conn, path)
        if not dry_run and plan.rows:
            conn.execute(diagnosis.insert(), plan.rows)
    return plan
