"""icdcoder diagnoses ...: the discharge diagnoses to code."""

from __future__ import annotations

import click

from ..services.diagnoses import Layout, export_diagnoses, import_diagnoses, list_diagnoses, parse_mapping
from .options import (
    columns,
    db_option,
    dry_run_option,
    echo_json,
    echo_rows,
    json_option,
    limit_option,
    open_db,
    system_option,
)

JSON_KEYS = "id record_id seq kind system description status code codes coded_by fail_reason".split()


@click.group("diagnoses")
def diagnoses_group() -> None:
    """Diagnosis and procedure lines: import, export, list."""


layout_option = click.option(
    "--layout",
    type=click.Choice([m.value for m in Layout]),
    default=Layout.LONG.value,
    show_default=True,
    help="long: one row per line; homepage: one row per discharge (住院病案首页) with name/code pairs.",
)


@diagnoses_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@layout_option
@click.option(
    "--map",
    "mapping",
    default=None,
    metavar="COLUMN=HEADER,...",
    help="Which header of the file holds a column, e.g. description=出院诊断,record_id=ID.",
)
@db_option
@dry_run_option
@json_option
def import_cmd(path: str, layout: str, mapping: str | None, db_url: str | None, dry_run: bool, as_json: bool) -> None:
    """Import diagnosis and procedure lines from .xlsx or .csv.

    --layout long (the default): one row per line, columns record_id (病案号/住院号), seq (序号),
    description (诊断名称/诊断描述) [, kind, code (诊断编码/编码), coder (编码员)]. A numbered list in
    one description ("1.冠心病2.高血压病") becomes one line per item.

    --layout homepage: one row per discharge, as HIS exports the homepage: 病案号 [+ 住院次数], the
    patient fields, 出院主要诊断名称/编码, 出院其他诊断名称N/编码N, 主要手术操作名称/编码,
    其他手术操作名称N/编码N; every other column is left unread.

    Lines without a code are pending and the next run codes them; a line with a code was coded by
    a person (coder column) and is history. All or nothing; importing the same file again changes
    nothing.
    """
    plan = import_diagnoses(open_db(db_url), path, dry_run=dry_run, layout=layout, mapping=parse_mapping(mapping))
    s = plan.summary()
    if s["ignored_columns"] and not as_json:
        shown = ", ".join(s["ignored_columns"][:12]) + (" ..." if len(s["ignored_columns"]) > 12 else "")
        click.echo(f"note: {len(s['ignored_columns'])} columns left unread: {shown}", err=True)
    if s["codes_not_applied"]:
        click.echo(
            f"warning: {s['codes_not_applied']} lines already stored show another code in the file; an import "
            "changes no stored line (codes are changed in the audit: icdcoder audit correct / audit import)",
            err=True,
        )
    if as_json:
        echo_json({**s, "dry_run": dry_run})
        return
    prefix = "dry run, nothing written; lines" if dry_run else "lines"
    split = f", {s['split_rows']} numbered lists split" if layout == Layout.LONG else ""
    click.echo(
        f"{prefix}: {s['added']} added ({s['pending']} pending, {s['coded_by_person']} coded by a person), "
        f"{s['unchanged']} already present{split}"
    )
    if layout == Layout.HOMEPAGE:
        click.echo(
            f"records: {s['records_added']} added, {s['records_changed']} changed, "
            f"{s['records_unchanged']} unchanged; {s['procedures']} of the added lines are procedures"
        )


@diagnoses_group.command("export")
@click.argument("path", type=click.Path(dir_okay=False))
@layout_option
@system_option
@db_option
@json_option
def export_cmd(path: str, layout: str, system: str | None, db_url: str | None, as_json: bool) -> None:
    """Write the lines with their codes (a person's and icdcoder's) to .xlsx or .csv, in the layout
    the HIS loads: long (one row per line) or homepage (one row per discharge, name/code pairs).

    Status columns (状态: 自动编码, 人工编码, 未能编码, ...) tell coders which code is whose;
    importing the file again changes nothing.
    """
    done = export_diagnoses(open_db(db_url), path, layout=layout, system=system)
    if done.left_out:
        click.echo(
            f"note: {done.left_out} lines have no place in the homepage layout (kinds other than discharge and "
            "procedure, or blank lines); --layout long writes every line",
            err=True,
        )
    if as_json:
        echo_json({"path": path, "layout": layout, "rows": done.rows, "left_out": done.left_out})
    else:
        noun = "records" if layout == Layout.HOMEPAGE else "lines"
        click.echo(f"{path}: {done.rows} {noun} written ({layout} layout)")


@diagnoses_group.command("list")
@click.option("--status", default=None, help="pending, coded, failed, confirmed, corrected or manual.")
@click.option("--record", default=None, help="Only this record (discharge homepage) id.")
@system_option
@limit_option
@db_option
@json_option
def list_cmd(
    status: str | None, record: str | None, system: str | None, limit: int | None, db_url: str | None, as_json: bool
) -> None:
    """List diagnosis and procedure lines with their status and codes (a line naming two diagnoses
    has two: `code` is the first, `codes` in --json every one)."""
    rows = list_diagnoses(open_db(db_url), status=status, record=record, limit=limit, system=system)
    if as_json:
        echo_json([{k: r[k] for k in JSON_KEYS} for r in rows])
        return
    echo_rows(
        columns("id record=record_id kind seq status code by=coded_by description"),
        rows,
        {
            "status": lambda r: r["status"] + (f"/{r['fail_reason']}" if r["status"] == "failed" else ""),
            "code": lambda r: ",".join(r["codes"]) or None,
        },
    )


COMMANDS = [diagnoses_group]
