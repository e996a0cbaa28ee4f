"""Fixtures for the command-line tests of the coder package."""

import pytest
from click.testing import CliRunner

from coder.cli import cli


@pytest.fixture
def cli_invoke(db_url, monkeypatch):
    """Run icdcoder as a user would, against the test database (its URL in ICDCODER_DB, never argv)."""
    monkeypatch.setenv("ICDCODER_DB", db_url)
    runner = CliRunner()

    def run(*args):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return run


@pytest.fixture
def migrated_invoke(cli_invoke):
    cli_invoke("db", "upgrade")
    return cli_invoke
