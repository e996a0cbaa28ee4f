"""What the services of the judged versioned tables (guards, combinations) share: the change they
return, the row locked for a form's change (refused when another person changed it since the form
was shown), and the export to a .csv or .xlsx that imports back."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, select

from coder.errors import IcdCoderError, NotFound
from coder.services.rules import StaleForm
from coder.store.history import require_author


@dataclass(frozen=True)
class TableChanged:
    """An item before (None for a new one) and after a change, and the change judged (None: nothing changed)."""

    old: Any
    new: Any
    impact: Any

    @property
    def changed(self) -> bool:
        return self.old is None or self.new.version != self.old.version


def locked_at(
    conn: Connection, table: Table, store, history: Callable, noun: str, item_id: int, version: int | None
) -> Any:
    """The item `item_id`, its row locked for the change; StaleForm if it changed since `version`."""
    row = conn.execute(select(table).where(table.c.id == item_id).with_for_update()).first()
    if row is None:
        raise NotFound(f"no {noun} with id {item_id}")
    old = store.from_row(row)
    if version is not None and old.version != version:
        later = [h for h in history(conn, item_id) if h["version"] > version]
        raise StaleForm(noun, item_id, version, old.version, later)
    return old


def export_rows(path: str | Path, sheet, rows: Sequence[Sequence[Any]], plural: str) -> int:
    """`rows` (in `sheet.COLUMNS` order) to a .csv, or to a workbook with `sheet.SHEET`; the number written."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        try:
            with path.open("w", newline="", encoding="utf-8-sig") as f:
                w = csv.writer(f)
                w.writerow(sheet.COLUMNS)
                w.writerows(["" if v is None else v for v in r] for r in rows)
        except OSError as exc:
            raise IcdCoderError(f"{path}: cannot be written ({exc.strerror or exc})") from None
    elif path.suffix.lower() == ".xlsx":
        from coder.imports.tabular import write_workbook

        write_workbook(path, [(sheet.SHEET, sheet.COLUMNS, rows)], widths=sheet.WIDTHS, choices=sheet.CHOICES)
    else:
        raise IcdCoderError(f"{path}: {plural} are exported as .csv or .xlsx")
    return len(rows)


@dataclass(frozen=True)
class JudgedChanges:
    """How a judged table changes an item: `check` refuses an invalid item (a twin, an unknown code),
    `judge` weighs the table before and after against the audited history and `refuse` stops a
    change that breaks correct codes unless forced. `store` is the table's store module (load, get,
    replace, history, and `rows`, its versioned rows)."""

    store: Any
    rows: Any
    table: Table
    noun: str
    check: Callable[[Connection, Any], None]
    judge: Callable[..., Any]
    refuse: Callable[[Any, bool], Any]
    made: type[TableChanged]

    def change(self, conn: Connection, old: Any, author: str, reason: str | None, force: bool, changes: dict):
        """`old` changed by `changes` as a new version, judged first (unchanged: nothing written)."""
        new = self.rows.proposed(old, changes)
        if self.rows.fields_of(new) == self.rows.fields_of(old):
            return self.made(old, old, None)
        self.check(conn, new)
        table = self.store.load(conn, include_disabled=True)
        after = [new if item.id == old.id else item for item in table]
        impact = self.refuse(self.judge(conn, table, after), force)
        return self.made(old, self.store.replace(conn, old, new, author, reason), impact)

    def change_by_id(self, engine: Engine, item_id: int, author: str, reason, force: bool, changes: dict):
        require_author(author)
        with engine.begin() as conn:
            return self.change(conn, self.store.get(conn, item_id), author, reason, force, changes)

    def change_at(self, engine: Engine, item_id: int, version, author: str, reason, force: bool, changes: dict):
        """change_by_id from a form shown at `version`: StaleForm if the item changed since."""
        require_author(author)
        with engine.begin() as conn:
            old = locked_at(conn, self.table, self.rows, self.store.history, self.noun, item_id, version)
            return self.change(conn, old, author, reason, force, changes)
