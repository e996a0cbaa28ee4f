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
    """Run the whole product on a bundled sample: migrate, import codes, rules and diagnoses, code them."""
    d = run_demo(path)
    r = d.run
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
    click.echo(
        f"\nLook around:\n  icdcoder failures list --db sqlite:///{d.path}\n"
        f"  icdcoder diagnoses list --status coded --system icd9cm3 --db sqlite:///{d.path}\n"
        f"  icdcoder diagnoses export homepage-coded.xlsx --layout homepage --db sqlite:///{d.path}"
    )


COMMANDS = [demo_cmd]
