"""The `icdcoder` command line. Each command is a thin wrapper over one library function.

Exit codes: 0 done (failures to match are normal outcomes), 1 an error the user can fix (the
message says what and where), 2 wrong usage, 75 another coding run holds the lock. Errors that
are not the user's keep their traceback.
"""

from __future__ import annotations

import click

from coder.errors import IcdCoderError

from .. import __version__


class _Group(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except IcdCoderError as exc:
            error = click.ClickException(str(exc))
            error.exit_code = exc.exit_code
            raise error from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="icdcoder")
def cli() -> None:
    """Rule-based regular-expression ICD-10 coding of discharge diagnoses."""


def _register() -> None:
    from . import audit_cmds, db_cmds, demo_cmd, diagnosis_cmds, dict_cmds, norm_cmds, rule_cmds, run_cmds

    for module in (db_cmds, dict_cmds, rule_cmds, norm_cmds, diagnosis_cmds, run_cmds, audit_cmds, demo_cmd):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    cli(prog_name="icdcoder")
