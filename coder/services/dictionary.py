"""The hospital's code list."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from coder.imports.dictionary import DictPlan, plan_dictionary, write_dictionary
from coder.services import planned_import


def import_dictionary(engine: Engine, path: str | Path, dry_run: bool = False) -> DictPlan:
    """Codes from a file: added and updated, never deleted; all or nothing."""
    return planned_import(engine, plan_dictionary, write_dictionary, path, dry_run)
