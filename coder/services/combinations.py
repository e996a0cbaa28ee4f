"""The combination table: list, show, add, change, enable/disable, import, export, and the lines a
person's code kept from combining; every change judged against the audited history before it
commits, like a rule change (refused when it turns correct codes wrong, unless forced)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select

from coder.audit.combotest import ComboImpact, judge_combinations
from coder.db.models import combination as combination_table
from coder.db.models import icd_code
from coder.errors import ChangeRefused, IcdCoderError
from coder.imports import combinations as sheet
from coder.services.versioned import JudgedChanges, TableChanged, export_rows
from coder.store import combinations as combostore
from coder.store.history import Shown, require_author
from rulebase.combinations import Combination


class CombinationChanged(TableChanged):
    """A combination before (None for a new one) and after a change, and the change judged (None: nothing changed)."""


def _refuse_unless(impact: ComboImpact, force: bool) -> ComboImpact:
    if impact.broken and not force:
        raise ChangeRefused(
            "\n".join(impact.lines()) + f"\nrefused: this combination change would turn {impact.broken} correctly "
            f"coded audited diagnoses ({impact.records_broken} records) wrong (a coder gave them the codes the "
            "rules give them); nothing was written. Check the codes, or repeat with --force.",
            impact=impact,
        )
    return impact


def _in_dictionary(conn: Connection, item: Combination) -> None:
    if conn.execute(select(icd_code.c.code).where(icd_code.c.code == item.code)).first() is None:
        raise IcdCoderError(
            f"{item.label}: the combination code {item.code} is not in the code dictionary; import it first "
            "(icdcoder dict import)"
        )


def _no_twin(conn: Connection, item: Combination) -> None:
    key = frozenset(item.sources)
    for c in combostore.load(conn, include_disabled=True):
        if frozenset(c.sources) == key and c.id != item.id:
            raise IcdCoderError(
                f"{item.label}: combination {c.id} already has the codes {c.codes}; change that one instead"
            )


def add_combination(
    engine: Engine,
    codes: str,
    code: str,
    author: str,
    note: str | None = None,
    reason: str | None = None,
    force: bool = False,
    enabled: bool = True,
) -> CombinationChanged:
    item = Combination(codes=codes, code=code, note=note, enabled=enabled)
    require_author(author)
    with engine.begin() as conn:
        _valid(conn, item)
        table = combostore.load(conn, include_disabled=True)
        impact = _refuse_unless(judge_combinations(conn, table, table + [item]), force)
        return CombinationChanged(None, combostore.add(conn, item, author, reason), impact)


def _valid(conn: Connection, item: Combination) -> None:
    _in_dictionary(conn, item)
    _no_twin(conn, item)


_CHANGES = JudgedChanges(
    combostore,
    combostore.COMBINATIONS,
    combination_table,
    "combination",
    _valid,
    judge_combinations,
    _refuse_unless,
    CombinationChanged,
)


def change_combination(
    engine: Engine, combination_id: int, author: str, reason: str | None = None, force: bool = False, **changes: Any
) -> CombinationChanged:
    """Change a combination's fields (codes, code, enabled, note) as a new version."""
    return _CHANGES.change_by_id(engine, combination_id, author, reason, force, changes)


def set_combination_enabled(
    engine: Engine, combination_id: int, enabled: bool, author: str, reason: str | None = None, force: bool = False
) -> CombinationChanged:
    return change_combination(engine, combination_id, author, reason, force, enabled=enabled)


def change_combination_at(
    engine: Engine,
    combination_id: int,
    version: int | None,
    author: str,
    reason: str | None = None,
    force: bool = False,
    **changes: Any,
) -> CombinationChanged:
    """change_combination from a form shown at `version`: StaleForm if the row changed since."""
    return _CHANGES.change_at(engine, combination_id, version, author, reason, force, changes)


def preview_combination(engine: Engine, combination_id: int | None = None, **fields: Any) -> CombinationChanged:
    """The change a save would make, validated and judged; writes nothing."""
    with engine.connect() as conn:
        table = combostore.load(conn, include_disabled=True)
        if combination_id is None:
            item, old = Combination(**fields), None
            after = table + [item]
        else:
            old = combostore.get(conn, combination_id)
            item = combostore.COMBINATIONS.proposed(old, fields)
            after = [item if c.id == combination_id else c for c in table]
        _valid(conn, item)
        return CombinationChanged(old, item, judge_combinations(conn, table, after))


def list_combinations(engine: Engine, include_disabled: bool = True) -> list[Combination]:
    with engine.connect() as conn:
        return combostore.load(conn, include_disabled=include_disabled)


def show_combination(engine: Engine, combination_id: int) -> Shown:
    with engine.connect() as conn:
        return Shown(combostore.get(conn, combination_id), combostore.history(conn, combination_id))


def review_lines(engine: Engine, limit: int = 1000) -> list[dict[str, Any]]:
    """Auto-coded lines a combination would have replaced but for a person's code on another line."""
    with engine.connect() as conn:
        return combostore.review_marks(conn, limit)


def _known_codes(conn: Connection) -> set[str]:
    return set(conn.execute(select(icd_code.c.code)).scalars())


def plan_and_judge(conn: Connection, path: str | Path, required: bool = True):
    """The plan of a file's combinations (None when an optional sheet is absent) and the tables before and after."""
    rows = sheet.combinations_sheet(path, required=required)
    if rows is None:
        return None, None
    plan = sheet.plan_combinations(conn, rows, _known_codes(conn))
    stored = combostore.load(conn, include_disabled=True)
    return plan, (stored, sheet.table_after(stored, plan))


def write_plan(conn: Connection, plan, tables, author: str, reason: str | None, force: bool) -> ComboImpact:
    """Judge a plan (refused unless forced) and write it, in the caller's transaction."""
    impact = _refuse_unless(judge_combinations(conn, *tables), force)
    sheet.apply_plan(conn, plan, author, reason)
    return impact


def import_combinations(
    engine: Engine, path: str | Path, author: str, reason: str | None, dry_run: bool = False, force: bool = False
):
    """The combinations from a .csv or a workbook's combinations sheet, checked whole, judged, all or nothing."""
    author = require_author(author)
    with engine.begin() as conn:
        plan, tables = plan_and_judge(conn, path)
        if not plan:
            return plan, None
        if dry_run:
            return plan, judge_combinations(conn, *tables)
        return plan, write_plan(conn, plan, tables, author, reason, force)


def export_combinations(engine: Engine, path: str | Path) -> int:
    """Write every combination to a .csv (or, for .xlsx, a workbook with the combinations sheet)."""
    return export_rows(path, sheet, sheet.combination_rows(list_combinations(engine)), "combinations")
