"""The Excel worklist for coders who never open a terminal: the review queue out, decisions in.

Import is all or nothing with the same row-level report as the other imports; rows without a
decision are skipped, and a decision already in effect writes nothing, so re-importing a file is
harmless.

A line of several codes shows them all in auto_code (`I25.103,I20.000`) and their names in
auto_code_name; correct_code takes a list written the same way (apply_action reads it: commas,
，、; or blanks between codes), which correct_code's drop-down lets be typed (it never stops a
value it does not offer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from coder.errors import ActionRefused, IcdCoderError, ImportRejected, NotFound, Problem
from coder.imports.columns import CellInvalid, Column, Schema, integer, text
from coder.imports.tabular import read_sheet, write_workbook
from coder.store.codes import names_of

from .actions import ACTIONS, CONFIRM, QUEUE_COLUMNS, Outcome, apply_action, queue, queue_row

SHEET = "worklist"
COLUMNS = (*QUEUE_COLUMNS, "suggestions", "decision", "correct_code", "comment")
# The rows are applied through apply_action, which checks each decision; the schema holds the header.
MAX_ID = 2**31 - 1  # ids are 32-bit integers in PostgreSQL and Oracle


def _decision(value: str, name: str) -> str:
    decision = value.strip().lower()
    if decision not in ACTIONS:
        raise CellInvalid(f"decision {decision!r} is not one of {', '.join(ACTIONS)}")
    return decision


# The queue's columns are shown for reading; the decision columns are what is imported.
SCHEMA = Schema(
    (
        Column(
            "diagnosis_id",
            integer(minimum=1),
            required=True,
            empty="diagnosis_id is empty",
            unique="diagnosis {value} appears twice",
        ),
        *(Column(c) for c in QUEUE_COLUMNS[1:]),
        Column("suggestions", ignored=True),  # for reading; a file without it imports the same
        Column("decision", _decision, required=True),
        Column("correct_code", text()),
        Column("comment", text(500)),
    )
)
WIDTHS = {
    "diagnosis_id": 12,
    "record_id": 14,
    "description": 40,
    "normalized": 40,
    "auto_code": 14,
    "auto_code_name": 24,
    "reason": 11,
    "candidates": 28,
    "suggestions": 40,
    "decision": 10,
    "correct_code": 14,
    "comment": 30,
}


def _names_of_lists(engine: Engine, items: list[dict[str, Any]]) -> dict[str, str]:
    """The names of the codes of the items of several codes (the queue names the first only)."""
    listed = [c for i in items if len(i.get("auto_codes") or ()) > 1 for c in i["auto_codes"]]
    if not listed:
        return {}
    with engine.connect() as conn:
        return names_of(conn, listed)


def _row(item: dict[str, Any], names: dict[str, str]) -> list[Any]:
    """The queue's cells, the names of every code of a line of several codes in auto_code_name."""
    cells = queue_row(item)
    codes = item.get("auto_codes") or ()
    if len(codes) > 1:
        cells[QUEUE_COLUMNS.index("auto_code_name")] = "; ".join(names.get(c) or "?" for c in codes)
    return cells


def _suggested(item: dict[str, Any]) -> str | None:
    return "; ".join(f"{s['code']} {s['name'] or ''}".strip() for s in item.get("suggestions") or ()) or None


def export_worklist(
    engine: Engine,
    path: str | Path,
    suggest: Callable[[list[dict[str, Any]]], None] | None = None,
    **filters,
) -> int:
    """The queue as a workbook. `suggest` puts `suggestions` into the failures' items
    (services.suggestions): shown with their names, and offered in correct_code's drop-down."""
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise IcdCoderError(f"{path}: the worklist is written as .xlsx")
    items = queue(engine, **filters)
    if suggest is not None:
        suggest(items)
    names = _names_of_lists(engine, items)
    rows = [_row(i, names) + [_suggested(i), None, None, None] for i in items]
    help_rows = [
        (
            "decision",
            "confirm: the auto code is right (all of them, when auto_code lists several). correct: it is "
            "wrong, put the right one in correct_code. code: a failure (no auto code), put the code in "
            "correct_code. Leave empty to skip the row.",
        ),
        (
            "correct_code",
            "one code, or several for a line naming several diagnoses, separated by commas: "
            "I25.103,I20.000. A correction replaces the line's whole list: to change one of several "
            "auto codes, write the list with that one changed.",
        ),
        (
            "suggestions",
            "codes persons gave similar descriptions, best first; correct_code offers them in a drop-down, "
            "and any other code may be typed. A suggestion is never applied unless you put it in correct_code.",
        ),
        (
            "import",
            "icdcoder audit import FILE --by NAME. Every row is checked first; nothing is written if any "
            "row is wrong. Importing the same file again changes nothing.",
        ),
    ]
    write_workbook(
        path,
        [(SHEET, COLUMNS, rows), ("instructions", ("topic", "text"), help_rows)],
        widths={**WIDTHS, "topic": 12, "text": 110},
        choices={"decision": ACTIONS},
        row_choices={"correct_code": [[s["code"] for s in i.get("suggestions") or ()] for i in items]},
    )
    return len(rows)


@dataclass
class WorklistResult:
    applied: list[Outcome] = field(default_factory=list)
    unchanged: int = 0
    skipped: int = 0  # rows without a decision

    def summary(self) -> dict[str, int]:
        counts = {a: sum(1 for o in self.applied if o.action == a) for a in ACTIONS}
        return {**counts, "unchanged": self.unchanged, "skipped": self.skipped}


def import_worklist(engine: Engine, path: str | Path, person: str) -> WorklistResult:
    path = Path(path)
    if not (person or "").strip():
        raise ActionRefused("who reviewed the worklist is required (--by NAME)")
    sheet = read_sheet(path, SHEET, required=False) if path.suffix.lower() == ".xlsx" else None
    sheet = sheet or read_sheet(path)
    problems: list[Problem] = []
    result = WorklistResult()
    decided = tuple(r for r in sheet.rows if r.get("decision").strip())  # a row without a decision is skipped
    result.skipped = len(sheet.rows) - len(decided)
    checks = {"diagnosis_id": lambda i: None if i <= MAX_ID else f"no diagnosis with id {i}"}
    with engine.connect() as conn, conn.begin() as txn:
        for n, v, ok in SCHEMA.read(replace(sheet, rows=decided), problems, checks):
            d_id, decision, code = v["diagnosis_id"], v["decision"], v["correct_code"] or None
            if not ok:
                continue
            if decision != CONFIRM and code is None:
                problems.append(
                    sheet.problem(n, "correct_code", f"decision {decision} needs the right code in correct_code")
                )
                continue
            try:
                # apply_action checks everything before it writes, so a refused row wrote nothing
                # and the other rows can go on being checked for the report.
                outcome = apply_action(conn, d_id, decision, person, code, v["comment"], skip_unchanged=True)
            except (ActionRefused, NotFound) as exc:
                column = "correct_code" if getattr(exc, "about_code", False) else "decision"
                problems.append(sheet.problem(n, column, str(exc).removeprefix(f"diagnosis {d_id}: ")))
                continue
            if outcome.audit_id is None:
                result.unchanged += 1
            else:
                result.applied.append(outcome)
        if problems:
            txn.rollback()
            raise ImportRejected(problems)
    return result
