"""Every command has help text and is named in the README, so a user finds each one."""

import re
from pathlib import Path

import click

from coder.cli import cli

README = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "icdcoder"):
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        yield path, command
        if isinstance(command, click.Group):
            yield from _commands(command, path)


def test_every_command_has_help_and_is_named_in_the_readme():
    commands = list(_commands(cli))
    assert len(commands) > 30
    for path, command in commands:
        assert (command.help or "").strip(), f"{path} has no help text"
        if isinstance(command, click.Group):
            continue
        *group, name = path.split()
        # "icdcoder rules add", or a table row naming its group's other commands: "`icdcoder rules disable ID` / `enable ID`"
        rows = [line for line in README.splitlines() if " ".join(group) in line]
        short = " ".join([*group[1:], name])
        named = any(re.search(rf"{re.escape(path)}\b|`({re.escape(short)}|{re.escape(name)})\b", line) for line in rows)
        assert named, f"{path} is not named in README.md"


def test_every_choice_is_the_text_users_type():
    # click shows and matches an Enum member by its name (NO_MATCH), not the text every output prints
    for path, command in _commands(cli):
        for p in command.params:
            if isinstance(p.type, click.Choice):
                assert all(type(c) is str for c in p.type.choices), f"{path} {p.name}: {p.type.choices}"
