"""The normalization sheet: a `normalization` sheet in the rules workbook, or a CSV of its own.

Same contract as the other imports: every row checked, every problem reported with its place,
then all or nothing. The whole resulting table is checked for loops before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from rulebase.errors import ImportRejected, Problem
from rulebase.normalize import LITERAL, Replacement, ReplacementInvalid, table_problems

from . import normstore
from .imports import flag_cell, int_cell, reject_unknown_columns, whole_number
from .rulestore import bump_rulebase_version, require_author
from .tabular import Sheet, read_sheet

SHEET = "normalization"
COLUMNS = Replacement.KEYS  # id, position, kind, find, replace, enabled, note, version


@dataclass
class NormPlan:
    added: list[Replacement] = field(default_factory=list)
    changed: list[tuple[Replacement, Replacement]] = field(default_factory=list)  # (old, new)
    unchanged: int = 0

    def summary(self) -> dict[str, int]:
        return {"added": len(self.added), "changed": len(self.changed), "unchanged": self.unchanged}

    def __bool__(self) -> bool:
        return bool(self.added or self.changed)


def norm_sheet(path: str | Path, required: bool) -> Sheet | None:
    """The sheet named normalization of a workbook, or a CSV file; None when an optional sheet is absent."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return read_sheet(path) if required else None
    return read_sheet(path, SHEET, required=required)


def plan_normalization(conn: Connection, sheet: Sheet) -> NormPlan:
    sheet.require("find", "replace")
    problems: list[Problem] = []
    reject_unknown_columns(sheet, COLUMNS, problems)
    stored = {e.id: e for e in normstore.load(conn, include_disabled=True)}
    plan = NormPlan()
    seen: dict[int, int] = {}
    by_find = {(e.kind, e.find): e for e in stored.values()}
    rows_seen: dict[tuple[str, str], int] = {}
    result: dict[Any, Replacement] = dict(stored)  # the table as it would be after the import
    next_pos = max([e.position for e in stored.values()] + [0]) + 10
    for row in sheet.rows:
        n, before = row.number, len(problems)
        entry_id = None
        if row.get("id"):
            entry_id = whole_number(row.get("id"))
            if entry_id is None or entry_id not in stored:
                problems.append(sheet.problem(n, "id", f"no normalization entry with id {row.get('id')!r}; "
                                                        "leave id empty to add one"))
            elif entry_id in seen:
                problems.append(sheet.problem(n, "id", f"entry {entry_id} appears twice (also on row {seen[entry_id]})"))
            else:
                seen[entry_id] = n
        old = stored.get(entry_id)
        position = int_cell(sheet, row, "position", old.position if old else next_pos, problems)
        enabled = flag_cell(sheet, row, "enabled", problems)
        if old is not None and row.get("version"):
            v = whole_number(row.get("version"))
            if v is None or v < old.version:
                problems.append(sheet.problem(
                    n, "version", f"conflict: entry {entry_id} is at version {old.version}, the file has "
                                  f"{row.get('version')!r}; export again and redo this row's edit"))
        if len(problems) > before:
            continue
        where = f"{sheet.file}, sheet {sheet.name}, row {n}" if sheet.name else f"{sheet.file}, row {n}"
        try:
            entry = Replacement(find=row.get("find"), replace=row.get("replace"), kind=row.get("kind") or LITERAL,
                                position=position, enabled=enabled, id=entry_id, note=row.get("note") or None,
                                version=old.version if old else 1, where=where)
        except ReplacementInvalid as exc:
            problems.append(sheet.problem(n, None, str(exc).removeprefix(where + ": ")))
            continue
        if old is None:
            key = (entry.kind, entry.find)
            twin = by_find.get(key)
            if twin is not None and twin.enabled:
                if twin.replace == entry.replace:
                    plan.unchanged += 1  # the same entry without its id: a harmless re-import
                else:
                    problems.append(sheet.problem(
                        n, "find", f"entry {twin.id} already replaces {entry.find!r} (with {twin.replace!r}); "
                                   "put its id in the id column to change it"))
                continue
            if key in rows_seen:
                problems.append(sheet.problem(n, "find", f"{entry.find!r} is also on row {rows_seen[key]}"))
                continue
            rows_seen[key] = n
        if not row.get("position") and old is None:
            next_pos += 10
        if old is None:
            plan.added.append(entry)
            result[("new", n)] = entry
        elif normstore.fields_of(old) == normstore.fields_of(entry):
            plan.unchanged += 1
        else:
            plan.changed.append((old, entry))
            result[entry_id] = entry
    if not problems:
        for message in table_problems(list(result.values())):
            problems.append(sheet.problem(None, None, message))
    if problems:
        raise ImportRejected(problems)
    return plan


def apply_plan(conn: Connection, plan: NormPlan, author: str, reason: str | None, rb_version: int) -> None:
    """Write a checked plan; the table was validated as a whole, so entries are not re-checked one by one."""
    for entry in plan.added:
        normstore.add(conn, entry, author, reason, rb_version=rb_version, check=False)
    for old, new in plan.changed:
        changes = {k: v for k, v in normstore.fields_of(new).items() if normstore.fields_of(old)[k] != v}
        normstore.change(conn, old.id, author, reason, rb_version=rb_version, check=False, **changes)


def import_normalization(engine: Engine, path: str | Path, author: str, reason: str | None,
                         dry_run: bool = False) -> NormPlan:
    author = require_author(author)
    with engine.begin() as conn:
        plan = plan_normalization(conn, norm_sheet(path, required=True))
        if plan and not dry_run:
            apply_plan(conn, plan, author, reason, bump_rulebase_version(conn))
    return plan
