"""The guards sheet: a `guards` sheet in the rules workbook, or a CSV of its own.

Same contract as the other imports: every row checked, every problem reported with its place,
then all or nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from coder.errors import ImportRejected, Problem
from coder.store import guards as guardstore
from rulebase.guards import Guard, GuardInvalid
from rulebase.states import GuardKind, GuardScope

from .columns import Changed, Column, FirstSeen, Schema, integer, one_or_zero, text
from .tabular import Sheet
from .versioned import TablePlan, checked_rows, id_column, sheet_rows, table_sheet
from .versioned import table_after as table_after  # the services' name for the table after a plan

SHEET = "guards"


class GuardPlan(TablePlan):
    """The guards an import adds and changes."""


def guards_sheet(path: str | Path, required: bool) -> Sheet | None:
    """The sheet named guards of a workbook, or a CSV file; None when an optional sheet is absent."""
    return table_sheet(path, SHEET, required)


SCHEMA = Schema(
    (
        id_column("guard", "guard {value} appears twice"),
        Column("position", integer()),
        Column("cue", text(), required=True, default=""),
        Column("kind", text(), required=True, default=""),
        Column("scope", text(), default=GuardScope.ANY),
        Column("not_within", text()),
        Column("enabled", one_or_zero, default=True),
        Column("note", text()),
        Column("version", text()),
    )
)
COLUMNS = SCHEMA.names  # the keys of Guard
WIDTHS = {"cue": 10, "kind": 11, "scope": 9, "not_within": 24, "note": 40}
# Drop-downs of this sheet only ("sheet:column"): the normalization sheet has a kind column too.
CHOICES = {
    f"{SHEET}:kind": tuple(GuardKind),
    f"{SHEET}:scope": tuple(GuardScope),
    f"{SHEET}:enabled": ("1", "0"),
}


def plan_guards(conn: Connection, sheet: Sheet) -> GuardPlan:
    problems: list[Problem] = []
    stored = {g.id: g for g in guardstore.load(conn, include_disabled=True)}
    by_cue = {g.cue: g for g in stored.values()}
    plan = GuardPlan()
    cues = FirstSeen()
    next_pos = max([g.position for g in stored.values()] + [0]) + 10
    for n, v, old, where in checked_rows(sheet, SCHEMA, problems, stored, "guard", "guard"):
        guard_id = v["id"]
        position = v["position"] if v["position"] is not None else (old.position if old else next_pos)
        try:
            item = Guard(
                cue=v["cue"],
                kind=v["kind"],
                scope=v["scope"],
                not_within=v["not_within"],
                position=position,
                enabled=v["enabled"],
                id=guard_id,
                note=v["note"],
                version=old.version if old else 1,
                where=where,
            )
        except GuardInvalid as exc:
            problems.append(sheet.problem(n, exc.field, str(exc).removeprefix(where + ": ")))
            continue
        if old is None:
            twin = by_cue.get(item.cue)
            if twin is not None:
                # A row without its id that is a stored guard: the same guard again is harmless, a
                # different one needs the id to say which guard it changes.
                if {**guardstore.fields_of(twin), "position": 0} == {**guardstore.fields_of(item), "position": 0}:
                    plan.unchanged += 1
                else:
                    problems.append(
                        sheet.problem(
                            n, "cue", f"guard {twin.id} already has the cue {item.cue!r}; put its id in the id column"
                        )
                    )
                continue
            earlier = cues.earlier(item.cue, n)
            if earlier is not None:
                problems.append(sheet.problem(n, "cue", f"{item.cue!r} is also on row {earlier}"))
                continue
            if v["position"] is None:
                next_pos += 10
            plan.added.append(item)
        elif guardstore.fields_of(old) == guardstore.fields_of(item):
            plan.unchanged += 1
        else:
            plan.changed.append(Changed(old, item))
    if problems:
        raise ImportRejected(problems)
    return plan


def apply_plan(conn: Connection, plan: GuardPlan, author: str, reason: str | None, rb_version: int) -> None:
    """Write a checked plan, each guard with its history row, at `rb_version`."""
    store = guardstore.GUARDS
    for item in plan.added:
        store.insert(conn, item, author, reason, rb_version)
    for old, new in plan.changed:
        store.replace(conn, old, store.proposed(old, store.fields_of(new)), author, reason, rb_version)


def guard_rows(items: list[Guard]) -> list[list[Any]]:
    """The sheet's rows, in COLUMNS order (flags as 1/0)."""
    return sheet_rows(items, COLUMNS)
