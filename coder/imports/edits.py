"""The code edits sheet: an `edits` sheet of a workbook, or a CSV of its own, in and out.

Same contract as the other imports: every row checked, every problem reported with its place
(file, sheet, row, column), then all or nothing.
"""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import Connection

from coder.errors import IcdCoderError, ImportRejected, Problem
from coder.store import edits as edit_store
from rulebase.edits import CodeEdit, EditInvalid

from .columns import Changed, whole_number
from .tabular import Sheet, read_sheet, write_workbook
from .versioned import TablePlan, row_place

SHEET = "edits"
COLUMNS = CodeEdit.KEYS  # id, kind, codes, other_codes, sex, min_days, max_days, message, enabled, note, version
_NUMBERS = ("min_days", "max_days")


class EditPlan(TablePlan):
    """The code edits an import adds and changes."""


def edits_sheet(path: str | Path) -> Sheet:
    path = Path(path)
    return read_sheet(path) if path.suffix.lower() == ".csv" else read_sheet(path, SHEET, required=True)


def plan_edits(conn: Connection, sheet: Sheet) -> EditPlan:
    problems: list[Problem] = list(sheet.problems)
    unknown = [h for h in sheet.headers if h and h not in COLUMNS]
    if unknown or "kind" not in sheet.headers or "message" not in sheet.headers:
        problems.append(
            sheet.problem(
                1,
                None,
                f"the header must name the columns {', '.join(COLUMNS)} (kind and message at least)"
                + (f"; unknown: {', '.join(unknown)}" if unknown else ""),
            )
        )
        raise ImportRejected(problems)
    stored = {e.id: e for e in edit_store.load(conn, include_disabled=True)}
    plan = EditPlan()
    seen_ids: dict[int, int] = {}
    for row in sheet.rows:
        n = row.number
        where = row_place(sheet, n)
        values: dict = {}
        ok = True
        for key in COLUMNS:
            raw = row.get(key).strip()
            if key in (*_NUMBERS, "id", "version"):
                number = whole_number(raw) if raw else None
                if raw and number is None:
                    problems.append(sheet.problem(n, key, f"{key} {raw!r} is not a whole number"))
                    ok = False
                values[key] = number
            elif key == "enabled":
                if raw not in ("", "0", "1"):
                    problems.append(sheet.problem(n, key, f"enabled {raw!r}: write 1 or 0"))
                    ok = False
                values[key] = raw != "0"
            else:
                values[key] = raw or None
        edit_id, version = values.pop("id"), values.pop("version")
        old = stored.get(edit_id) if edit_id is not None else None
        if edit_id is not None and old is None:
            problems.append(sheet.problem(n, "id", f"no code edit with id {edit_id}; leave id empty to add one"))
            ok = False
        if edit_id is not None and edit_id in seen_ids:
            problems.append(sheet.problem(n, "id", f"edit {edit_id} is also on row {seen_ids[edit_id]}"))
            ok = False
        if edit_id is not None:
            seen_ids[edit_id] = n
        if old is not None and version is not None and version < old.version:
            problems.append(
                sheet.problem(
                    n,
                    "version",
                    f"conflict: edit {edit_id} is at version {old.version}, the file has {version}; "
                    "export again and redo this row's edit",
                )
            )
            ok = False
        if not ok:
            continue
        try:
            edit = CodeEdit(**values, id=edit_id, version=old.version if old else 1, where=where)
        except EditInvalid as exc:
            problems.append(sheet.problem(n, exc.field, str(exc).removeprefix(where + ": ")))
            continue
        if old is None:
            plan.added.append(edit)
        elif edit_store.fields_of(old) == edit_store.fields_of(edit):
            plan.unchanged += 1
        else:
            plan.changed.append(Changed(old, edit))
    if problems:
        raise ImportRejected(problems)
    return plan


def apply_plan(conn: Connection, plan: EditPlan, author: str, reason: str | None) -> None:
    for edit in plan.added:
        edit_store.add(conn, edit, author, reason)
    for old, new in plan.changed:
        edit_store.change(conn, old.id, author, reason, **edit_store.fields_of(new))


def write_edits(edits: list[CodeEdit], path: str | Path) -> int:
    """The table as an .xlsx (sheet `edits`) or a .csv that imports back."""
    path = Path(path)
    rows = [["" if v is None else (int(v) if isinstance(v, bool) else v) for v in e.to_dict().values()] for e in edits]
    if path.suffix.lower() == ".csv":
        with path.open("w", newline="", encoding="utf-8-sig") as f:
            w = csv.writer(f)
            w.writerow(COLUMNS)
            w.writerows(rows)
    elif path.suffix.lower() == ".xlsx":
        write_workbook(path, [(SHEET, COLUMNS, rows)], widths={"codes": 30, "other_codes": 16, "message": 40})
    else:
        raise IcdCoderError(f"{path}: the edits are written as .xlsx or .csv")
    return len(rows)
