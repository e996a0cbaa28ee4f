"""The normalization sheet: a `normalization` sheet in the rules workbook, or a CSV of its own.

Same contract as the other imports: every row checked, every problem reported with its place,
then all or nothing. The whole resulting table is checked for loops before anything is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from coder.errors import ImportRejected, Problem
from coder.store import normalization as normstore
from rulebase.normalize import LITERAL, Replacement, ReplacementInvalid, table_problems

from .columns import Changed, Column, FirstSeen, Schema, integer, one_or_zero, text
from .tabular import Sheet
from .versioned import TablePlan, checked_rows, id_column, table_sheet

SHEET = "normalization"


class NormPlan(TablePlan):
    """The normalization entries an import adds and changes."""


def norm_sheet(path: str | Path, required: bool) -> Sheet | None:
    """The sheet named normalization of a workbook, or a CSV file; None when an optional sheet is absent."""
    return table_sheet(path, SHEET, required)


SCHEMA = Schema(
    (
        id_column("normalization entry", "entry {value} appears twice"),
        Column("position", integer()),
        Column("kind", text(), default=LITERAL),
        Column("find", text(), required=True, default=""),
        Column("replace", text(), required=True, default=""),
        Column("enabled", one_or_zero, default=True),
        Column("note", text()),
        Column("version", text()),
    )
)
COLUMNS = SCHEMA.names  # the keys of Replacement: id, position, kind, find, replace, enabled, note, version


def plan_normalization(conn: Connection, sheet: Sheet) -> NormPlan:
    problems: list[Problem] = []
    stored = {e.id: e for e in normstore.load(conn, include_disabled=True)}
    plan = NormPlan()
    finds = FirstSeen()
    by_find = {(e.kind, e.find): e for e in stored.values()}
    result: dict[Any, Replacement] = dict(stored)  # the table as it would be after the import
    next_pos = max([e.position for e in stored.values()] + [0]) + 10
    for n, v, old, where in checked_rows(sheet, SCHEMA, problems, stored, "normalization entry", "entry"):
        entry_id = v["id"]
        position = v["position"] if v["position"] is not None else (old.position if old else next_pos)
        try:
            entry = Replacement(
                find=v["find"],
                replace=v["replace"],
                kind=v["kind"],
                position=position,
                enabled=v["enabled"],
                id=entry_id,
                note=v["note"],
                version=old.version if old else 1,
                where=where,
            )
        except ReplacementInvalid as exc:
            problems.append(sheet.problem(n, None, str(exc).removeprefix(where + ": ")))
            continue
        if old is None:
            key = (entry.kind, entry.find)
            twin = by_find.get(key)
            if twin is not None and twin.enabled:
                # A row without its id that is a stored entry: the same entry again is harmless, a
                # different one needs the id to say which entry it changes.
                if twin.replace == entry.replace:
                    plan.unchanged += 1
                else:
                    problems.append(
                        sheet.problem(
                            n,
                            "find",
                            f"entry {twin.id} already replaces {entry.find!r} (with {twin.replace!r}); "
                            "put its id in the id column to change it",
                        )
                    )
                continue
            earlier = finds.earlier(key, n)
            if earlier is not None:
                problems.append(sheet.problem(n, "find", f"{entry.find!r} is also on row {earlier}"))
                continue
            if v["position"] is None:
                next_pos += 10
            plan.added.append(entry)
            result[("new", n)] = entry
        elif normstore.fields_of(old) == normstore.fields_of(entry):
            plan.unchanged += 1
        else:
            plan.changed.append(Changed(old, entry))
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
        normstore.ENTRIES.insert(conn, entry, author, reason, rb_version)
    entries = normstore.ENTRIES
    for old, new in plan.changed:
        entries.replace(conn, old, entries.proposed(old, entries.fields_of(new)), author, reason, rb_version)
