"""icdcoder combinations ...: combination codes across the lines of one record."""

from __future__ import annotations

import click

from ..services import combinations as service
from .options import (
    ID,
    author_option,
    db_option,
    dry_run_option,
    echo_json,
    echo_table,
    force_option,
    json_option,
    open_db,
    reason_option,
    show_command,
)


@click.group("combinations")
def combinations_group() -> None:
    """Combination codes: when a record's lines hold all of `codes`, their auto-codes become `code`."""


def _echo_change(done: service.CombinationChanged, as_json: bool, verb: str) -> None:
    if as_json:
        echo_json(
            {**done.new.to_dict(), "changed": done.changed, "impact": done.impact.to_json() if done.impact else None}
        )
        return
    if done.impact is not None:
        for line in done.impact.lines():
            click.echo(line, err=True)
    c = done.new
    click.echo(f"combination {c.id} {verb} (version {c.version})" if done.changed else f"combination {c.id} unchanged")


@combinations_group.command("add")
@click.option("--codes", required=True, help="Source codes, comma-joined (E11.900,G63.2*): all must be in one record.")
@click.option("--code", required=True, help="The combination code that replaces them (E11.401+G63.2*).")
@click.option("--note", default=None)
@author_option
@reason_option
@force_option
@db_option
@json_option
def add_cmd(codes, code, note, author, reason, force, db_url, as_json) -> None:
    """Add a combination; judged against the audited history first (refused if it breaks correct codes)."""
    done = service.add_combination(open_db(db_url), codes, code, author, note=note, reason=reason, force=force)
    _echo_change(done, as_json, "added")


@combinations_group.command("list")
@click.option("--enabled-only", is_flag=True, help="Leave disabled combinations out.")
@db_option
@json_option
def list_cmd(enabled_only, db_url, as_json) -> None:
    """The table, by id."""
    items = service.list_combinations(open_db(db_url), include_disabled=not enabled_only)
    if as_json:
        echo_json([c.to_dict() for c in items])
        return
    echo_table(
        ["id", "codes", "code", "enabled", "version", "note"],
        [[c.id, c.codes, c.code, int(c.enabled), c.version, c.note or ""] for c in items],
    )


@combinations_group.command("edit")
@click.argument("combination_id", type=ID)
@click.option("--codes", default=None)
@click.option("--code", default=None)
@click.option("--note", default=None)
@author_option
@reason_option
@force_option
@db_option
@json_option
def edit_cmd(combination_id, codes, code, note, author, reason, force, db_url, as_json) -> None:
    """Change a combination; each change is a new version with a history row, judged before it commits."""
    changes = {k: v for k, v in dict(codes=codes, code=code, note=note).items() if v is not None}
    if not changes:
        raise click.UsageError("nothing to change: give --codes, --code or --note")
    done = service.change_combination(open_db(db_url), combination_id, author, reason, force, **changes)
    _echo_change(done, as_json, "changed")


def _enabling(enabled: bool, help_text: str):
    @combinations_group.command("enable" if enabled else "disable", help=help_text)
    @click.argument("combination_id", type=ID)
    @author_option
    @reason_option
    @force_option
    @db_option
    @json_option
    def command(combination_id, author, reason, force, db_url, as_json) -> None:
        done = service.set_combination_enabled(open_db(db_url), combination_id, enabled, author, reason, force)
        _echo_change(done, as_json, "enabled" if enabled else "disabled")

    return command


_enabling(False, "Stop applying a combination (it stays, with its history; its review marks are cleared).")
_enabling(True, "Apply a disabled combination again; judged like any change.")

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


@combinations_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@author_option
@reason_option
@force_option
@db_option
@dry_run_option
@json_option
def import_cmd(path, author, reason, force, db_url, dry_run, as_json) -> None:
    """Import combinations from a .csv or a workbook's combinations sheet (all or nothing, judged first).

    Columns: id, codes, code, enabled, note, version. A row with an id changes that combination,
    one without adds one; enabled = 0 disables.
    """
    plan, impact = service.import_combinations(open_db(db_url), path, author, reason, dry_run=dry_run, force=force)
    s = plan.summary()
    if as_json:
        echo_json({**s, "dry_run": dry_run, "impact": impact.to_json() if impact else None})
        return
    if dry_run:
        for c in plan.added:
            click.echo(f"+ new  {c.codes} -> {c.code}")
        for old, new in plan.changed:
            click.echo(
                f"~ change {old.id}  {old.codes} -> {old.code}  becomes  {new.codes} -> {new.code}"
                f"{'' if new.enabled else ' (disabled)'}"
            )
    if impact is not None:
        for line in impact.lines():
            click.echo(line, err=True)
    click.echo(
        f"{'dry run, nothing written; ' if dry_run else ''}combinations: {s['added']} added, "
        f"{s['changed']} changed, {s['unchanged']} unchanged"
    )


@combinations_group.command("export")
@click.argument("path", type=click.Path(dir_okay=False))
@db_option
@json_option
def export_cmd(path, db_url, as_json) -> None:
    """Write every combination to PATH (.csv, or .xlsx with a combinations sheet) to edit and import again."""
    n = service.export_combinations(open_db(db_url), path)
    if as_json:
        echo_json({"path": str(path), "combinations": n})
    else:
        click.echo(f"{n} combinations written to {path}")


COMMANDS = [combinations_group]
