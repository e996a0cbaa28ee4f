"""icdcoder users ...: the accounts of the web workbench and their roles.

A password is never an option or an argument (it would show in `ps` and the shell's history): it
is typed twice at a hidden prompt, or read as one line from stdin with --password-stdin.
"""

from __future__ import annotations

import click

from ..errors import IcdCoderError
from ..services import users as service
from .options import columns, db_option, echo_json, echo_rows, json_option, open_db

password_stdin_option = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password as one line from stdin (for scripts) instead of prompting twice.",
)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = click.get_text_stream("stdin").readline()
        password = line.removesuffix("\n").removesuffix("\r")
        if not password:
            raise IcdCoderError("--password-stdin: no password on stdin (one line is read)")
        return service.check_password(password)

    def checked(value: str) -> str:
        try:
            return service.check_password(value)
        except IcdCoderError as exc:
            raise click.UsageError(str(exc)) from None

    return click.prompt("Password", hide_input=True, confirmation_prompt=True, value_proc=checked)


@click.group("users")
def users_group() -> None:
    """Who may log in to the web workbench: coders review; authors also change the rule base;
    admins also manage users."""


@users_group.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice([str(r) for r in service.Role]),
    required=True,
    help="coder: reviews; author: also changes rules, normalization, guards, combinations; admin: also users.",
)
@password_stdin_option
@db_option
def add_cmd(name, role, password_stdin, db_url) -> None:
    """Add an account (NAME is the person named in audit and history rows)."""
    engine = open_db(db_url)
    name = service.check_name(name)  # before the prompt, not after two passwords typed
    user = service.add_user(engine, name, role, _password(password_stdin))
    click.echo(f"user {user.name} added ({user.role})")


_LIST = columns("name role enabled last_login=last_login_at locked_until created=created_at")


@users_group.command("list")
@db_option
@json_option
def list_cmd(db_url, as_json) -> None:
    """The accounts, by name (never their password hashes)."""
    users = [u.to_dict() for u in service.list_users(open_db(db_url))]
    if as_json:
        echo_json(users)
        return
    echo_rows(_LIST, users, {"enabled": lambda r: int(r["enabled"])})


@users_group.command("disable")
@click.argument("name")
@db_option
def disable_cmd(name, db_url) -> None:
    """Stop an account logging in (it stays, as do the rows naming its person)."""
    user = service.disable_user(open_db(db_url), name)
    click.echo(f"user {user.name} disabled")


@users_group.command("enable")
@click.argument("name")
@db_option
def enable_cmd(name, db_url) -> None:
    """Let a disabled account log in again (this also lifts a lock from failed logins)."""
    user = service.enable_user(open_db(db_url), name)
    click.echo(f"user {user.name} enabled")


@users_group.command("passwd")
@click.argument("name")
@password_stdin_option
@db_option
def passwd_cmd(name, password_stdin, db_url) -> None:
    """Set an account's password (this also lifts a lock from failed logins)."""
    engine = open_db(db_url)
    user = service.get_user(engine, name)  # before the prompt
    service.change_password(engine, user.name, _password(password_stdin))
    click.echo(f"password of {user.name} changed")


COMMANDS = [users_group]
