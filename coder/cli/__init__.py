"""The `icdcoder` command line. Each command is a thin wrapper over one library function.

Exit codes: 0 done (failures to match are normal outcomes), 1 an error the user can fix (the
message says what and where; a database that cannot be reached, written or that refuses a value
included), 2 wrong usage, 75 another coding run holds the lock. Errors that are not the user's
keep their traceback, which carries no statement values (the engine hides them).
"""

from __future__ import annotations

import logging
import sys

import click
from sqlalchemy.exc import DBAPIError

from coder.errors import DatabaseError, IcdCoderError

from .. import __version__


class _Group(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except IcdCoderError as exc:
            raise _clean(exc) from None
        except DBAPIError as exc:
            raise _clean(DatabaseError.from_driver(exc)) from None


def _clean(exc: IcdCoderError) -> click.ClickException:
    error = click.ClickException(str(exc))
    error.exit_code = exc.exit_code
    return error


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="icdcoder")
def cli() -> None:
    """Rule-based regular-expression ICD-10 coding of discharge diagnoses."""


def _register() -> None:
    from . import (
        audit_cmds,
        combination_cmds,
        db_cmds,
        demo_cmd,
        diagnosis_cmds,
        dict_cmds,
        edit_cmds,
        guard_cmds,
        mining_cmds,
        norm_cmds,
        rule_cmds,
        run_cmds,
        settings_cmds,
        user_cmds,
        web_cmds,
    )

    modules = (
        db_cmds,
        dict_cmds,
        rule_cmds,
        norm_cmds,
        guard_cmds,
        combination_cmds,
        edit_cmds,
        diagnosis_cmds,
        run_cmds,
        audit_cmds,
        mining_cmds,
        settings_cmds,
        user_cmds,
        web_cmds,
        demo_cmd,
    )
    for module in modules:
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    # The driver's own warnings (psycopg reports a connection lost mid-pipeline before raising) would
    # print before our one Error: line; the error itself reaches the user through it.
    logging.getLogger("psycopg").addHandler(logging.NullHandler())
    for i, arg in enumerate(sys.argv[1:], start=1):
        # click hands undecodable bytes on as surrogates, which no database can store
        if any("\udc80" <= c <= "\udcff" for c in arg) or "\x00" in arg:
            click.echo(
                f"Error: argument {i} is not valid UTF-8 text (or holds a NUL byte); retype it in a UTF-8 terminal",
                err=True,
            )
            sys.exit(1)
    cli(prog_name="icdcoder")
