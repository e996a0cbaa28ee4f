"""The commands a versioned table (guards, combinations, code edits, normalization) shares, declared once.

Each table's module names its nouns, its columns and the lines that differ; the option order, the
output text and the JSON are the same for every table, so scripts read them all alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click

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
)


def _decorate(command: Callable, options: Sequence[Callable]) -> Callable:
    for option in reversed(options):
        command = option(command)
    return command


def judged_change_options(command: Callable) -> Callable:
    """The options every judged change (add, edit) ends with: --author --reason --force --db --json."""
    return _decorate(command, [author_option, reason_option, force_option, db_option, json_option])


def echo_impact(impact) -> None:
    """What a judged change does to the audited history, on stderr (stdout keeps the result)."""
    if impact is not None:
        for line in impact.lines():
            click.echo(line, err=True)


def echo_judged(done, as_json: bool, noun: str, verb: str) -> None:
    """A judged change (add, edit, enable, disable): the new version and its impact."""
    if as_json:
        echo_json(
            {**done.new.to_dict(), "changed": done.changed, "impact": done.impact.to_json() if done.impact else None}
        )
        return
    echo_impact(done.impact)
    item = done.new
    click.echo(f"{noun} {item.id} {verb} (version {item.version})" if done.changed else f"{noun} {item.id} unchanged")


def judged_enabling_commands(
    group: click.Group, argument: str, set_enabled: Callable, noun: str, helps: tuple[str, str]
) -> None:
    """`GROUP disable ID` and `GROUP enable ID` of a judged table (--force, --json);
    `set_enabled(engine, id, enabled, author, reason, force)` returns the change."""
    for enabled, help_text in zip((False, True), helps, strict=True):

        def command(author, reason, force, db_url, as_json, *, _enabled: bool = enabled, **ids: int) -> None:
            done = set_enabled(open_db(db_url), ids[argument], _enabled, author, reason, force)
            echo_judged(done, as_json, noun, "enabled" if _enabled else "disabled")

        options = [
            click.argument(argument, type=ID),
            author_option,
            reason_option,
            force_option,
            db_option,
            json_option,
        ]
        group.command("enable" if enabled else "disable", help=help_text)(_decorate(command, options))


def list_command(
    group: click.Group,
    fetch: Callable,
    headers: Sequence[str],
    row: Callable[[Any], list],
    help_text: str,
    *,
    flag: str,
    flag_help: str,
) -> None:
    """`GROUP list`: the table, as columns or JSON. flag "--all" shows disabled items on request,
    "--enabled-only" hides them on request."""
    if flag == "--all":
        flag_option = click.option("--all", "include_disabled", is_flag=True, help=flag_help)
    else:
        flag_option = click.option("--enabled-only", "enabled_only", is_flag=True, help=flag_help)

    def command(db_url, as_json, include_disabled: bool = False, enabled_only: bool | None = None) -> None:
        shown = not enabled_only if enabled_only is not None else include_disabled
        items = fetch(open_db(db_url), include_disabled=shown)
        if as_json:
            echo_json([i.to_dict() for i in items])
            return
        echo_table(list(headers), [row(i) for i in items])

    group.command("list", help=help_text)(_decorate(command, [flag_option, db_option, json_option]))


def import_command(
    group: click.Group,
    plural: str,
    run_import: Callable,
    added_line: Callable[[Any], str],
    changed_line: Callable[[Any, Any], str],
    help_text: str,
    *,
    judged: bool,
) -> None:
    """`GROUP import PATH` (all or nothing; --dry-run lists what would change). A judged table's
    import takes --force and --json and `run_import` returns (plan, impact); else the plan alone."""

    def command(path, author, reason, db_url, dry_run, force: bool = False, as_json: bool = False) -> None:
        extra = {"force": force} if judged else {}
        result = run_import(open_db(db_url), path, author, reason, dry_run=dry_run, **extra)
        plan, impact = result if judged else (result, None)
        s = plan.summary()
        if as_json:
            echo_json({**s, "dry_run": dry_run, "impact": impact.to_json() if impact else None})
            return
        if dry_run:
            for item in plan.added:
                click.echo(added_line(item))
            for old, new in plan.changed:
                click.echo(changed_line(old, new))
        echo_impact(impact)
        click.echo(
            f"{'dry run, nothing written; ' if dry_run else ''}{plural}: {s['added']} added, "
            f"{s['changed']} changed, {s['unchanged']} unchanged"
        )

    options = [click.argument("path", type=click.Path(dir_okay=False)), author_option, reason_option]
    options += [force_option, db_option, dry_run_option, json_option] if judged else [db_option, dry_run_option]
    group.command("import", help=help_text)(_decorate(command, options))


def export_command(group: click.Group, plural: str, run_export: Callable, help_text: str, *, with_json: bool) -> None:
    """`GROUP export PATH`: every item to a .csv or .xlsx that imports back."""

    def command(path, db_url, as_json: bool = False) -> None:
        n = run_export(open_db(db_url), path)
        if as_json:
            echo_json({"path": str(path), plural: n})
        else:
            click.echo(f"{n} {plural} written to {path}")

    options = [click.argument("path", type=click.Path(dir_okay=False)), db_option]
    group.command("export", help=help_text)(_decorate(command, options + ([json_option] if with_json else [])))
