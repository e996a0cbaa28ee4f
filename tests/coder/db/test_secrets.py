"""No password in argv in any form, and every printed URL masked (issue #16, item 1)."""

import pytest
from click.testing import CliRunner

from coder.cli import cli
from coder.db.connect import masked, resolve_url
from coder.errors import ConfigError

SECRET = "S3cret-Pa55!"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://postgres:{SECRET}@host/db",
        f"postgresql://postgres@host/db?password={SECRET}",
        f"postgresql+psycopg://postgres@host/db?sslpassword={SECRET}",
        f"oracle+oracledb://coder@dbhost:1521/?service_name=ORCL&wallet_password={SECRET}",
        f"postgresql://postgres@host/db?PWD={SECRET}",
        f"postgresql://postgres@host/db?options=-c%20password%3D{SECRET}",  # a secret inside a value
        f"postgresql://postgres@host/host=h%20password={SECRET}",  # libpq reads such a dbname as conninfo
    ],
)
def test_a_password_in_any_part_of_the_db_option_is_refused(url, monkeypatch):
    monkeypatch.delenv("ICDCODER_DB", raising=False)
    with pytest.raises(ConfigError, match="--db must not contain a password"):
        resolve_url(url)
    for args in (["db", "current", "--db", url], ["db", "upgrade", "--db", url]):
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 1 and "must not contain a password" in r.output
        assert SECRET not in r.output and "S3cret" not in r.output


def test_keys_that_name_files_are_not_secrets(monkeypatch):
    monkeypatch.delenv("ICDCODER_DB", raising=False)
    url = resolve_url("postgresql://coder@host/db?sslkey=/etc/icdcoder/client.key&passfile=/etc/icdcoder/pgpass")
    assert url.query["sslkey"] == "/etc/icdcoder/client.key"


def test_printed_urls_are_masked_in_every_part():
    for url in (
        f"postgresql://postgres@host/db?password={SECRET}&sslmode=require",
        f"postgresql://postgres:{SECRET}@host/db",
    ):
        shown = masked(url)
        assert "S3cret" not in shown and "sslmode=require" in shown or "***" in shown


def test_a_url_from_the_environment_is_used_but_never_printed_with_its_password(monkeypatch, tmp_path):
    # An unreachable server: the error names the database masked, and never the password.
    monkeypatch.setenv("ICDCODER_DB", f"postgresql+psycopg://nobody@127.0.0.1:1/none?password={SECRET}")
    r = CliRunner().invoke(cli, ["db", "current"])
    assert r.exit_code == 1
    assert r.output.startswith("Error: ") and r.output.count("\n") == 1, r.output
    assert "S3cret" not in r.output
