"""icdcoder normalize ...: the replacement table applied to descriptions before matching."""

from __future__ import annotations

import click

from rulebase.normalize import LITERAL, PATTERN

from ..services import normalization as service
from .options import (
    ID,
    WHOLE,
    author_option,
    db_option,
    echo_json,
    enabling_commands,
    json_option,
    open_db,
    reason_option,
    show_command,
)
from .versioned import import_command, list_command

kind_option = click.option(
    "--kind",
    type=click.Choice([str(LITERAL), str(PATTERN)]),
    default=None,
    help="literal: plain text (default); pattern: the rule dialect.",
)


@click.group("normalize")
def normalize_group() -> None:
    """Ordered replacements applied to every description before matching (梗塞 -> 梗死)."""


@normalize_group.command("add")
@click.option("--find", required=True, help="Text (or, with --kind pattern, a pattern) to replace.")
@click.option("--replace", "replacement", required=True, help="What it becomes.")
@kind_option
@click.option("--position", type=WHOLE, default=0, help="Order in the table (default: after the last entry).")
@click.option("--note", default=None)
@author_option
@reason_option
@db_option
def add_cmd(find, replacement, kind, position, note, author, reason, db_url) -> None:
    """Add a replacement (refused if it would loop or empty a text)."""
    done = service.add_entry(
        open_db(db_url), find, replacement, author, kind=kind or LITERAL, position=position, note=note, reason=reason
    )
    click.echo(f"normalization {done.new.id} added at position {done.new.position} (version 1)")
    _warn_stale(done)


def _warn_stale(done: service.EntryChanged) -> None:
    stale, entry = done.stale_rules, done.new
    if stale:
        ids = ", ".join(map(str, stale[:20])) + (" …" if len(stale) > 20 else "")
        click.echo(
            f"warning: {len(stale)} enabled rule(s) contain {entry.find!r}, which descriptions no longer "
            f"hold after this replacement; rewrite them for {entry.replace!r}: rules {ids}",
            err=True,
        )


list_command(
    normalize_group,
    service.list_entries,
    ["id", "position", "kind", "find", "replace", "enabled", "version"],
    lambda e: [e.id, e.position, e.kind, e.find, e.replace, int(e.enabled), e.version],
    "The table in the order it is applied.",
    flag="--all",
    flag_help="Include disabled entries.",
)


@normalize_group.command("edit")
@click.argument("norm_id", type=ID)
@click.option("--find", default=None)
@click.option("--replace", "replacement", default=None)
@kind_option
@click.option("--position", type=WHOLE, default=None)
@click.option("--note", default=None)
@author_option
@reason_option
@db_option
def edit_cmd(norm_id, find, replacement, kind, position, note, author, reason, db_url) -> None:
    """Change an entry; each change is a new version with a history row."""
    changes = {
        k: v
        for k, v in dict(find=find, replace=replacement, kind=kind, position=position, note=note).items()
        if v is not None
    }
    if not changes:
        raise click.UsageError("nothing to change: give --find, --replace, --kind, --position or --note")
    _change(db_url, norm_id, author, reason, **changes)


def _change(db_url, norm_id, author, reason, **changes) -> None:
    done = service.change_entry(open_db(db_url), norm_id, author, reason, **changes)
    click.echo(
        f"normalization {norm_id} is now version {done.new.version}"
        if done.changed
        else f"normalization {norm_id} unchanged"
    )
    _warn_stale(done)


def _set_enabled(db_url, norm_id: int, enabled: bool, author: str, reason: str | None, _force: bool) -> None:
    _change(db_url, norm_id, author, reason, enabled=enabled)


enabling_commands(
    normalize_group,
    "norm_id",
    _set_enabled,
    ("Stop applying an entry (it stays, with its history).", "Apply a disabled entry again."),
)


show_command(normalize_group, "norm_id", service.show_entry, "An entry and its whole history.", show_changes=False)


@normalize_group.command("test")
@click.argument("text")
@db_option
@json_option
def test_cmd(text, db_url, as_json) -> None:
    """Show how TEXT is normalized, step by step."""
    steps = service.trace(open_db(db_url), text)
    if as_json:
        echo_json(
            {
                "input": text,
                "normalized": steps[-1].text,
                "steps": [
                    {
                        "id": e.id if e else None,
                        "find": e.find if e else None,
                        "replace": e.replace if e else None,
                        "text": t,
                    }
                    for e, t in steps
                ],
            }
        )
        return
    click.echo(f"NFKC and blanks: {steps[0].text}")
    for entry, after in steps[1:]:
        click.echo(f"#{entry.id} {entry.find} -> {entry.replace}: {after}")
    click.echo(f"normalized: {' '.join(steps[-1].text.split())}")


import_command(
    normalize_group,
    "normalization",
    service.import_normalization,
    lambda e: f"+ new  {e.find} -> {e.replace}  position {e.position}",
    lambda old, new: (
        f"~ change {old.id}  {old.find} -> {old.replace}  becomes  {new.find} -> {new.replace}"
        f"{'' if new.enabled else ' (disabled)'}"
    ),
    "Import the table from a .csv or a workbook's normalization sheet (all or nothing).",
    judged=False,
)


COMMANDS = [normalize_group]
