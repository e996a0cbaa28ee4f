"""The hospital's code list."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from coder.imports.dictionary import DictPlan, plan_dictionary, write_dictionary


def import_dictionary(engine: Engine, path: str | Path, dry_run: bool = False) -> DictPlan:
    """Codes from a file: added and updated, never deleted; all or nothing."""
    with engine.begin() as conn:
        plan = plan_dictionary(conn, path)
        if not dry_run:
            write_dictionary(conn, plan)
    return plan
