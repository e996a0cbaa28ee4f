"""icdcoder run / runs / failures: the coding run and its logs."""

from __future__ import annotations

import click

from rulebase.engine import DEFAULT_TIMEOUT

from ..services.diagnoses import list_failures, list_runs, show_run
from ..services.run import COUNT_KEYS, ENGINES, pending_count, run_coding, run_workers
from .options import (
    ID,
    columns,
    db_option,
    echo_json,
    echo_rows,
    json_option,
    limit_option,
    open_db,
    progress_bar,
)

RUN_JSON_KEYS = ("run_id", *COUNT_KEYS, "seconds")


@click.command("run")
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=1000, show_default=True, help="Diagnoses per transaction."
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.001),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds one pattern may spend on one description.",
)
@click.option(
    "--engine",
    "engine_name",
    type=click.Choice(ENGINES),
    default="python",
    show_default=True,
    help="python: the indexed engine; sql: the database's own regex operator finds the matches.",
)
@click.option(
    "--shared",
    is_flag=True,
    help="Work as one of several runs sharing the work (PostgreSQL, Oracle; one per machine or more).",
)
@click.option(
    "--workers", type=click.IntRange(min=1), default=None, help="Start N local shared workers (PostgreSQL, Oracle)."
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing when the run succeeds.")
@db_option
@json_option
def run_cmd(
    batch_size: int,
    timeout: float,
    engine_name: str,
    shared: bool,
    workers: int | None,
    quiet: bool,
    db_url: str | None,
    as_json: bool,
) -> None:
    """Code every pending diagnosis (and failures an updated rule base may now code).

    This is the job cron starts (08:00 and 14:30). Exit 0 when the run finished, whatever the
    diagnoses' outcomes; 1 on an error; 75 when another run holds the lock.
    """
    engine = open_db(db_url)
    if workers is not None:
        result = run_workers(engine, workers, batch_size=batch_size, timeout=timeout, engine_name=engine_name)
        if as_json:
            echo_json({k: v for k, v in result.to_json().items() if k in RUN_JSON_KEYS + ("run_ids",)})
        elif not quiet:
            click.echo(result.summary_line())
        if result.skipped_rules:
            click.echo(f"warning: {result.skipped_line()}", err=True)
        return
    update, bar = progress_bar(lambda: pending_count(engine), "coding", quiet or as_json)
    try:
        result = run_coding(
            engine, batch_size=batch_size, timeout=timeout, progress=update, engine_name=engine_name, shared=shared
        )
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    if as_json:
        echo_json({k: v for k, v in result.to_json().items() if k in RUN_JSON_KEYS})
    elif not quiet:
        click.echo(result.summary_line())
    if result.skipped_rules:  # on stderr even with --quiet: cron mails it, and the rules need an author
        click.echo(f"warning: {result.skipped_line()}", err=True)


@click.group("runs")
def runs_group() -> None:
    """Past coding runs."""


# "started (UTC)" and the like: headers with spaces are declared as pairs.
RUN_COLUMNS = [
    ("id", "id"),
    ("status", "status"),
    ("started (UTC)", "started_at"),
    ("ended (UTC)", "ended_at"),
    ("rules v", "rulebase_version"),
    *columns("considered coded no_match ambiguous invalid=invalid_input timeout too_long"),
]


@runs_group.command("list")
@limit_option
@db_option
@json_option
def runs_list(limit: int | None, db_url: str | None, as_json: bool) -> None:
    """List coding runs, newest first."""
    runs = list_runs(open_db(db_url), limit=limit)
    if as_json:
        echo_json(runs)
    else:
        echo_rows(RUN_COLUMNS, runs)


@runs_group.command("show")
@click.argument("run_id", type=ID)
@db_option
@json_option
def runs_show(run_id: int, db_url: str | None, as_json: bool) -> None:
    """Show one run."""
    run = show_run(open_db(db_url), run_id)
    if as_json:
        echo_json(run)
        return
    for k, v in run.items():
        click.echo(f"{k}: {'' if v is None else v}")


@click.group("failures")
def failures_group() -> None:
    """The failure log: diagnoses a run could not code."""


@failures_group.command("list")
@click.option("--reason", default=None, help="no_match, ambiguous, invalid_input, timeout or too_long.")
@click.option("--run", "run_id", type=ID, default=None, help="Only failures of this run.")
@limit_option
@db_option
@json_option
def failures_list(reason: str | None, run_id: int | None, limit: int | None, db_url: str | None, as_json: bool) -> None:
    """List failure log rows, oldest first, with the candidate codes of ambiguous ones."""
    rows = list_failures(open_db(db_url), reason=reason, run=run_id, limit=limit)
    if as_json:
        echo_json(rows)
        return
    echo_rows(
        columns(
            "diagnosis=diagnosis_id run=run_id reason candidates=candidate_rules now=status_now "
            "record=record_id description"
        ),
        rows,
        {"candidate_rules": _candidate_rules},
    )


def _candidate_rules(r) -> str:
    return ", ".join(f"{c['code']} (rule {'/'.join(map(str, c['rule_ids']))})" for c in r["candidate_rules"])


COMMANDS = [run_cmd, runs_group, failures_group]
