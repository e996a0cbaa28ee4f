"""icdcoder demo."""

from __future__ import annotations

import click

from ..services.demo import run_demo
from .options import echo_json, json_option


@click.command("demo")
@click.option(
    "--path",
    default="icdcoder-demo.db",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The SQLite file to create (a previous demo file there is replaced).",
)
@json_option
def demo_cmd(path: str, as_json: bool) -> None:
    """Run the whole product on a bundled sample: migrate, import codes and rules, a year of audit
    history, today's diagnoses coded by a run, and the workbench's demo accounts."""
    d = run_demo(path)
    r = d.run
    db = f"sqlite:///{d.path}"
    if as_json:
        echo_json(
            {
                "path": str(d.path),
                "codes": d.codes,
                "rules": d.rules,
                "procedure_codes": d.procedure_codes,
                "diagnoses": d.diagnoses,
                "records": d.records,
                "procedures": d.procedures,
                **{k: v for k, v in r.to_json().items() if k != "took_over"},
                "history": d.history.to_json() if d.history else None,
                # demo passwords, shown because the file is a demo (invented data only)
                "users": [{"name": n, "role": role, "password": pw} for n, role, pw in d.users],
                "serve": f"icdcoder serve --db {db}",
            }
        )
        return
    click.echo(f"Demo database: {d.path}")
    click.echo(
        f"Imported {d.codes} codes ({d.procedure_codes} of them ICD-9-CM-3 procedures), {d.rules} rules, and "
        f"{d.diagnoses} lines: a long-layout list (numbered lists split) and a homepage export of {d.records} "
        f"discharges (--layout homepage; {d.procedures} procedure lines); some already coded by a person."
    )
    click.echo(r.summary_line())
    share = f"{100 * r.coded / r.considered:.0f}%" if r.considered else "-"
    click.echo(f"\n  coded          {r.coded:5d}  ({share} of those considered)")
    click.echo(f"  no_match       {r.no_match:5d}  (no rule yet: the rules to write next)")
    click.echo(f"  ambiguous      {r.ambiguous:5d}  (rules for different codes matched: narrow or prioritize)")
    click.echo(f"  invalid_input  {r.invalid_input:5d}  (empty descriptions)")
    for outcome, rows in d.examples.items():
        if rows:
            click.echo(f"\nExamples, {outcome}:")
            for text, code in rows:
                click.echo(f"  {text}  ->  {code}")
    h = d.history
    if h is not None:
        n = h.actions
        click.echo(
            f"\nBefore today: a year of audit history ({h.first} to {h.last}). {h.discharges} discharges, "
            f"{h.lines} lines coded by {h.runs} runs and reviewed by 李娜, 张伟 and 王芳: {n['confirm']} "
            f"confirmed, {n['correct']} corrected, {n['code']} coded by hand; 王芳 made {h.rule_changes} "
            "rule changes answering them (their reasons cite the audit ids), so precision and coverage "
            "rise month by month:"
        )
        click.echo(f"  icdcoder report --by month --from {h.first}-01 --db {db}")
        click.echo(f"  icdcoder rules feedback --db {db}")
        year = h.last[:4]
        click.echo("Learn rules from that history, and see what going live in October would have given:")
        click.echo(f"  icdcoder rules mine --until {year}-09-30 --out mined.xlsx --db {db}")
        click.echo(f"  icdcoder evaluate --split-date {year}-10-01 --mine --db {db}")
    click.echo(
        f"\nLook around:\n  icdcoder failures list --run {r.run_id} --db {db}\n"
        f"  icdcoder diagnoses list --status coded --system icd9cm3 --db {db}\n"
        f"  icdcoder diagnoses export homepage-coded.xlsx --layout homepage --db {db}"
    )
    if d.users:
        click.echo(
            "\nThe workbench in the browser: serve it, open http://127.0.0.1:8080/ and log in with a demo "
            "account.\nThese are demo passwords, printed because this file is a demo holding invented data "
            "only; give real accounts their own (icdcoder users add NAME --role ROLE)."
        )
        width = max(len(n) for n, _, _ in d.users)
        for name, role, password in d.users:
            click.echo(f"  {name}{'  ' * (width - len(name))}  {role:<6}  {password}")
        click.echo(f"  icdcoder serve --db {db}")


COMMANDS = [demo_cmd]
