"""The guards sheet: a `guards` sheet in the rules workbook, or a CSV of its own.

Same contract as the other imports: every row checked, every problem reported with its place,
then all or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from coder.errors import ImportRejected, Problem
from coder.store import guards as guardstore
from rulebase.guards import Guard, GuardInvalid
from rulebase.states import GuardKind, GuardScope

from .columns import CellInvalid, Changed, Column, FirstSeen, Schema, integer, one_or_zero, text, whole_number
from .tabular import Sheet, read_sheet

SHEET = "guards"


@dataclass
class GuardPlan:
    added: list[Guard] = field(default_factory=list)
    changed: list[Changed] = field(default_factory=list)  # Guard before and after
    unchanged: int = 0

    def summary(self) -> dict[str, int]:
        return {"added": len(self.added), "changed": len(self.changed), "unchanged": self.unchanged}

    def __bool__(self) -> bool:
        return bool(self.added or self.changed)


def guards_sheet(path: str | Path, required: bool) -> Sheet | None:
    """The sheet named guards of a workbook, or a CSV file; None when an optional sheet is absent."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return read_sheet(path) if required else None
    return read_sheet(path, SHEET, required=required)


def _guard_id(value: str, name: str) -> int:
    number = whole_number(value)
    if number is None:
        raise CellInvalid(f"no guard with id {value!r}; leave id empty to add one")
    return number


SCHEMA = Schema(
    (
        Column("id", _guard_id, unique="guard {value} appears twice"),
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
    checks = {"id": lambda i: None if i in stored else f"no guard with id {str(i)!r}; leave id empty to add one"}
    for n, v, ok in SCHEMA.read(sheet, problems, checks):
        guard_id = v["id"]
        old = stored.get(guard_id)
        if old is not None and v["version"]:
            version = whole_number(v["version"])
            if version is None or version < old.version:
                problems.append(
                    sheet.problem(
                        n,
                        "version",
                        f"conflict: guard {guard_id} is at version {old.version}, the file has "
                        f"{v['version']!r}; export again and redo this row's edit",
                    )
                )
                ok = False
        if not ok:
            continue
        position = v["position"] if v["position"] is not None else (old.position if old else next_pos)
        where = f"{sheet.file}, sheet {sheet.name}, row {n}" if sheet.name else f"{sheet.file}, row {n}"
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
            problems.append(sheet.problem(n, None, str(exc).removeprefix(where + ": ")))
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


def table_after(stored: list[Guard], plan: GuardPlan) -> list[Guard]:
    """The whole table (disabled guards included) as it would be once `plan` is written."""
    changed = {new.id: new for _, new in plan.changed}
    return [changed.get(g.id, g) for g in stored] + list(plan.added)


def apply_plan(conn: Connection, plan: GuardPlan, author: str, reason: str | None, rb_version: int) -> None:
    """Write a checked plan, each guard with its history row, at `rb_version`."""
    store = guardstore.GUARDS
    for item in plan.added:
        store.insert(conn, item, author, reason, rb_version)
    for old, new in plan.changed:
        store.replace(conn, old, store.proposed(old, store.fields_of(new)), author, reason, rb_version)


def guard_rows(guards: list[Guard]) -> list[list[Any]]:
    """The sheet's rows, in COLUMNS order (flags as 1/0)."""
    return [[int(v) if isinstance(v, bool) else v for v in (g.to_dict()[c] for c in COLUMNS)] for g in guards]
