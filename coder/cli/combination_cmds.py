"""icdcoder combinations ...: combination codes across the lines of one record."""

from __future__ import annotations

import click

from ..services import combinations as service
from .options import (
    ID,
    db_option,
    echo_json,
    echo_table,
    json_option,
    open_db,
    show_command,
)
from .versioned import (
    echo_judged,
    export_command,
    import_command,
    judged_change_options,
    judged_enabling_commands,
    list_command,
)


@click.group("combinations")
def combinations_group() -> None:
    """Combination codes: when a record's lines hold all of `codes`, their auto-codes become `code`."""


@combinations_group.command("add")
@click.option("--codes", required=True, help="Source codes, comma-joined (E11.900,G63.2*): all must be in one record.")
@click.option("--code", required=True, help="The combination code that replaces them (E11.401+G63.2*).")
@click.option("--note", default=None)
@judged_change_options
def add_cmd(codes, code, note, author, reason, force, db_url, as_json) -> None:
    """Add a combination; judged against the audited history first (refused if it breaks correct codes)."""
    done = service.add_combination(open_db(db_url), codes, code, author, note=note, reason=reason, force=force)
    echo_judged(done, as_json, "combination", "added")


list_command(
    combinations_group,
    service.list_combinations,
    ["id", "codes", "code", "enabled", "version", "note"],
    lambda c: [c.id, c.codes, c.code, int(c.enabled), c.version, c.note or ""],
    "The table, by id.",
    flag="--enabled-only",
    flag_help="Leave disabled combinations out.",
)


@combinations_group.command("edit")
@click.argument("combination_id", type=ID)
@click.option("--codes", default=None)
@click.option("--code", default=None)
@click.option("--note", default=None)
@judged_change_options
def edit_cmd(combination_id, codes, code, note, author, reason, force, db_url, as_json) -> None:
    """Change a combination; each change is a new version with a history row, judged before it commits."""
    changes = {k: v for k, v in dict(codes=codes, code=code, note=note).items() if v is not None}
    if not changes:
        raise click.UsageError("nothing to change: give --codes, --code or --note")
    done = service.change_combination(open_db(db_url), combination_id, author, reason, force, **changes)
    echo_judged(done, as_json, "combination", "changed")


judged_enabling_commands(
    combinations_group,
    "combination_id",
    service.set_combination_enabled,
    "combination",
    (
        "Stop applying a combination (it stays, with its history; its review marks are cleared).",
        "Apply a disabled combination again; judged like any change.",
    ),
)

show_command(combinations_group, "combination_id", service.show_combination, "A combination and its whole history.")


@combinations_group.command("review")
@db_option
@json_option
def review_cmd(db_url, as_json) -> None:
    """Auto-coded lines a combination would have replaced but for a person's code on another line."""
    marks = service.review_lines(open_db(db_url))
    if as_json:
        echo_json(marks)
        return
    echo_table(
        ["diagnosis_id", "record_id", "seq_no", "code", "combination_id", "reason"],
        [[m["diagnosis_id"], m["record_id"], m["seq_no"], m["code"], m["combination_id"], m["reason"]] for m in marks],
    )


import_command(
    combinations_group,
    "combinations",
    service.import_combinations,
    lambda c: f"+ new  {c.codes} -> {c.code}",
    lambda old, new: (
        f"~ change {old.id}  {old.codes} -> {old.code}  becomes  {new.codes} -> {new.code}"
        f"{'' if new.enabled else ' (disabled)'}"
    ),
    """Import combinations from a .csv or a workbook's combinations sheet (all or nothing, judged first).

    Columns: id, codes, code, enabled, note, version. A row with an id changes that combination,
    one without adds one; enabled = 0 disables.
    """,
    judged=True,
)
export_command(
    combinations_group,
    "combinations",
    service.export_combinations,
    "Write every combination to PATH (.csv, or .xlsx with a combinations sheet) to edit and import again.",
    with_json=True,
)


COMMANDS = [combinations_group]
