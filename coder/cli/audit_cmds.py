"""icdcoder audit ..., rules feedback, report: the audit loop."""

from __future__ import annotations

import click

from rulebase.states import FAILURE_REASONS, ReviewAction

from ..services.audit import (
    GROUPINGS,
    act,
    export_worklist,
    feedback,
    import_worklist,
    queue,
    queue_row,
    report,
    write_feedback_xlsx,
    write_report_xlsx,
)
from ..services.suggestions import add_suggestions, failure_suggestions, suggestion_line
from .edit_cmds import edits_queue_option
from .options import ID, cue_line, db_option, echo_json, echo_table, json_option, limit_option, open_db, system_option
from .rule_cmds import rules_group

by_option = click.option("--by", "person", required=True, metavar="NAME", help="Who reviewed it.")
queue_filters = [
    click.option(
        "--status",
        type=click.Choice(["coded", "failed"]),
        default=None,
        help="Auto-codes to review, or failures to code (default: both).",
    ),
    click.option(
        "--reason",
        type=click.Choice([str(r) for r in FAILURE_REASONS]),
        default=None,
        help="Only failures of this reason.",
    ),
    click.option("--run", "run_id", type=ID, default=None, help="Only what run N coded or failed."),
    system_option,
]


def _filters(f):
    for option in reversed(queue_filters):
        f = option(f)
    return f


@click.group("audit")
def audit_group() -> None:
    """Review auto-codes and failures; a person's code is final."""


no_suggest_option = click.option(
    "--no-suggest", "no_suggest", is_flag=True, help="Skip the suggested codes of failures (they read the history)."
)


@audit_group.command("queue")
@edits_queue_option
@_filters
@limit_option
@no_suggest_option
@db_option
@json_option
def queue_cmd(status, reason, run_id, system, limit, no_suggest, db_url, as_json) -> None:
    """What awaits review, oldest first; failures with up to five codes suggested from similar
    audited descriptions (never applied)."""
    engine = open_db(db_url)
    items = queue(engine, status=status, reason=reason, run=run_id, limit=limit, system=system)
    if not no_suggest:
        add_suggestions(engine, items, only_failed=True)
    if as_json:
        echo_json(items)
        return
    suggest = [] if no_suggest else ["suggest"]
    echo_table(
        ["id", "record", "kind", "description", "normalized", "auto_code", "name", "reason", "candidates", *suggest],
        [
            [
                r[0],
                r[1],
                i["kind"],
                *r[2:-2],
                _reason(i, r[-2]),
                r[-1],
                *([suggestion_line(i["suggestions"])] if suggest else []),
            ]
            for i, r in ((i, queue_row(i)) for i in items)
        ],
    )


def _reason(item, cell):
    """The reason cell, with the cue that stopped an uncertain or negated line: `uncertain: 疑似 at 0-2 (guard 1)`."""
    cue = item.get("cue")
    return f"{cell}: {cue_line(cue)}" if cue else cell


def _echo(outcome) -> None:
    codes = ",".join(outcome.codes) or outcome.code
    click.echo(f"diagnosis {outcome.diagnosis_id}: {outcome.status} {codes} (audit #{outcome.audit_id})")


@audit_group.command("confirm")
@click.argument("diagnosis_id", type=ID)
@by_option
@click.option("--comment", default=None)
@db_option
def confirm_cmd(diagnosis_id, person, comment, db_url) -> None:
    """The auto-code is right."""
    _echo(act(open_db(db_url), diagnosis_id, ReviewAction.CONFIRM, person, remark=comment))


@audit_group.command("correct")
@click.argument("diagnosis_id", type=ID)
@click.option("--code", required=True, help="The right code, or the line's codes: I25.103,I20.000.")
@by_option
@click.option("--comment", default=None)
@db_option
def correct_cmd(diagnosis_id, code, person, comment, db_url) -> None:
    """The auto-code was wrong: set the right one."""
    _echo(act(open_db(db_url), diagnosis_id, ReviewAction.CORRECT, person, code, comment))


@audit_group.command("code")
@click.argument("diagnosis_id", type=ID)
@click.option("--code", required=True, help="The code, or the line's codes: I25.103,I20.000.")
@by_option
@click.option("--comment", default=None)
@db_option
def code_cmd(diagnosis_id, code, person, comment, db_url) -> None:
    """Code a failure (no_match, ambiguous, …) by hand."""
    _echo(act(open_db(db_url), diagnosis_id, ReviewAction.CODE, person, code, comment))


@audit_group.command("export")
@click.argument("path", type=click.Path(dir_okay=False))
@_filters
@limit_option
@no_suggest_option
@db_option
def export_cmd(path, status, reason, run_id, system, limit, no_suggest, db_url) -> None:
    """Write the queue as an .xlsx worklist with a decision column to fill in; failures' suggested
    codes are offered in correct_code's drop-down."""
    engine = open_db(db_url)
    suggest = None if no_suggest else failure_suggestions(engine)
    n = export_worklist(engine, path, suggest, status=status, reason=reason, run=run_id, limit=limit, system=system)
    click.echo(f"{n} diagnoses written to {path}")


@audit_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@by_option
@db_option
@json_option
def import_cmd(path, person, db_url, as_json) -> None:
    """Apply a filled-in worklist, all or nothing."""
    s = import_worklist(open_db(db_url), path, person).summary()
    if as_json:
        echo_json(s)
        return
    click.echo(
        f"worklist: {s['confirm']} confirmed, {s['correct']} corrected, {s['code']} coded, "
        f"{s['unchanged']} unchanged, {s['skipped']} without a decision"
    )


@rules_group.command("feedback")
@click.option("--since", default=None, metavar="YYYY-MM-DD", help="Only reviews from this day on.")
@click.option("--xlsx", "xlsx_path", default=None, type=click.Path(dir_okay=False), help="Also write a workbook.")
@system_option
@db_option
@json_option
def feedback_cmd(since, xlsx_path, system, db_url, as_json) -> None:
    """What the coders' reviews say about the rules: corrections, rules to write, collisions."""
    data = feedback(open_db(db_url), since, system)
    if xlsx_path:
        write_feedback_xlsx(data, xlsx_path)
    if as_json:
        echo_json(data)
        return
    click.echo("Rules ranked by corrections:")
    for c in data["corrections"]:
        changes = ", ".join(f"{x['wrong']} -> {x['right']} x{x['count']}" for x in c["changes"])
        answered = (
            "; answered by " + ", ".join(f"rule {a['rule_id']} v{a['version']}" for a in c["answered_by"])
            if c["answered_by"]
            else ""
        )
        click.echo(
            f"  rule {c['rule_id']} ({c['code']} {c['pattern']}): {c['corrections']} corrected ({changes}); "
            f"e.g. {' | '.join(c['examples'])}; audit {', '.join(f'#{i}' for i in c['audit_ids'])}{answered}"
        )
    click.echo("No rule matched, coded by hand (rules to write next):")
    for g in data["no_match"]:
        codes = ", ".join(f"{c['code']} x{c['count']}" for c in g["codes"])
        click.echo(f"  {g['count']:>4}  {g['normalized']}  -> {codes}")
    click.echo("Rules that collide (ambiguous, coded by hand):")
    for g in data["ambiguous"]:
        chosen = ", ".join(f"{c['code']} x{c['count']}" for c in g["chosen"])
        click.echo(
            f"  {g['count']:>4}  rules {g['rules'][0]} ({g['codes'][0]}) and {g['rules'][1]} "
            f"({g['codes'][1]}) -> chosen {chosen}; e.g. {' | '.join(g['examples'])}"
        )
    if xlsx_path:
        click.echo(f"written to {xlsx_path}")


def _pct(v) -> str:
    return "-" if v is None else f"{v:.1%}"


@click.command("report")
@click.option("--from", "date_from", default=None, metavar="YYYY-MM-DD")
@click.option("--to", "date_to", default=None, metavar="YYYY-MM-DD", help="Inclusive.")
@click.option("--by", "by", type=click.Choice(GROUPINGS), multiple=True, help="Group by month, chapter or code.")
@click.option(
    "--xlsx",
    "xlsx_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Also write a workbook: one sheet per grouping and the monthly chart.",
)
@system_option
@db_option
@json_option
def report_cmd(date_from, date_to, by, xlsx_path, system, db_url, as_json) -> None:
    """Precision, recall, F-measure, accuracy and coverage over audited diagnoses (README: Reports)."""
    engine = open_db(db_url)
    data = report(engine, date_from, date_to, tuple(by), system)
    if xlsx_path:
        write_report_xlsx(report(engine, date_from, date_to, GROUPINGS, system, records_by_month=False), xlsx_path)
    if as_json:
        echo_json(data)
        return
    click.echo(f"audited codes {data['total']}: TP {data['tp']}, FP {data['fp']}, FN {data['fn']}, TN {data['tn']}")
    click.echo(
        f"precision {_pct(data['precision'])}, recall {_pct(data['recall'])}, F {_pct(data['f_measure'])}, "
        f"accuracy {_pct(data['accuracy'])}, coverage {_pct(data['coverage'])}, "
        f"auto-codes confirmed (coder time saved) {data['time_saved']}"
    )
    rec = data["records"]
    click.echo(
        f"records: {rec['count']}, code set exactly right {rec['exact']} ({_pct(rec['exact_share'])}); "
        f"micro precision {_pct(rec['precision'])}, recall {_pct(rec['recall'])}, F1 {_pct(rec['f1'])}; "
        f"macro precision {_pct(rec['macro_precision'])}, recall {_pct(rec['macro_recall'])}, "
        f"F1 {_pct(rec['macro_f1'])}"
    )
    marks = data["code_edits"]
    kinds = ", ".join(f"{k} {n}" for k, n in marks["by_kind"].items())
    click.echo(f"lines with code edits {marks['lines']}" + (f" ({kinds})" if kinds else ""))
    for g in by:
        rows = data[f"by_{g}"]
        monthly = g == "month"  # the records of each month beside its lines
        echo_table(
            [g, "TP", "FP", "FN", "TN", "P", "R", "F", "A", "coverage"]
            + (["records", "exact", "record P", "record R", "record F1"] if monthly else []),
            [
                [
                    r[g],
                    r["tp"],
                    r["fp"],
                    r["fn"],
                    r["tn"],
                    _pct(r["precision"]),
                    _pct(r["recall"]),
                    _pct(r["f_measure"]),
                    _pct(r["accuracy"]),
                    _pct(r["coverage"]),
                ]
                + (
                    [
                        r["records"]["count"],
                        _pct(r["records"]["exact_share"]),
                        _pct(r["records"]["precision"]),
                        _pct(r["records"]["recall"]),
                        _pct(r["records"]["f1"]),
                    ]
                    if monthly
                    else []
                )
                for r in rows
            ],
        )
    if xlsx_path:
        click.echo(f"written to {xlsx_path}")


COMMANDS = [audit_group, report_cmd]
