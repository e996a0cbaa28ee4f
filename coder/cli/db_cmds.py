"""icdcoder db ...: schema migrations."""

from __future__ import annotations

import click

from ..db.connect import masked
from ..db.migrate import current_revision, head_revision, upgrade_db
from .options import db_option, open_db


@click.group("db")
def db_group() -> None:
    """Create or migrate the database schema."""


@db_group.command("upgrade")
@db_option
def upgrade(db_url: str | None) -> None:
    """Create the tables, or migrate them to this version of icdcoder."""
    engine = open_db(db_url, check_schema=False)
    before, after = upgrade_db(engine)
    if before == after:
        click.echo(f"{masked(engine.url)}: schema already at {after}")
    else:
        click.echo(f"{masked(engine.url)}: schema upgraded from {before or 'empty'} to {after}")


@db_group.command("current")
@db_option
def current(db_url: str | None) -> None:
    """Show the database's schema revision and the one this icdcoder needs."""
    engine = open_db(db_url, check_schema=False)
    click.echo(
        f"{masked(engine.url)}: schema {current_revision(engine) or 'empty'} (this icdcoder needs {head_revision()})"
    )


COMMANDS = [db_group]
