"""Operational errors are one `Error:` line with what to do, never a traceback with data (issue #16, item 7)."""

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from coder.cli import cli
from tests.conftest import SAMPLE


@pytest.fixture
def invoke(migrated_invoke):
    migrated_invoke("dict", "import", str(SAMPLE / "codes.csv"))
    return migrated_invoke


def _one_line(r) -> str:
    assert r.exit_code == 1, r.output
    assert r.output.startswith("Error: ") and r.output.count("\n") == 1 and "Traceback" not in r.output, r.output
    return r.output


def test_names_longer_than_the_database_holds_are_refused_before_it_is_asked(invoke):
    long_name = "王" * 65
    out = _one_line(invoke("rules", "add", "--code", "I10.x00", "--pattern", "高血压", "--author", long_name))
    assert "longer than 64 characters" in out
    invoke("rules", "add", "--code", "I10.x00", "--pattern", "高血压", "--author", "王芳")
    out = _one_line(invoke("normalize", "add", "--find", "梗塞", "--replace", "梗死", "--author", long_name))
    assert "longer than 64 characters" in out


def test_ids_beyond_what_the_database_stores_are_usage_errors(invoke):
    for args in (
        ["rules", "show", "99999999999999999999999"],
        ["audit", "confirm", "3000000000", "--by", "李娜"],
        ["runs", "show", "0"],
    ):
        r = invoke(*args)
        assert r.exit_code == 2 and "is not in the range" in r.output, r.output


def test_arguments_that_are_not_utf8_are_one_error_line(tmp_path):
    env = {**os.environ, "ICDCODER_DB": f"sqlite:///{tmp_path / 'x.db'}"}
    r = subprocess.run(
        [sys.executable, "-m", "coder.cli", "rules", "test", "--pattern", b"\xff\xfe"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 1 and r.stderr == (
        "Error: argument 4 is not valid UTF-8 text (or holds a NUL byte); retype it in a UTF-8 terminal\n"
    )


@pytest.mark.postgres
def test_a_wrong_database_password_is_one_error_line(pg_url, monkeypatch):
    url = make_url(pg_url)
    without = url.render_as_string(hide_password=False).replace(f":{url.password}@", "@", 1)
    monkeypatch.setenv("ICDCODER_DB", without)
    monkeypatch.setenv("ICDCODER_DB_PASSWORD", "not-the-password")
    out = _one_line(CliRunner().invoke(cli, ["runs", "list"]))
    assert "password authentication failed" in out and "ICDCODER_DB_PASSWORD" in out
    assert "not-the-password" not in out


def test_writing_a_workbook_where_it_cannot_go_is_one_error_line(invoke, tmp_path):
    out = _one_line(invoke("rules", "export", str(tmp_path / "no-such-folder" / "rules.xlsx")))
    assert "cannot be written" in out


def test_which_database_errors_are_a_refused_value():
    from sqlalchemy.exc import DatabaseError, OperationalError

    from coder.errors import refused_value

    class Driver(Exception):
        def __init__(self, message, sqlstate=None):
            super().__init__(message)
            self.sqlstate = sqlstate

    assert refused_value(DatabaseError("INSERT", {}, Driver("ORA-12899: value too large for column")))
    assert refused_value(DatabaseError("INSERT", {}, Driver("value too long", sqlstate="22001")))
    assert not refused_value(OperationalError("INSERT", {}, Driver("server closed the connection", "08006")))
    assert not refused_value(DatabaseError("INSERT", {}, Driver("ORA-03113: end-of-file on communication channel")))
