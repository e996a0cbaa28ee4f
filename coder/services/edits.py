"""The code edits: the table's use cases (list, show, add, change, import, export), checking every
record again, and the lines the edits mark (the review queue's `--edits`, the counts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from coder.audit.actions import queue
from coder.imports.edits import EditPlan, apply_plan, edits_sheet, plan_edits, write_edits
from coder.store import edits as edit_store
from coder.store.edits import Checked
from coder.store.history import Shown, require_author
from rulebase.edits import CodeEdit


def list_edits(engine: Engine, include_disabled: bool = False) -> list[CodeEdit]:
    with engine.connect() as conn:
        return edit_store.load(conn, include_disabled=include_disabled)


def show_edit(engine: Engine, edit_id: int) -> Shown:
    with engine.connect() as conn:
        return Shown(edit_store.get(conn, edit_id), edit_store.history(conn, edit_id))


def add_edit(engine: Engine, author: str, reason: str | None = None, **fields: Any) -> CodeEdit:
    """A new edit (checked on construction); it applies from the next check."""
    edit = CodeEdit(**{k: v for k, v in fields.items() if v is not None})
    with engine.begin() as conn:
        return edit_store.add(conn, edit, author, reason)


def change_edit(engine: Engine, edit_id: int, author: str, reason: str | None = None, **changes: Any):
    """(before, after) of a change as a new version; disabling clears the edit's marks at once."""
    with engine.begin() as conn:
        old = edit_store.get(conn, edit_id)
        return old, edit_store.change(conn, edit_id, author, reason, **changes)


def set_edit_enabled(engine: Engine, edit_id: int, enabled: bool, author: str, reason: str | None = None):
    return change_edit(engine, edit_id, author, reason, enabled=enabled)


def import_edits(engine: Engine, path: str | Path, author: str, reason: str | None, dry_run: bool = False) -> EditPlan:
    """The table from a .csv or a workbook's edits sheet, every row checked, all or nothing."""
    author = require_author(author)
    with engine.begin() as conn:
        plan = plan_edits(conn, edits_sheet(path))
        if plan and not dry_run:
            apply_plan(conn, plan, author, reason)
    return plan


def export_edits(engine: Engine, path: str | Path) -> int:
    return write_edits(list_edits(engine, include_disabled=True), path)


def check_all(engine: Engine) -> Checked:
    """Every record checked again with the table as it is now, in one transaction."""
    with engine.begin() as conn:
        return edit_store.check_all(conn)


def marked_queue(engine: Engine, limit: int | None = None, **filters: Any) -> list[dict[str, Any]]:
    """The lines with an open mark, oldest attempt first, each a queue item with its `edits` (the
    reasons), whatever their status: a person's code is marked too (an edit never changes it)."""
    return queue(engine, limit=limit, edits=True, **filters)


def mark_counts(engine: Engine) -> dict[str, Any]:
    """Lines with a code edit mark, and by edit kind."""
    with engine.connect() as conn:
        return edit_store.mark_counts(conn)


def marks_of(engine: Engine, line_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """line id -> its open marks, for pages that show lines."""
    with engine.connect() as conn:
        return edit_store.open_marks(conn, line_ids)
