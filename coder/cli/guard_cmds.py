"""icdcoder guards ...: the uncertainty and negation cues that keep a line from being auto-coded."""

from __future__ import annotations

import click

from rulebase.states import GuardKind, GuardScope

from ..services import guards as service
from .options import (
    ID,
    WHOLE,
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


@guards_group.command("add")
@click.option("--cue", required=True, help="The literal text, in normalized form (? for ？).")
@kind_option
@scope_option
@not_within_option
@click.option("--position", type=WHOLE, default=0, help="Order in the table (default: after the last guard).")
@click.option("--note", default=None)
@judged_change_options
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
    echo_judged(done, as_json, "guard", "added")


list_command(
    guards_group,
    service.list_guards,
    ["id", "position", "cue", "kind", "scope", "not_within", "enabled", "version"],
    lambda g: [g.id, g.position, g.cue, g.kind, g.scope, g.not_within or "", int(g.enabled), g.version],
    "The table in the order it is tried.",
    flag="--enabled-only",
    flag_help="Leave disabled guards out.",
)


@guards_group.command("edit")
@click.argument("guard_id", type=ID)
@click.option("--cue", default=None)
@kind_option
@scope_option
@not_within_option
@click.option("--position", type=WHOLE, default=None)
@click.option("--note", default=None)
@judged_change_options
def edit_cmd(guard_id, cue, kind, scope, not_within, position, note, author, reason, force, db_url, as_json) -> None:
    """Change a guard; each change is a new version with a history row, judged before it commits."""
    fields = dict(cue=cue, kind=kind, scope=scope, not_within=not_within, position=position, note=note)
    changes = {k: v for k, v in fields.items() if v is not None}
    if "not_within" in changes and not changes["not_within"]:
        changes["not_within"] = None
    if not changes and not_within is None:
        raise click.UsageError("nothing to change: give --cue, --kind, --scope, --not-within, --position or --note")
    done = service.change_guard(open_db(db_url), guard_id, author, reason, force, **changes)
    echo_judged(done, as_json, "guard", "changed")


judged_enabling_commands(
    guards_group,
    "guard_id",
    service.set_guard_enabled,
    "guard",
    (
        "Stop applying a guard (it stays, with its history); judged like any change.",
        "Apply a disabled guard again; judged like any change.",
    ),
)

show_command(guards_group, "guard_id", service.show_guard, "A guard and its whole history.")


import_command(
    guards_group,
    "guards",
    service.import_guards,
    lambda g: f"+ new  {g.cue}  {g.kind} {g.scope}  position {g.position}",
    lambda old, new: (
        f"~ change {old.id}  {old.cue} {old.kind} {old.scope}  becomes  {new.cue} {new.kind} {new.scope}"
        f"{'' if new.enabled else ' (disabled)'}"
    ),
    """Import guards from a .csv or a workbook's guards sheet (all or nothing, judged first).

    Columns: id, position, cue, kind, scope, not_within, enabled, note, version. A row with an id
    changes that guard, one without adds a guard; enabled = 0 disables.
    """,
    judged=True,
)
export_command(
    guards_group,
    "guards",
    service.export_guards,
    "Write every guard to PATH (.csv, or .xlsx with a guards sheet) to edit and import again.",
    with_json=True,
)


COMMANDS = [guards_group]
