"""`icdcoder settings`: per-database settings (the matching semantics)."""

from __future__ import annotations

import click

from coder.services.settings import change_setting, show_settings

from .options import db_option, echo_json, json_option, open_db


@click.group("settings")
def settings_group() -> None:
    """Per-database settings: `matching` spans (default: several diagnoses in one line are all
    coded) or strict (the paper's: any two codes are ambiguous)."""


@settings_group.command("show")
@db_option
@json_option
def show_cmd(db_url: str | None, as_json: bool) -> None:
    """Each setting with its value, its choices and what the value means."""
    found = show_settings(open_db(db_url))
    if as_json:
        echo_json([s._asdict() for s in found])
        return
    for s in found:
        click.echo(f"{s.name} = {s.value}  ({' | '.join(s.choices)}): {s.meaning}")


@settings_group.command("set")
@click.argument("name")
@click.argument("value")
@db_option
@json_option
def set_cmd(name: str, value: str, db_url: str | None, as_json: bool) -> None:
    """Set NAME to VALUE. Changing `matching` starts a new rule-base version: the next run tries
    the failed lines again under the new semantics (a person's code is never touched)."""
    done = change_setting(open_db(db_url), name, value)
    if as_json:
        echo_json(done)
    elif done["changed"]:
        click.echo(f"{name} = {value}; the next run retries the failed lines")
    else:
        click.echo(f"{name} is already {value}; nothing changed")


COMMANDS = [settings_group]
