"""The hospital's code list, per code system: imported from a file or from GNU Health's titles, searched."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from coder.imports import gnuhealth
from coder.imports.columns import parse_mapping
from coder.imports.dictionary import DictPlan, plan_dictionary, plan_sheet, write_dictionary
from coder.services import planned_import
from coder.store.codes import find_codes, names_of
from rulebase.codes import ICD10

__all__ = ["SOURCES", "import_dictionary", "import_gnuhealth", "list_codes", "parse_mapping", "search_codes"]

SOURCES = ("gnuhealth",)  # where `dict import --from` takes a code list


def import_dictionary(
    engine: Engine,
    path: str | Path,
    dry_run: bool = False,
    system: str = ICD10,
    mapping: Mapping[str, str] | None = None,
) -> DictPlan:
    """Codes of `system` from a file: added and updated, never deleted; all or nothing.
    `mapping`: column name -> the file's header for it (--map)."""
    return planned_import(
        engine, partial(plan_dictionary, system=system, mapping=mapping), write_dictionary, path, dry_run
    )


def import_gnuhealth(engine: Engine, system: str = ICD10, dry_run: bool = False) -> DictPlan:
    """The WHO titles of `system` in Chinese from the installed GNU Health package (GPL data, read
    where pip put it), through the same checks and writes as a file."""
    path, source = gnuhealth.po_path(system)
    sheet = gnuhealth.titles_sheet(system, path)  # parsed before the transaction opens
    plan = planned_import(engine, partial(plan_sheet, system=system), write_dictionary, sheet, dry_run)
    plan.source = source
    return plan


def search_codes(
    engine: Engine, text: str, system: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Codes starting with `text`, or whose name or aliases contain it, best matches first."""
    text = text.strip()
    if not text:
        return []
    with engine.connect() as conn:
        return find_codes(conn, text, system=system, limit=limit)


def list_codes(engine: Engine, system: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """The dictionary by system and code."""
    with engine.connect() as conn:
        return find_codes(conn, system=system, limit=limit)


def code_names(engine: Engine, codes) -> dict[str, str]:
    """The names of these codes, for labelling a page's rows (only the codes it shows)."""
    with engine.connect() as conn:
        return names_of(conn, codes)
