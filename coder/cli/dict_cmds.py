"""icdcoder dict ...: the hospital's ICD-10 code list."""

from __future__ import annotations

import click

from ..services.dictionary import import_dictionary
from .options import db_option, dry_run_option, echo_json, json_option, open_db


@click.group("dict")
def dict_group() -> None:
    """The code dictionary (code, name, parent, active)."""


@dict_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@db_option
@dry_run_option
@json_option
def import_cmd(path: str, db_url: str | None, dry_run: bool, as_json: bool) -> None:
    """Import codes from an .xlsx or .csv file with columns code, name [, parent, active].

    New codes are added, existing ones updated; codes are never deleted (set active = 0).
    """
    plan = import_dictionary(open_db(db_url), path, dry_run=dry_run)
    s = plan.summary()
    if as_json:
        echo_json({**s, "dry_run": dry_run})
        return
    if dry_run:
        for v in plan.added:
            click.echo(f"+ {v['code']}  {v['name']}")
        for old, new in plan.changed:
            diffs = ", ".join(f"{k}: {old[k]!r} -> {new[k]!r}" for k in new if old[k] != new[k])
            click.echo(f"~ {new['code']}  {diffs}")
    prefix = "dry run, nothing written; codes" if dry_run else "codes"
    click.echo(f"{prefix}: {s['added']} added, {s['changed']} changed, {s['unchanged']} unchanged")


COMMANDS = [dict_group]
