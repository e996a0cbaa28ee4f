"""icdcoder diagnoses ...: the discharge diagnoses to code."""

from __future__ import annotations

import click

from ..services.diagnoses import import_diagnoses, list_diagnoses
from .options import columns, db_option, dry_run_option, echo_json, echo_rows, json_option, limit_option, open_db

JSON_KEYS = "id record_id seq kind description status code coded_by fail_reason".split()


@click.group("diagnoses")
def diagnoses_group() -> None:
    """Discharge diagnoses: import them, list them."""


@diagnoses_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@db_option
@dry_run_option
@json_option
def import_cmd(path: str, db_url: str | None, dry_run: bool, as_json: bool) -> None:
    """Import diagnoses from .xlsx or .csv: record_id, seq, description [, kind, code, coder].

    Rows without a code are pending and the next run codes them; a row with a code was coded by a
    person (coder column) and is history. A numbered list in one description
    ("1.冠心病2.高血压病") becomes one diagnosis per item.
    """
    plan = import_diagnoses(open_db(db_url), path, dry_run=dry_run)
    s = plan.summary()
    if as_json:
        echo_json({**s, "dry_run": dry_run})
        return
    prefix = "dry run, nothing written; diagnoses" if dry_run else "diagnoses"
    click.echo(
        f"{prefix}: {s['added']} added ({s['pending']} pending, {s['coded_by_person']} coded by a person), "
        f"{s['unchanged']} already present, {s['split_rows']} numbered lists split"
    )


@diagnoses_group.command("list")
@click.option("--status", default=None, help="pending, coded, failed, confirmed, corrected or manual.")
@click.option("--record", default=None, help="Only this record (discharge homepage) id.")
@limit_option
@db_option
@json_option
def list_cmd(status: str | None, record: str | None, limit: int | None, db_url: str | None, as_json: bool) -> None:
    """List diagnoses with their status and code."""
    rows = list_diagnoses(open_db(db_url), status=status, record=record, limit=limit)
    if as_json:
        echo_json([{k: r[k] for k in JSON_KEYS} for r in rows])
        return
    echo_rows(
        columns("id record=record_id seq status code by=coded_by description"),
        rows,
        {"status": lambda r: r["status"] + (f"/{r['fail_reason']}" if r["status"] == "failed" else "")},
    )


COMMANDS = [diagnoses_group]
