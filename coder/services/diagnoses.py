"""The discharge diagnoses to code, and the logs of the runs that coded them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import Engine

from coder.imports.columns import parse_mapping
from coder.imports.diagnoses import DiagnosisPlan, Layout, plan_diagnoses, write_diagnoses
from coder.imports.lines_export import Exported, export_lines
from coder.services import planned_import
from coder.store.queries import list_diagnoses, list_failures, list_runs, show_run

__all__ = [
    "Layout",
    "export_diagnoses",
    "import_diagnoses",
    "parse_mapping",
    "list_diagnoses",
    "list_failures",
    "list_runs",
    "show_run",
]


def import_diagnoses(
    engine: Engine,
    path: str | Path,
    dry_run: bool = False,
    layout: str = Layout.LONG,
    mapping: Mapping[str, str] | None = None,
) -> DiagnosisPlan:
    """Lines (and homepage records) from a file in either layout, all or nothing; re-importing the
    same file changes nothing. `mapping`: column name -> the file's header for it (--map)."""

    def plan(conn, p):
        return plan_diagnoses(conn, p, layout, mapping)

    return planned_import(engine, plan, write_diagnoses, path, dry_run)


def export_diagnoses(
    engine: Engine, path: str | Path, layout: str = Layout.LONG, system: str | None = None
) -> Exported:
    """Every line (of `system`) with its codes to a file the HIS loads, in `layout`; the rows written
    and the lines the layout has no place for."""
    with engine.connect() as conn:
        return export_lines(conn, path, layout, system)
