"""icdcoder run / watch / runs / failures: the coding run and its logs."""

from __future__ import annotations

import signal
import threading

import click

from rulebase.engine import DEFAULT_TIMEOUT

from ..services.diagnoses import list_failures, list_runs, show_run
from ..services.run import COUNT_KEYS, ENGINES, RunResult, pending_count, run_coding, run_workers, watch
from ..services.suggestions import add_suggestions, suggestion_line
from .options import (
    ID,
    columns,
    cue_line,
    db_option,
    echo_json,
    echo_rows,
    json_option,
    limit_option,
    open_db,
    progress_bar,
    system_option,
)

RUN_JSON_KEYS = ("run_id", *COUNT_KEYS, "seconds")


batch_size_option = click.option(
    "--batch-size", type=click.IntRange(min=1), default=1000, show_default=True, help="Diagnoses per transaction."
)
timeout_option = click.option(
    "--timeout",
    type=click.FloatRange(min=0.001),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds one pattern may spend on one description.",
)
engine_option = click.option(
    "--engine",
    "engine_name",
    type=click.Choice(ENGINES),
    default="python",
    show_default=True,
    help="python: the indexed engine; sql: the database's own regex operator finds the matches.",
)


@click.command("run")
@batch_size_option
@timeout_option
@engine_option
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


@click.command("watch")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="Seconds between looks for new lines (on PostgreSQL a NOTIFY wakes it sooner: a safety poll there).",
)
@batch_size_option
@timeout_option
@engine_option
@click.option("-v", "--verbose", is_flag=True, help="Print each run's summary line (as `icdcoder run` does).")
@db_option
def watch_cmd(interval: float, batch_size: int, timeout: float, engine_name: str, verbose: bool, db_url: str | None):
    """Code new pending diagnoses within seconds of their arrival, until stopped.

    A service (systemd) rather than a cron job: each time lines wait it starts a coding run, with the
    run's lock, batches, logs and crash safety; an idle watch writes nothing. PostgreSQL wakes it
    by LISTEN/NOTIFY, SQLite and Oracle are polled every --interval. While another run holds the lock
    (cron's `icdcoder run`) it waits. Quiet unless -v; skipped rules are named on stderr once per
    rule-base version.

    SIGTERM or SIGINT stops it after the batch in hand has committed (a second Ctrl-C at once).
    Exit 0 when stopped so; 1 on an error (the database unreachable or lost, the schema not
    migrated), after which a service manager restarts it; the next run codes what was left.
    """
    engine = open_db(db_url)
    warned: set[int] = set()

    def report(result: RunResult) -> None:
        if verbose:
            click.echo(result.summary_line())
        if result.skipped_rules and result.rulebase_version not in warned:
            warned.add(result.rulebase_version)
            click.echo(f"warning: {result.skipped_line()}", err=True)

    stop = threading.Event()

    def on_signal(signum: int, _frame) -> None:
        if signum == signal.SIGINT and stop.is_set():
            raise KeyboardInterrupt  # the second Ctrl-C: now (the run marks itself crashed; nothing is lost)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        watch(
            engine,
            interval=interval,
            batch_size=batch_size,
            timeout=timeout,
            engine_name=engine_name,
            stop=stop,
            on_run=report,
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        engine.dispose()


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
    *columns("considered coded no_match ambiguous invalid=invalid_input timeout too_long uncertain negated"),
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
@click.option(
    "--reason", default=None, help="no_match, ambiguous, invalid_input, timeout, too_long, uncertain or negated."
)
@click.option("--run", "run_id", type=ID, default=None, help="Only failures of this run.")
@system_option
@limit_option
@click.option("--no-suggest", "no_suggest", is_flag=True, help="Skip the suggested codes (they read the history).")
@db_option
@json_option
def failures_list(
    reason: str | None,
    run_id: int | None,
    system: str | None,
    limit: int | None,
    no_suggest: bool,
    db_url: str | None,
    as_json: bool,
) -> None:
    """List failure log rows, oldest first, with the candidate codes of ambiguous ones and up to
    five codes suggested from similar audited descriptions (never applied)."""
    engine = open_db(db_url)
    rows = list_failures(engine, reason=reason, run=run_id, limit=limit, system=system)
    if not no_suggest:
        add_suggestions(engine, rows)
    if as_json:
        echo_json(rows)
        return
    echo_rows(
        columns(
            "diagnosis=diagnosis_id run=run_id reason cue candidates=candidate_rules now=status_now "
            "record=record_id description" + ("" if no_suggest else " suggest=suggestions")
        ),
        rows,
        {
            "cue": lambda r: cue_line(r["cue"]),
            "candidate_rules": _candidate_rules,
            "suggestions": lambda r: suggestion_line(r["suggestions"]),
        },
    )


def _candidate_rules(r) -> str:
    return ", ".join(f"{c['code']} (rule {'/'.join(map(str, c['rule_ids']))})" for c in r["candidate_rules"])


COMMANDS = [run_cmd, watch_cmd, runs_group, failures_group]
