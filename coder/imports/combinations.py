"""The combinations sheet: a `combinations` sheet in the rules workbook, or a CSV of its own.

Same contract as the other imports: every row checked, every problem reported with its place,
then all or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from coder.errors import ImportRejected, Problem
from coder.store import combinations as combostore
from rulebase.combinations import Combination, CombinationInvalid

from .columns import CellInvalid, Changed, Column, FirstSeen, Schema, one_or_zero, text, whole_number
from .tabular import Sheet, read_sheet

SHEET = "combinations"


@dataclass
class CombinationPlan:
    added: list[Combination] = field(default_factory=list)
    changed: list[Changed] = field(default_factory=list)  # Combination before and after
    unchanged: int = 0

    def summary(self) -> dict[str, int]:
        return {"added": len(self.added), "changed": len(self.changed), "unchanged": self.unchanged}

    def __bool__(self) -> bool:
        return bool(self.added or self.changed)


def combinations_sheet(path: str | Path, required: bool) -> Sheet | None:
    """The sheet named combinations of a workbook, or a CSV file; None when an optional sheet is absent."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return read_sheet(path) if required else None
    return read_sheet(path, SHEET, required=required)


def _combination_id(value: str, name: str) -> int:
    number = whole_number(value)
    if number is None:
        raise CellInvalid(f"no combination with id {value!r}; leave id empty to add one")
    return number


SCHEMA = Schema(
    (
        Column("id", _combination_id, unique="combination {value} appears twice"),
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
    checks = {"id": lambda i: None if i in stored else f"no combination with id {str(i)!r}; leave id empty to add one"}
    for n, v, ok in SCHEMA.read(sheet, problems, checks):
        old = stored.get(v["id"])
        if old is not None and v["version"]:
            version = whole_number(v["version"])
            if version is None or version < old.version:
                problems.append(
                    sheet.problem(
                        n,
                        "version",
                        f"conflict: combination {old.id} is at version {old.version}, the file has "
                        f"{v['version']!r}; export again and redo this row's edit",
                    )
                )
                ok = False
        if not ok:
            continue
        where = f"{sheet.file}, sheet {sheet.name}, row {n}" if sheet.name else f"{sheet.file}, row {n}"
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
            problems.append(sheet.problem(n, None, str(exc).removeprefix(where + ": ")))
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


def table_after(stored: list[Combination], plan: CombinationPlan) -> list[Combination]:
    """The whole table (disabled rows included) as it would be once `plan` is written."""
    changed = {new.id: new for _, new in plan.changed}
    return [changed.get(c.id, c) for c in stored] + list(plan.added)


def apply_plan(conn: Connection, plan: CombinationPlan, author: str, reason: str | None) -> None:
    """Write a checked plan, each row with its history row, in the caller's transaction."""
    store = combostore.COMBINATIONS
    for item in plan.added:
        combostore.add(conn, item, author, reason)
    for old, new in plan.changed:
        combostore.replace(conn, old, store.proposed(old, store.fields_of(new)), author, reason)


def combination_rows(items: list[Combination]) -> list[list[Any]]:
    """The sheet's rows, in COLUMNS order (flags as 1/0)."""
    return [[int(v) if isinstance(v, bool) else v for v in (c.to_dict()[k] for k in COLUMNS)] for c in items]
