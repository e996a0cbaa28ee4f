"""The discharge diagnoses to code, and the logs of the runs that coded them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from coder.imports.diagnoses import DiagnosisPlan, plan_diagnoses, write_diagnoses
from coder.services import planned_import
from coder.store.queries import list_diagnoses, list_failures, list_runs, show_run

__all__ = ["import_diagnoses", "list_diagnoses", "list_failures", "list_runs", "show_run"]


def import_diagnoses(engine: Engine, path: str | Path, dry_run: bool = False) -> DiagnosisPlan:
    """Diagnoses from a file, all or nothing; re-importing the same file changes nothing."""
    return planned_import(engine, plan_diagnoses, write_diagnoses, path, dry_run)
