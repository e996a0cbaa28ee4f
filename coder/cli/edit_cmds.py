"""icdcoder edits ...: the code edits that mark coded lines for review (they never change a code)."""

from __future__ import annotations

import functools

import click

from rulebase.states import EditKind

from ..services import edits as service
from .options import (
    ID,
    author_option,
    db_option,
    echo_json,
    echo_table,
    enabling_commands,
    json_option,
    limit_option,
    open_db,
    reason_option,
    show_command,
)
from .versioned import export_command, import_command, list_command

DAYS = click.IntRange(0, 200 * 366)


def _fields(f):
    for option in reversed(
        [
            click.option(
                "--codes", default=None, help="The codes it is about: categories, ranges, codes (O00-O99,N70-N98,C53)."
            ),
            click.option(
                "--other-codes",
                default=None,
                help="exclusive: the codes that may not stand beside --codes; asterisk_alone: the dagger codes needed.",
            ),
            click.option(
                "--sex", type=click.Choice(["M", "F"]), default=None, help="sex: the only sex the codes are for."
            ),
            click.option(
                "--min-days", type=DAYS, default=None, help="age: the youngest age the codes are for, in days."
            ),
            click.option("--max-days", type=DAYS, default=None, help="age: the oldest age the codes are for, in days."),
            click.option("--message", default=None, help="What a coder reads on the marked line (Chinese)."),
            click.option("--note", default=None),
        ]
    ):
        f = option(f)
    return f


@click.group("edits")
def edits_group() -> None:
    """Code edits: checks of coded records (sex, age, asterisk codes, duplicates, exclusive codes,
    the dictionary) that mark a line for review with the reason; an edit never changes a code."""


def _row(e) -> list:
    return [e.id, e.kind, e.codes, e.other_codes, e.sex, e.min_days, e.max_days, e.message, int(e.enabled), e.version]


list_command(
    edits_group,
    service.list_edits,
    ["id", "kind", "codes", "other_codes", "sex", "min_days", "max_days", "message", "enabled", "version"],
    _row,
    "The edits, in id order.",
    flag="--all",
    flag_help="Include disabled edits.",
)


show_command(edits_group, "edit_id", service.show_edit, "An edit and its whole history.")


@edits_group.command("add")
@click.option("--kind", required=True, type=click.Choice([str(k) for k in EditKind]))
@_fields
@author_option
@reason_option
@db_option
def add_cmd(kind, codes, other_codes, sex, min_days, max_days, message, note, author, reason, db_url) -> None:
    """Add an edit; it applies from the next check (a run, an audit action, or: icdcoder edits check)."""
    if not message:
        raise click.UsageError("--message is required: what a coder reads on the marked line")
    edit = service.add_edit(
        open_db(db_url),
        author,
        reason,
        kind=kind,
        codes=codes,
        other_codes=other_codes,
        sex=sex,
        min_days=min_days,
        max_days=max_days,
        message=message,
        note=note,
    )
    click.echo(f"edit {edit.id} added (version 1); to mark the lines coded already: icdcoder edits check")


@edits_group.command("edit")
@click.argument("edit_id", type=ID)
@_fields
@author_option
@reason_option
@db_option
def edit_cmd(edit_id, codes, other_codes, sex, min_days, max_days, message, note, author, reason, db_url) -> None:
    """Change an edit; each change is a new version with a history row ("" clears a field)."""
    given = dict(
        codes=codes, other_codes=other_codes, sex=sex, min_days=min_days, max_days=max_days, message=message, note=note
    )
    changes = {k: (None if v == "" else v) for k, v in given.items() if v is not None}
    if not changes:
        raise click.UsageError(
            "nothing to change: give --codes, --other-codes, --sex, --min-days, --max-days, --message or --note"
        )
    _change(db_url, edit_id, author, reason, **changes)


def _change(db_url, edit_id, author, reason, **changes) -> None:
    old, new = service.change_edit(open_db(db_url), edit_id, author, reason, **changes)
    if new.version == old.version:
        click.echo(f"edit {edit_id} unchanged")
        return
    click.echo(f"edit {edit_id} is now version {new.version}")
    if new.enabled:
        click.echo("to check the lines coded already with it: icdcoder edits check", err=True)


def _set_enabled(db_url, edit_id: int, enabled: bool, author: str, reason: str | None, _force: bool) -> None:
    _change(db_url, edit_id, author, reason, enabled=enabled)


enabling_commands(
    edits_group,
    "edit_id",
    _set_enabled,
    ("Stop an edit (it stays, with its history; its marks are cleared).", "Apply a disabled edit again."),
)


import_command(
    edits_group,
    "edits",
    service.import_edits,
    lambda e: f"+ new  {e.kind} {e.codes or ''} {e.message}",
    lambda old, new: f"~ change {old.id}  {old.kind} {old.codes or ''}  becomes  {new.kind} {new.codes or ''}",
    "Import edits from a .csv or a workbook's edits sheet (all or nothing; a row with an id changes it).",
    judged=False,
)
export_command(
    edits_group,
    "edits",
    service.export_edits,
    "Write every edit to a .xlsx (sheet edits) or .csv that imports back.",
    with_json=False,
)


@edits_group.command("check")
@db_option
@json_option
def check_cmd(db_url, as_json) -> None:
    """Check every record again with the table as it is now (after the table changed)."""
    done = service.check_all(open_db(db_url))
    counts = service.mark_counts(open_db(db_url))
    if as_json:
        echo_json({**done._asdict(), "marked_lines": counts["lines"], "by_kind": counts["by_kind"]})
        return
    click.echo(
        f"checked {done.records} records ({done.lines} lines): {done.found} new marks, {done.cleared} cleared; "
        f"{counts['lines']} lines marked now"
    )


@edits_group.command("marks")
@limit_option
@db_option
@json_option
def marks_cmd(limit, db_url, as_json) -> None:
    """The lines the edits mark, with the reasons (the same as: icdcoder audit queue --edits)."""
    items = service.marked_queue(open_db(db_url), limit=limit)
    if as_json:
        echo_json(items)
        return
    echo_marked(items)


def echo_marked(items) -> None:
    echo_table(
        ["id", "record", "seq", "status", "code", "description", "edits"],
        [
            [
                i["diagnosis_id"],
                i["record_id"],
                i["seq"],
                i["status"],
                i["code"],
                i["description"],
                "; ".join(m["reason"] for m in i["edits"]),
            ]
            for i in items
        ],
    )


def edits_queue_option(command):
    """`audit queue --edits`: only the lines a code edit marks, with the reasons (JSON: `edits`);
    without it, the command as it is."""

    @functools.wraps(command)
    def queue_or_marks(*args, edits: bool = False, **kwargs):
        if not edits:
            return command(*args, **kwargs)
        filters = {k: kwargs.get(k) for k in ("status", "reason", "system")}
        items = service.marked_queue(
            open_db(kwargs["db_url"]), limit=kwargs.get("limit"), run=kwargs.get("run_id"), **filters
        )
        if kwargs.get("as_json"):
            echo_json(items)
            return None
        echo_marked(items)
        return None

    return click.option(
        "--edits", "edits", is_flag=True, help="Only lines a code edit marks (any status), with the reasons."
    )(queue_or_marks)


COMMANDS = [edits_group]
