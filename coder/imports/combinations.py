"""The combinations sheet: a `combinations` sheet in the rules workbook, or a CSV of its own.

Same contract as the other imports: every row checked, every problem reported with its place,
then all or nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from coder.errors import ImportRejected, Problem
from coder.store import combinations as combostore
from rulebase.combinations import Combination, CombinationInvalid

from .columns import Changed, Column, FirstSeen, Schema, one_or_zero, text
from .tabular import Sheet
from .versioned import TablePlan, checked_rows, id_column, sheet_rows, table_sheet
from .versioned import table_after as table_after  # the services' name for the table after a plan

SHEET = "combinations"


class CombinationPlan(TablePlan):
    """The combinations an import adds and changes."""


def combinations_sheet(path: str | Path, required: bool) -> Sheet | None:
    """The sheet named combinations of a workbook, or a CSV file; None when an optional sheet is absent."""
    return table_sheet(path, SHEET, required)


SCHEMA = Schema(
    (
        id_column("combination", "combination {value} appears twice"),
        Column("codes", text(), required=True, default=""),
        Column("code", text(), required=True, default=""),
        Column("enabled", one_or_zero, default=True),
        Column("note", text()),
        Column("version", text()),
    )
)
COLUMNS = SCHEMA.names  # the keys of Combination
WIDTHS = {"codes": 30, "code": 20, "note": 40}
CHOICES = {f"{SHEET}:enabled": ("1", "0")}


def plan_combinations(conn: Connection, sheet: Sheet, known_codes: set[str] | None = None) -> CombinationPlan:
    """The sheet's rows checked against the stored table. `known_codes`: the dictionary's codes;
    a combination code outside it is refused (a line cannot hold a code the dictionary lacks)."""
    problems: list[Problem] = []
    stored = {c.id: c for c in combostore.load(conn, include_disabled=True)}
    by_sources = {frozenset(c.sources): c for c in stored.values()}
    plan = CombinationPlan()
    seen = FirstSeen()
    for n, v, old, where in checked_rows(sheet, SCHEMA, problems, stored, "combination", "combination"):
        try:
            item = Combination(
                codes=v["codes"],
                code=v["code"],
                enabled=v["enabled"],
                id=v["id"],
                note=v["note"],
                version=old.version if old else 1,
                where=where,
            )
        except CombinationInvalid as exc:
            problems.append(sheet.problem(n, exc.field, str(exc).removeprefix(where + ": ")))
            continue
        if known_codes is not None and item.code not in known_codes:
            problems.append(
                sheet.problem(n, "code", f"{item.code} is not in the code dictionary; import it first (dict import)")
            )
            continue
        key = frozenset(item.sources)
        twin = by_sources.get(key)
        if twin is not None and twin.id != item.id:
            if old is None and combostore.fields_of(twin) == combostore.fields_of(item):
                plan.unchanged += 1
            else:
                problems.append(
                    sheet.problem(
                        n,
                        "codes",
                        f"combination {twin.id} already has the codes {twin.codes}; put its id in the id column",
                    )
                )
            continue
        earlier = seen.earlier(",".join(sorted(key)), n)
        if earlier is not None:
            problems.append(sheet.problem(n, "codes", f"the same codes are also on row {earlier}"))
            continue
        if old is None:
            plan.added.append(item)
        elif combostore.fields_of(old) == combostore.fields_of(item):
            plan.unchanged += 1
        else:
            plan.changed.append(Changed(old, item))
    if problems:
        raise ImportRejected(problems)
    return plan


def apply_plan(conn: Connection, plan: CombinationPlan, author: str, reason: str | None) -> None:
    """Write a checked plan, each row with its history row, in the caller's transaction."""
    store = combostore.COMBINATIONS
    for item in plan.added:
        combostore.add(conn, item, author, reason)
    for old, new in plan.changed:
        combostore.replace(conn, old, store.proposed(old, store.fields_of(new)), author, reason)


def combination_rows(items: list[Combination]) -> list[list[Any]]:
    """The sheet's rows, in COLUMNS order (flags as 1/0)."""
    return sheet_rows(items, COLUMNS)
