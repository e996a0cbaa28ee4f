"""The normalization table: add, change, import, and how a text is normalized."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import replace as dc_replace
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Engine, select

from coder.db.models import norm_rule
from coder.errors import NotFound
from coder.imports.normalization import NormPlan, apply_plan, norm_sheet, plan_normalization
from coder.services.rules import StaleForm
from coder.store import normalization as normstore
from coder.store.history import Shown, bump_rulebase_version, require_author
from rulebase.normalize import LITERAL, Normalizer, Replacement, Step


@dataclass(frozen=True)
class EntryChanged:
    """An entry before and after a change, and the enabled rules whose pattern holds text it now
    rewrites: descriptions no longer hold that text, so those rules need rewriting (`stale_rules`)."""

    old: Replacement | None  # None for a new entry
    new: Replacement
    stale_rules: list[int]

    @property
    def changed(self) -> bool:
        return self.old is None or self.new.version != self.old.version


def add_entry(
    engine: Engine,
    find: str,
    replace: str,
    author: str,
    kind: str = LITERAL,
    position: int = 0,
    note: str | None = None,
    reason: str | None = None,
) -> EntryChanged:
    """Add a replacement (refused if it would loop or empty a text); position 0 is after the last."""
    entry = Replacement(find=find, replace=replace, kind=kind, position=position, note=note)
    with engine.begin() as conn:
        stored = normstore.add(conn, entry, author, reason)
        return EntryChanged(None, stored, normstore.rules_mentioning(conn, stored))


def change_entry(engine: Engine, norm_id: int, author: str, reason: str | None = None, **changes: Any) -> EntryChanged:
    """Change an entry's fields (position, kind, find, replace, enabled, note) as a new version."""
    with engine.begin() as conn:
        old = normstore.get(conn, norm_id)
        new = normstore.change(conn, norm_id, author, reason, **changes)
        stale = normstore.rules_mentioning(conn, new) if new.version != old.version else []
        return EntryChanged(old, new, stale)


def set_entry_enabled(
    engine: Engine, norm_id: int, enabled: bool, author: str, reason: str | None = None
) -> EntryChanged:
    return change_entry(engine, norm_id, author, reason, enabled=enabled)


def import_normalization(
    engine: Engine, path: str | Path, author: str, reason: str | None, dry_run: bool = False
) -> NormPlan:
    """The table from a .csv or a workbook's normalization sheet, checked whole, all or nothing."""
    author = require_author(author)
    with engine.begin() as conn:
        plan = plan_normalization(conn, norm_sheet(path, required=True))
        if plan and not dry_run:
            apply_plan(conn, plan, author, reason, bump_rulebase_version(conn))
    return plan


def list_entries(engine: Engine, include_disabled: bool = False) -> list[Replacement]:
    with engine.connect() as conn:
        return normstore.load(conn, include_disabled=include_disabled)


def show_entry(engine: Engine, norm_id: int) -> Shown:
    with engine.connect() as conn:
        return Shown(normstore.get(conn, norm_id), normstore.history(conn, norm_id))


def trace(engine: Engine, text: str) -> list[Step]:
    """How `text` is normalized: after NFKC and blanks, then after each entry that applied."""
    with engine.connect() as conn:
        return normstore.normalizer(conn).trace(text)


# The workbench (coder.web): changes from a form shown at a version, and a proposed entry tried on a text.


class EntryPreview(NamedTuple):
    """A proposed entry (changed or new) and what it would do: `steps` of a text through the table
    with it (None without a text), and the enabled rules it would leave stale."""

    entry: Replacement
    steps: list[Step] | None
    stale_rules: list[int]


def preview_entry(engine: Engine, text: str | None, norm_id: int | None = None, **fields: Any) -> EntryPreview:
    """The table with entry `norm_id` changed by `fields` (or, without an id, a new entry of `fields`),
    checked as a save checks it, and `text` traced through it; writes nothing."""
    with engine.connect() as conn:
        table = normstore.load(conn)
        if norm_id is None:
            entry = Replacement(**fields)
            if entry.position == 0:
                entry = dc_replace(entry, position=normstore.next_position(conn))
        else:
            entry = normstore.ENTRIES.proposed(normstore.get(conn, norm_id), fields)
        others = [e for e in table if e.enabled and (entry.id is None or e.id != entry.id)]
        normstore.check_table(others + [entry])  # as a save checks it
        live = others + [entry] if entry.enabled else others
        steps = Normalizer(live).trace(text) if text else None
        return EntryPreview(entry, steps, normstore.rules_mentioning(conn, entry))


def stale_entry_check(conn, norm_id: int, version: int | None) -> Replacement:
    """The stored entry, its row locked for the change; StaleForm when `version` (the form's) is not its version."""
    row = conn.execute(select(norm_rule).where(norm_rule.c.id == norm_id).with_for_update()).first()
    if row is None:
        raise NotFound(f"no normalization entry with id {norm_id}")
    entry = normstore.ENTRIES.from_row(row)
    if version is not None and entry.version != version:
        later = [h for h in normstore.history(conn, norm_id) if h["version"] > version]
        raise StaleForm("normalization entry", norm_id, version, entry.version, later)
    return entry


def change_entry_at(
    engine: Engine, norm_id: int, version: int | None, author: str, reason: str | None = None, **changes: Any
) -> EntryChanged:
    """change_entry from a form shown at `version`: StaleForm if the entry changed since."""
    require_author(author)
    with engine.begin() as conn:
        old = stale_entry_check(conn, norm_id, version)
        new = normstore.change(conn, norm_id, author, reason, **changes)
        stale = normstore.rules_mentioning(conn, new) if new.version != old.version else []
        return EntryChanged(old, new, stale)
