"""icdcoder rules ...: the rule base."""

from __future__ import annotations

import click

from ..audit.ruletest import Impact
from ..imports.rules import RulePlan
from ..services import rules as service
from .options import (
    ID,
    WHOLE,
    author_option,
    columns,
    db_option,
    dry_run_option,
    echo_json,
    echo_rows,
    enabling_commands,
    force_option,
    json_option,
    open_db,
    reason_option,
    show_command,
    system_option,
)


def _echo_impact(impact: Impact) -> None:
    if impact.audited:
        for line in impact.lines():
            click.echo(line)


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
@force_option
@json_option
def import_cmd(
    path: str, author: str, reason: str | None, db_url: str | None, dry_run: bool, force: bool, as_json: bool
) -> None:
    """Import rules from .xlsx (sheet "rules") or .csv.

    Columns: id, code, pattern, exclude, priority, enabled, note, version (code_name is ignored).
    Rows with an id update that rule, rows without one add a rule, enabled = 0 disables. A workbook's
    normalization, guards and combinations sheets are imported with it. The change is tested against
    the audited history and refused if it turns correct codes wrong, unless --force.
    """
    plan = service.import_rules(open_db(db_url), path, author, reason, dry_run=dry_run, force=force)
    s = plan.summary()
    if as_json:
        echo_json(
            {
                **s,
                "dry_run": dry_run,
                "impact": plan.impact.to_json() if plan.impact else None,
                "normalization": plan.normalization.summary() if plan.normalization else None,
                "guards": plan.guards.summary() if plan.guards else None,
                "guard_impact": plan.guard_impact.to_json() if plan.guard_impact else None,
                "combinations": plan.combinations.summary() if plan.combinations else None,
                "combination_impact": plan.combination_impact.to_json() if plan.combination_impact else None,
            }
        )
        return
    if dry_run:
        _echo_plan(plan)
    if plan.impact is not None:
        _echo_impact(plan.impact)
    prefix = "dry run, nothing written; rules" if dry_run else "rules"
    click.echo(
        f"{prefix}: {s['added']} added, {s['changed']} changed ({s['disabled']} disabled), {s['unchanged']} unchanged"
    )
    # The workbook's other sheets, each as its own import command reports it.
    sheets = (
        ("normalization", plan.normalization, None, ""),
        ("guards", plan.guards, plan.guard_impact, "correctly coded would become uncoded"),
        ("combinations", plan.combinations, plan.combination_impact, "correctly coded would become wrong"),
    )
    for label, part, impact, broken in sheets:
        if part is not None:
            t = part.summary()
            click.echo(
                f"{'dry run, nothing written; ' if dry_run else ''}{label}: {t['added']} added, "
                f"{t['changed']} changed, {t['unchanged']} unchanged"
                + (f"; {impact.broken} {broken}" if impact else "")
            )


@rules_group.command("export")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--enabled-only", is_flag=True, help="Leave disabled rules out.")
@system_option
@db_option
def export_cmd(path: str, enabled_only: bool, system: str | None, db_url: str | None) -> None:
    """Write the rules to an .xlsx workbook to edit and import again."""
    n = service.export_rules(open_db(db_url), path, include_disabled=not enabled_only, system=system)
    click.echo(f"{n} rules written to {path}")


@rules_group.command("list")
@click.option("--code", default=None, help="Only rules for this code.")
@click.option(
    "--search", default=None, metavar="TEXT", help="Only rules whose pattern, exclude, note or code contains TEXT."
)
@click.option("--all", "include_disabled", is_flag=True, help="Include disabled rules.")
@system_option
@db_option
@json_option
def list_cmd(
    code: str | None, search: str | None, include_disabled: bool, system: str | None, db_url: str | None, as_json: bool
) -> None:
    """List the rules (of one code system with --system)."""
    rules = service.list_rules(
        open_db(db_url), code=code, search=search, include_disabled=include_disabled, system=system
    )
    if as_json:
        echo_json(rules)
        return
    echo_rows(
        columns("id code pattern exclude priority enabled version author"),
        rules,
        {"enabled": lambda r: int(r["enabled"])},
    )


@rules_group.command("add")
@click.option("--code", required=True)
@click.option("--pattern", required=True)
@click.option("--exclude", default=None)
@click.option("--priority", type=WHOLE, default=0, show_default=True)
@click.option("--note", default=None)
@author_option
@reason_option
@force_option
@db_option
def add_cmd(code, pattern, exclude, priority, note, author, reason, force, db_url) -> None:
    """Add a rule (validated; the code must be in the dictionary; tested against the audited history)."""
    added = service.add_rule(
        open_db(db_url),
        code,
        pattern,
        author,
        exclude=exclude,
        priority=priority,
        note=note,
        reason=reason,
        force=force,
    )
    _echo_impact(added.impact)
    click.echo(f"rule {added.rule.id} added (version 1)")


@rules_group.command("edit")
@click.argument("rule_id", type=ID)
@click.option("--code", default=None)
@click.option("--pattern", default=None)
@click.option("--exclude", default=None, help="New exclude pattern; an empty string removes it.")
@click.option("--priority", type=WHOLE, default=None)
@click.option("--note", default=None)
@author_option
@reason_option
@force_option
@db_option
def edit_cmd(rule_id, code, pattern, exclude, priority, note, author, reason, force, db_url) -> None:
    """Change a rule's fields; each change is a new version with a history row."""
    changes = {k: v for k, v in dict(code=code, pattern=pattern, priority=priority, note=note).items() if v is not None}
    if exclude is not None:
        changes["exclude"] = exclude or None
    if not changes:
        raise click.UsageError("nothing to change: give --code, --pattern, --exclude, --priority or --note")
    done = service.change_rule(open_db(db_url), rule_id, author, reason, force, **changes)
    _echo_changed(done)
    click.echo(f"rule {rule_id} is now version {done.new.version}" if done.changed else f"rule {rule_id} unchanged")


def _echo_changed(done: service.RuleChanged) -> None:
    if done.impact is not None:
        _echo_impact(done.impact)


def _set_enabled(db_url: str | None, rule_id: int, enabled: bool, author: str, reason: str | None, force: bool) -> None:
    done = service.set_rule_enabled(open_db(db_url), rule_id, enabled, author, reason, force)
    _echo_changed(done)
    state = "enabled" if enabled else "disabled"
    click.echo(
        f"rule {rule_id} {state} (version {done.new.version})"
        if done.changed
        else f"rule {rule_id} was already {state}"
    )


enabling_commands(
    rules_group,
    "rule_id",
    _set_enabled,
    ("Disable a rule (it stays, with its history).", "Enable a disabled rule."),
    judged=True,
)


show_command(rules_group, "rule_id", service.show_rule, "A rule and its whole history.")


@rules_group.command("rollback")
@click.argument("rule_id", type=ID)
@click.option("--to-version", type=ID, required=True)
@author_option
@reason_option
@force_option
@db_option
def rollback_cmd(rule_id, to_version, author, reason, force, db_url) -> None:
    """Restore a rule as it was at an earlier version (recorded as a new version)."""
    done = service.rollback_rule(open_db(db_url), rule_id, to_version, author, reason, force)
    _echo_changed(done)
    click.echo(f"rule {rule_id} restored to version {to_version}'s fields as version {done.new.version}")


@rules_group.command("lint")
@db_option
def lint_cmd(db_url) -> None:
    """Re-validate every stored rule; exit 1 listing any that is invalid."""
    bad, total = service.lint_rules(open_db(db_url))
    if bad:
        for rule_id, reason in bad:
            click.echo(f"rule {rule_id}: {reason}")
        raise click.exceptions.Exit(1)
    click.echo(f"all {total} rules are valid")


@rules_group.command("test")
@click.option("--pattern", required=True)
@click.option("--exclude", default=None)
@click.option("--code", default=None, help="The code the rule would give (for true/false positives and misses).")
@click.option("--priority", type=WHOLE, default=0, show_default=True)
@db_option
@json_option
def test_cmd(pattern, exclude, code, priority, db_url, as_json) -> None:
    """Try a pattern on every diagnosis a person coded, confirmed or corrected; write nothing."""
    impact = service.try_rule(open_db(db_url), pattern, exclude=exclude, code=code, priority=priority)
    if as_json:
        echo_json(impact.to_json())
        return
    for line in impact.lines():
        click.echo(line)


COMMANDS = [rules_group]
