"""icdcoder rules mine, evaluate: learning from the coded history."""

from __future__ import annotations

import click

from ..services import evaluation as evaluation_service
from ..services import mining as mining_service
from .options import db_option, echo_json, echo_table, json_option, open_db, system_option
from .rule_cmds import rules_group

SHARE = click.FloatRange(0, 1)
LINES = click.IntRange(1, 2**31 - 1)
min_support_option = click.option(
    "--min-support",
    type=LINES,
    default=None,
    help="History lines a proposal must match to be pre-accepted (default: the miner's, 5).",
)
min_precision_option = click.option(
    "--min-precision",
    type=SHARE,
    default=None,
    help="Cross-validated precision a proposal must reach to be pre-accepted (default: the miner's, 0.90).",
)


@rules_group.command("mine")
@click.option("--since", default=None, metavar="YYYY-MM-DD", help="Only history lines dated from this day.")
@click.option("--until", default=None, metavar="YYYY-MM-DD", help="Only lines dated up to this day (inclusive).")
@system_option
@click.option("--code", "code_prefix", default=None, metavar="PREFIX", help="Only history lines whose code starts so.")
@min_support_option
@min_precision_option
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The workbook to write (.xlsx).")
@db_option
@json_option
def mine_cmd(since, until, system, code_prefix, min_support, min_precision, out, db_url, as_json) -> None:
    """Propose rules learned from the audited history, with their evidence, in a workbook to review.

    A line is dated by its homepage's discharge, else by the day a person coded it. Review the
    rules sheet (accept 1 imports a row, 0 skips it), then:
    icdcoder rules import FILE --author NAME --reason WHY. Writes nothing to the database.
    """
    mined = mining_service.mine_rules(
        open_db(db_url),
        out,
        since=since,
        until=until,
        system=system,
        code_prefix=code_prefix,
        min_support=min_support,
        min_precision=min_precision,
    )
    if as_json:
        echo_json({"out": out, **mined.totals(), "proposals": mined.rows})
        return
    t = mined.totals()
    dropped = f" ({t['dropped']} dropped: code not usable in the dictionary)" if t["dropped"] else ""
    click.echo(
        f"read {t['lines']} audited lines ({t['texts']} distinct texts); {t['proposed']} rules proposed, "
        f"{t['accepted']} pre-accepted{dropped}; written to {out}"
    )
    click.echo(f"review it, then: icdcoder rules import {out} --author NAME --reason WHY")


def _pct(v) -> str:
    return "-" if v is None else f"{v:.1%}"


@click.command("evaluate")
@click.option("--split-date", default=None, metavar="YYYY-MM-DD", help="Learn before this day, test from it.")
@click.option(
    "--holdout",
    type=float,
    default=None,
    metavar="FRACTION",
    help="Test on this share of the records (whole homepages), drawn at random; learn on the rest.",
)
@click.option("--mine", "with_mining", is_flag=True, help="Add the rules mined from the learning part.")
@min_precision_option
@min_support_option
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=0, show_default=True, help="For --holdout.")
@system_option
@click.option(
    "--xlsx",
    "xlsx_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Also write a workbook: summary, by_chapter, by_code and errors sheets.",
)
@db_option
@json_option
def evaluate_cmd(
    split_date, holdout, with_mining, min_precision, min_support, seed, system, xlsx_path, db_url, as_json
) -> None:
    """What going live would give: code the audited history after a split as if it were pending.

    The rule set is the current rule base (and with --mine the rules mined from the learning part);
    the test part's lines are decided as a run would and compared with the persons' codes.
    Writes nothing to the database.
    """
    data = evaluation_service.evaluate_history(
        open_db(db_url),
        split_date=split_date,
        holdout=holdout,
        with_mining=with_mining,
        min_precision=min_precision,
        min_support=min_support,
        seed=seed,
        system=system,
    )
    if xlsx_path:
        evaluation_service.write_evaluation_xlsx(data, xlsx_path)
    if as_json:
        echo_json(data)
        return
    for line in summary_lines(data):
        click.echo(line)
    errors = data["errors"]
    if errors:
        shown = errors[:10]
        more = f"; the {len(shown)} most frequent shown, all in --json and --xlsx" if len(errors) > len(shown) else ""
        click.echo(f"errors: {sum(e['count'] for e in errors)} lines, {len(errors)} distinct{more}")
        echo_table(
            ["n", "kind", "description", "person", "engine", "rules"],
            [[e["count"], e["kind"], e["description"], e["person_code"], e["engine"], e["rules"]] for e in shown],
        )
    if xlsx_path:
        click.echo(f"written to {xlsx_path}")


def summary_lines(data: dict) -> list[str]:
    split, rules = data["split"], data["rules"]
    if split["kind"] == "date":
        how = f"split at {split['date']}"
    else:
        how = f"holdout {split['fraction']} (seed {split['seed']})"
    learn, test = data["learning"], data["test"]
    mined = ""
    if rules["mined"] is not None:
        ids = rules["mined_ids"]
        mined = f" + {rules['mined']} mined from the learning part" + (
            f" (ids {ids[0]}-{ids[-1]})" if len(ids) > 1 else f" (id {ids[0]})" if ids else ""
        )
    lines, rec, sug = data["lines"], data["records"], data["suggestions"]
    return [
        f"{how}: learning {learn['lines']} lines ({learn['records']} records), "
        f"test {test['lines']} lines ({test['records']} records)",
        f"rules: {rules['stored']} of the rule base (v{rules['rulebase_version']}){mined}",
        f"lines: TP {lines['tp']}, FP {lines['fp']}, FN {lines['fn']}, TN {lines['tn']}; "
        f"coverage {_pct(lines['coverage'])}, precision {_pct(lines['precision'])}, recall {_pct(lines['recall'])}, "
        f"F {_pct(lines['f_measure'])}, accuracy {_pct(lines['accuracy'])}",
        f"records: {rec['records']}, code sets exactly right {rec['exact']} ({_pct(rec['exact_share'])}); "
        f"micro precision {_pct(rec['precision'])}, recall {_pct(rec['recall'])}, F {_pct(rec['f_measure'])}",
        f"suggestions on {sug['lines']} uncoded lines: P@1 {_pct(sug['p_at_1'])}, P@5 {_pct(sug['p_at_5'])}",
    ]


COMMANDS: list = [evaluate_cmd]  # `rules mine` is on the rules group, registered with it
