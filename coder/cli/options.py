"""Options and output helpers shared by every command, defined once."""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

import click
from sqlalchemy import Engine

from rulebase.codes import SYSTEMS

from ..db.connect import make_engine, resolve_url, sqlite_file
from ..db.migrate import require_current
from ..errors import ConfigError

db_option = click.option(
    "--db",
    "db_url",
    metavar="URL",
    envvar=None,
    default=None,
    help="Database URL (default: $ICDCODER_DB, the config file, else sqlite:///icdcoder.db). "
    "Never put a password here: use $ICDCODER_DB_PASSWORD.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts instead of a table.")
# Ids and whole numbers as the database stores them (a 32-bit INTEGER on PostgreSQL and Oracle):
# a larger one is a usage error naming the option, never a database error.
ID = click.IntRange(1, 2**31 - 1)
WHOLE = click.IntRange(-(2**31), 2**31 - 1)
limit_option = click.option(
    "--limit", type=click.IntRange(1, 2**31 - 1), default=None, help="Show at most N rows (default: all)."
)
dry_run_option = click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
author_option = click.option("--author", required=True, help="Who makes this change (kept in the rule history).")
force_option = click.option(
    "--force",
    is_flag=True,
    help="Apply the change even though it turns correctly coded audited diagnoses wrong or uncoded.",
)
reason_option = click.option("--reason", default=None, help="Why (kept in the rule history; cite audit ids).")


def open_db(db_url: str | None, check_schema: bool = True) -> Engine:
    url = resolve_url(db_url)
    path = sqlite_file(url)
    if check_schema and path is not None and not path.exists():
        # Connecting would create an empty file there, and a mistyped path would look like an empty database.
        raise ConfigError(f"there is no database file {path}; check the path, or create it with: icdcoder db upgrade")
    engine = make_engine(url)
    if check_schema:
        require_current(engine)
    return engine


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Columns aligned for a terminal, counting Chinese characters as two cells wide."""
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([_width(h)] + [_width(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v + " " * (w - _width(v)) for v, w in zip(values, widths, strict=False)).rstrip()

    click.echo(line(headers))
    for r in cells:
        click.echo(line(r))


def progress_bar(count: Callable[[], int], label: str, quiet: bool):
    """A progress callback for a TTY; None when stderr is not a terminal (cron) or --quiet.

    `count` gives the total; it is called only when a bar will be shown (a count is a query).
    """
    if quiet or not sys.stderr.isatty():
        return None, None
    total = count()
    if total == 0:
        return None, None
    bar = click.progressbar(length=total, label=label, file=sys.stderr)
    bar.__enter__()
    state = {"done": 0}

    def update(done: int, _total: int) -> None:
        bar.update(done - state["done"])
        state["done"] = done

    return update, bar


def echo_versioned(fields: dict[str, Any], history: list[dict[str, Any]], show_changes: bool = True) -> None:
    """A rule or normalization entry, then its history a line a version (with what changed)."""
    for k, v in fields.items():
        click.echo(f"{k}: {'' if v is None else v}")
    click.echo("history:")
    for h in history:
        changed = ""
        if show_changes and h["old"] is not None:
            changed = "; ".join(
                f"{k}: {h['old'][k]!r} -> {h['new'][k]!r}" for k in h["new"] if h["old"].get(k) != h["new"][k]
            )
        reason = f" ({h['reason']})" if h["reason"] else ""
        click.echo(
            f"  v{h['version']} {h['action']} by {h['author']} at {h['changed_at']}{reason}"
            + (f"  {changed}" if changed else "")
        )
        for a in h.get("answers", ()):
            click.echo(
                f"      answers audit #{a['audit_id']}: diagnosis {a['diagnosis_id']} {a['action']} "
                f"{a['old_code'] or '-'} -> {a['new_code']} by {a['person']}"
            )


def cue_line(cue: dict[str, Any] | None) -> str:
    """An uncertain or negated line's cue as a column: `疑似 at 0-2 (guard 1)`; empty for others."""
    if cue is None:
        return ""
    guard = f" (guard {cue['guard_id']})" if cue["guard_id"] is not None else ""
    return f"{cue['text']} at {cue['start']}-{cue['end']}{guard}"


def columns(spec: str) -> list[tuple[str, str]]:
    """Table columns declared as "header=key header=key ..." ("key" alone when they are the same)."""
    return [tuple(part.split("=")) if "=" in part else (part, part) for part in spec.split()]


def echo_rows(
    headers_keys: Sequence[tuple[str, str]],
    rows: Sequence[dict[str, Any]],
    shown: dict[str, Callable[[dict[str, Any]], Any]] | None = None,
) -> None:
    """A table of dict rows: each column a key, or (in `shown`) a function of the row."""
    shown = shown or {}
    echo_table(
        [h for h, _ in headers_keys], [[shown[k](r) if k in shown else r[k] for _, k in headers_keys] for r in rows]
    )


def show_command(group: click.Group, argument: str, fetch: Callable, help_text: str, show_changes: bool = True):
    """`GROUP show ID`: a versioned item (rule, normalization entry) and its history, as text or JSON."""

    @group.command("show", help=help_text)
    @click.argument(argument, type=ID)
    @db_option
    @json_option
    def command(db_url: str | None, as_json: bool, **ids: int) -> None:
        item, history = fetch(open_db(db_url), ids[argument])
        if as_json:
            echo_json({**item.to_dict(), "history": history})
            return
        echo_versioned(item.to_dict(), history, show_changes)

    return command


def enabling_commands(
    group: click.Group, argument: str, act: Callable, helps: tuple[str, str], judged: bool = False
) -> None:
    """`GROUP disable ID` and `GROUP enable ID`; `act(db_url, id, enabled, author, reason, force)`.
    judged: the change is tested against the audited history, so --force is offered."""
    for enabled, help_text in zip((False, True), helps, strict=True):

        def command(
            db_url: str | None,
            author: str,
            reason: str | None,
            force: bool = False,
            *,
            _enabled: bool = enabled,
            **ids: int,
        ) -> None:
            act(db_url, ids[argument], _enabled, author, reason, force)

        for option in reversed(
            [
                click.argument(argument, type=ID),
                author_option,
                reason_option,
                *([force_option] if judged else []),
                db_option,
            ]
        ):
            command = option(command)
        group.command("enable" if enabled else "disable", help=help_text)(command)


def system_choice(default: str | None = None, help: str | None = None):  # noqa: A002 - click's name
    """--system, the one option every command that works per code system takes."""
    return click.option(
        "--system",
        type=click.Choice(list(SYSTEMS)),
        default=default,
        show_default=default is not None,
        help=help
        or "Only the lines (and codes, rules) of this code system: icd10 (diagnoses) or icd9cm3 (procedures).",
    )


system_option = system_choice()
