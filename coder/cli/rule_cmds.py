"""icdcoder rules ...: the rule base."""

from __future__ import annotations

import click

from .. import rulestore
from ..imports import RulePlan, import_rules
from .options import (
    author_option, db_option, dry_run_option, echo_json, echo_table, json_option, open_db, reason_option,
)


@click.group("rules")
def rules_group() -> None:
    """Description models: regular expressions that code diagnoses."""


def _echo_plan(plan: RulePlan) -> None:
    for r in plan.added:
        extra = f"  exclude {r.exclude}" if r.exclude else ""
        click.echo(f"+ new  {r.code}  {r.pattern}{extra}  priority {r.priority}")
    for c in plan.changed:
        label = "disable" if c in plan.disabled else "change"
        diffs = "; ".join(f"{k}: {c.old[k]!r} -> {c.new[k]!r}" for k in c.changed_fields)
        click.echo(f"~ {label} rule {c.rule_id}  {diffs}")


@rules_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@author_option
@reason_option
@db_option
@dry_run_option
@json_option
def import_cmd(path: str, author: str, reason: str | None, db_url: str | None, dry_run: bool, as_json: bool) -> None:
    """Import rules from .xlsx (sheet "rules") or .csv.

    Columns: id, code, pattern, exclude, priority, enabled, note, version (code_name is ignored).
    Rows with an id update that rule, rows without one add a rule, enabled = 0 disables.
    """
    plan = import_rules(open_db(db_url), path, author, reason, dry_run=dry_run)
    s = plan.summary()
    if as_json:
        echo_json({**s, "dry_run": dry_run})
        return
    if dry_run:
        _echo_plan(plan)
    prefix = "dry run, nothing written; rules" if dry_run else "rules"
    click.echo(f"{prefix}: {s['added']} added, {s['changed']} changed ({s['disabled']} disabled), "
               f"{s['unchanged']} unchanged")


@rules_group.command("list")
@click.option("--code", default=None, help="Only rules for this code.")
@click.option("--all", "include_disabled", is_flag=True, help="Include disabled rules.")
@db_option
@json_option
def list_cmd(code: str | None, include_disabled: bool, db_url: str | None, as_json: bool) -> None:
    """List the rules."""
    with open_db(db_url).connect() as conn:
        rules = rulestore.load_rules(conn, include_disabled=include_disabled)
    if code:
        rules = [r for r in rules if r.code == code]
    if as_json:
        echo_json([r.to_dict() for r in rules])
        return
    echo_table(["id", "code", "pattern", "exclude", "priority", "enabled", "version"],
               [[r.id, r.code, r.pattern, r.exclude, r.priority, int(r.enabled), r.version] for r in rules])


COMMANDS = [rules_group]
