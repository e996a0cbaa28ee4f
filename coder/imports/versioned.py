"""What the sheets of the versioned tables (guards, combinations, code edits, normalization) share:
the plan an import makes, the sheet of a workbook or a CSV, the id column, the version check that
catches an edit of an outdated export, and the rows an export writes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coder.errors import Problem

from .columns import CellInvalid, Changed, Column, Schema, whole_number
from .tabular import Sheet, read_sheet


@dataclass
class TablePlan:
    """What an import would do: the items it adds, the (old, new) pairs it changes, how many rows match."""

    added: list[Any] = field(default_factory=list)
    changed: list[Changed] = field(default_factory=list)  # the item before and after
    unchanged: int = 0

    def summary(self) -> dict[str, int]:
        return {"added": len(self.added), "changed": len(self.changed), "unchanged": self.unchanged}

    def __bool__(self) -> bool:
        return bool(self.added or self.changed)


def table_sheet(path: str | Path, name: str, required: bool) -> Sheet | None:
    """The sheet `name` of a workbook, or a CSV file; None when an optional sheet is absent."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return read_sheet(path) if required else None
    return read_sheet(path, name, required=required)


def _no_such(noun: str, value: Any) -> str:
    return f"no {noun} with id {str(value)!r}; leave id empty to add one"


def id_column(noun: str, twice: str) -> Column:
    """The id column: empty to add an item, a whole number to change that one (`twice`: the words
    for an id on two rows, with {value})."""

    def parse(value: str, name: str) -> int:
        number = whole_number(value)
        if number is None:
            raise CellInvalid(_no_such(noun, value))
        return number

    return Column("id", parse, unique=twice)


def id_checks(stored: dict[int, Any], noun: str) -> dict[str, Callable[[int], str | None]]:
    """The check of an id against the stored table, for Schema.read."""
    return {"id": lambda i: None if i in stored else _no_such(noun, i)}


def version_conflict(sheet: Sheet, n: int, noun: str, old: Any, version_text: str | None) -> Problem | None:
    """A row that changes an item at an older version than the stored one: the file is an outdated
    export, and writing it would undo a later change."""
    if old is None or not version_text:
        return None
    version = whole_number(version_text)
    if version is not None and version >= old.version:
        return None
    return sheet.problem(
        n,
        "version",
        f"conflict: {noun} {old.id} is at version {old.version}, the file has "
        f"{version_text!r}; export again and redo this row's edit",
    )


def row_place(sheet: Sheet, n: int) -> str:
    """Where row `n` stands, as an item built from it names itself in a message."""
    return f"{sheet.file}, sheet {sheet.name}, row {n}" if sheet.name else f"{sheet.file}, row {n}"


def checked_rows(
    sheet: Sheet, schema: Schema, problems: list[Problem], stored: dict[int, Any], noun: str, short: str
) -> Iterator[tuple[int, dict[str, Any], Any, str]]:
    """The rows whose cells, id (`noun`: what the id names) and version (`short`: the word in a
    conflict) pass, each as (row number, values, the stored item it changes or None, its place);
    the others' problems go to `problems`."""
    for n, v, ok in schema.read(sheet, problems, id_checks(stored, noun)):
        old = stored.get(v["id"])
        conflict = version_conflict(sheet, n, short, old, v["version"])
        if conflict is not None:
            problems.append(conflict)
            ok = False
        if ok:
            yield n, v, old, row_place(sheet, n)


def table_after(stored: list[Any], plan: TablePlan) -> list[Any]:
    """The whole table (disabled rows included) as it would be once `plan` is written."""
    changed = {new.id: new for _, new in plan.changed}
    return [changed.get(item.id, item) for item in stored] + list(plan.added)


def sheet_rows(items: list[Any], columns: Sequence[str]) -> list[list[Any]]:
    """The sheet's rows, in `columns` order (flags as 1/0)."""
    return [[int(v) if isinstance(v, bool) else v for v in (item.to_dict()[c] for c in columns)] for item in items]
