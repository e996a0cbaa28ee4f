"""icdcoder guards ...: the uncertainty and negation cues that keep a line from being auto-coded."""

from __future__ import annotations

import click

from rulebase.states import GuardKind, GuardScope

from ..services import guards as service
from .options import (
    ID,
    WHOLE,
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

kind_option = click.option(
    "--kind",
    type=click.Choice([str(k) for k in GuardKind]),
    default=None,
    help="uncertain (疑似, 待查) or negated (排除, 否认): the reason the line fails with.",
)
scope_option = click.option(
    "--scope",
    type=click.Choice([str(s) for s in GuardScope]),
    default=None,
    help="Where the cue must stand: before the matched words (疑似肺结核), after (肺部阴影待查), or any.",
)
not_within_option = click.option(
    "--not-within",
    "not_within",
    default=None,
    help="Longer words, |-joined, in which the cue does not count (排除: 不排除|待排除); '' clears.",
)


@click.group("guards")
def guards_group() -> None:
    """Uncertainty and negation cues (疑似, 待查, 排除 ...): a line where one stands is not auto-coded."""


def _echo_change(done: service.GuardChanged, as_json: bool, verb: str) -> None:
    if as_json:
        echo_json(
            {
                **done.new.to_dict(),
                "changed": done.changed,
                "impact": done.impact.to_json() if done.impact else None,
            }
        )
        return
    if done.impact is not None:
        for line in done.impact.lines():
            click.echo(line, err=True)
    g = done.new
    click.echo(f"guard {g.id} {verb} (version {g.version})" if done.changed else f"guard {g.id} unchanged")


@guards_group.command("add")
@click.option("--cue", required=True, help="The literal text, in normalized form (? for ？).")
@kind_option
@scope_option
@not_within_option
@click.option("--position", type=WHOLE, default=0, help="Order in the table (default: after the last guard).")
@click.option("--note", default=None)
@author_option
@reason_option
@force_option
@db_option
@json_option
def add_cmd(cue, kind, scope, not_within, position, note, author, reason, force, db_url, as_json) -> None:
    """Add a guard; judged against the audited history first (refused if it uncodes correct codes)."""
    if kind is None:
        raise click.UsageError("give --kind uncertain or --kind negated")
    done = service.add_guard(
        open_db(db_url),
        cue,
        kind,
        author,
        scope=scope or str(GuardScope.ANY),
        not_within=not_within or None,
        position=position,
        note=note,
        reason=reason,
        force=force,
    )
    _echo_change(done, as_json, "added")


@guards_group.command("list")
@click.option("--enabled-only", is_flag=True, help="Leave disabled guards out.")
@db_option
@json_option
def list_cmd(enabled_only, db_url, as_json) -> None:
    """The table in the order it is tried."""
    guards = service.list_guards(open_db(db_url), include_disabled=not enabled_only)
    if as_json:
        echo_json([g.to_dict() for g in guards])
        return
    echo_table(
        ["id", "position", "cue", "kind", "scope", "not_within", "enabled", "version"],
        [[g.id, g.position, g.cue, g.kind, g.scope, g.not_within or "", int(g.enabled), g.version] for g in guards],
    )


@guards_group.command("edit")
@click.argument("guard_id", type=ID)
@click.option("--cue", default=None)
@kind_option
@scope_option
@not_within_option
@click.option("--position", type=WHOLE, default=None)
@click.option("--note", default=None)
@author_option
@reason_option
@force_option
@db_option
@json_option
def edit_cmd(guard_id, cue, kind, scope, not_within, position, note, author, reason, force, db_url, as_json) -> None:
    """Change a guard; each change is a new version with a history row, judged before it commits."""
    fields = dict(cue=cue, kind=kind, scope=scope, not_within=not_within, position=position, note=note)
    changes = {k: v for k, v in fields.items() if v is not None}
    if "not_within" in changes and not changes["not_within"]:
        changes["not_within"] = None
    if not changes and not_within is None:
        raise click.UsageError("nothing to change: give --cue, --kind, --scope, --not-within, --position or --note")
    done = service.change_guard(open_db(db_url), guard_id, author, reason, force, **changes)
    _echo_change(done, as_json, "changed")


def _enabling(enabled: bool, help_text: str):
    @guards_group.command("enable" if enabled else "disable", help=help_text)
    @click.argument("guard_id", type=ID)
    @author_option
    @reason_option
    @force_option
    @db_option
    @json_option
    def command(guard_id, author, reason, force, db_url, as_json) -> None:
        done = service.set_guard_enabled(open_db(db_url), guard_id, enabled, author, reason, force)
        _echo_change(done, as_json, "enabled" if enabled else "disabled")

    return command


_enabling(False, "Stop applying a guard (it stays, with its history); judged like any change.")
_enabling(True, "Apply a disabled guard again; judged like any change.")

show_command(guards_group, "guard_id", service.show_guard, "A guard and its whole history.")


@guards_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@author_option
@reason_option
@force_option
@db_option
@dry_run_option
@json_option
def import_cmd(path, author, reason, force, db_url, dry_run, as_json) -> None:
    """Import guards from a .csv or a workbook's guards sheet (all or nothing, judged first).

    Columns: id, position, cue, kind, scope, not_within, enabled, note, version. A row with an id
    changes that guard, one without adds a guard; enabled = 0 disables.
    """
    plan, impact = service.import_guards(open_db(db_url), path, author, reason, dry_run=dry_run, force=force)
    s = plan.summary()
    if as_json:
        echo_json({**s, "dry_run": dry_run, "impact": impact.to_json() if impact else None})
        return
    if dry_run:
        for g in plan.added:
            click.echo(f"+ new  {g.cue}  {g.kind} {g.scope}  position {g.position}")
        for old, new in plan.changed:
            click.echo(
                f"~ change {old.id}  {old.cue} {old.kind} {old.scope}  becomes  {new.cue} {new.kind} {new.scope}"
                f"{'' if new.enabled else ' (disabled)'}"
            )
    if impact is not None:
        for line in impact.lines():
            click.echo(line, err=True)
    click.echo(
        f"{'dry run, nothing written; ' if dry_run else ''}guards: {s['added']} added, "
        f"{s['changed']} changed, {s['unchanged']} unchanged"
    )


@guards_group.command("export")
@click.argument("path", type=click.Path(dir_okay=False))
@db_option
@json_option
def export_cmd(path, db_url, as_json) -> None:
    """Write every guard to PATH (.csv, or .xlsx with a guards sheet) to edit and import again."""
    n = service.export_guards(open_db(db_url), path)
    if as_json:
        echo_json({"path": str(path), "guards": n})
    else:
        click.echo(f"{n} guards written to {path}")


COMMANDS = [guards_group]
