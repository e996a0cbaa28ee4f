"""icdcoder users ...: accounts from the command line; a password never in argv or in the output."""

import json

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from sqlalchemy import select

from coder.cli import cli
from coder.db.connect import make_engine
from coder.db.models import app_user
from coder.errors import LoginRefused
from coder.services import users as service

PW = "s3cret-enough"


@pytest.fixture
def invoke(migrated_invoke, monkeypatch):
    monkeypatch.setattr(service, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))

    def run(*args, input=None):
        return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)

    return run


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def test_add_from_stdin_and_log_in(invoke, engine):
    r = invoke("users", "add", "王芳", "--role", "author", "--password-stdin", input=PW + "\n")
    assert (r.exit_code, r.output) == (0, "user 王芳 added (author)\n")
    assert service.authenticate(engine, "王芳", PW).role == "author"
    with engine.connect() as conn:
        assert conn.execute(select(app_user.c.password_hash)).scalar_one().startswith("$argon2")
    # a Windows line end is not part of the password
    invoke("users", "add", "li", "--role", "coder", "--password-stdin", input=PW + "\r\n")
    assert service.authenticate(engine, "li", PW).name == "li"


def test_add_prompts_twice_with_hidden_input(invoke, engine):
    r = invoke("users", "add", "zhang", "--role", "coder", input=f"{PW}\n{PW}\n")
    assert r.exit_code == 0, r.output
    assert PW not in r.output
    assert "Password:" in r.output and "Repeat for confirmation:" in r.output
    assert r.output.endswith("user zhang added (coder)\n")
    assert service.authenticate(engine, "zhang", PW).name == "zhang"
    # a short password and a mismatch are asked again
    r = invoke("users", "add", "wu", "--role", "coder", input=f"short\n{PW}\nother-password\n{PW}\n{PW}\n")
    assert r.exit_code == 0, r.output
    assert "at least 8 characters" in r.output and "do not match" in r.output
    assert PW not in r.output and "other-password" not in r.output
    assert service.authenticate(engine, "wu", PW).name == "wu"


def test_passwd_disable_enable(invoke, engine):
    invoke("users", "add", "chen", "--role", "coder", "--password-stdin", input=PW + "\n")
    r = invoke("users", "passwd", "chen", "--password-stdin", input="brand-new-pass\n")
    assert (r.exit_code, r.output) == (0, "password of chen changed\n")
    with pytest.raises(LoginRefused):
        service.authenticate(engine, "chen", PW)
    assert service.authenticate(engine, "chen", "brand-new-pass").name == "chen"
    r = invoke("users", "passwd", "chen", input="third-password\nthird-password\n")
    assert r.exit_code == 0 and r.output.endswith("password of chen changed\n") and "third-password" not in r.output
    assert (invoke("users", "disable", "chen").output) == "user chen disabled\n"
    with pytest.raises(LoginRefused) as refused:
        service.authenticate(engine, "chen", "third-password")
    assert refused.value.reason == "disabled"
    assert invoke("users", "enable", "chen").output == "user chen enabled\n"
    assert service.authenticate(engine, "chen", "third-password").name == "chen"


def test_list_shows_no_hash(invoke, engine):
    invoke("users", "add", "zhao", "--role", "admin", "--password-stdin", input=PW + "\n")
    invoke("users", "add", "an", "--role", "coder", "--password-stdin", input=PW + "\n")
    invoke("users", "disable", "an")
    service.authenticate(engine, "zhao", PW)
    r = invoke("users", "list", "--json")
    assert r.exit_code == 0 and "argon2" not in r.output and PW not in r.output
    users = json.loads(r.output)
    assert [(u["name"], u["role"], u["enabled"]) for u in users] == [("an", "coder", False), ("zhao", "admin", True)]
    assert set(users[0]) == {"id", "name", "role", "enabled", "last_login_at", "created_at", "locked_until"}
    assert users[0]["last_login_at"] is None and users[1]["last_login_at"] is not None
    lines = invoke("users", "list").output.splitlines()
    assert lines[0].split() == ["name", "role", "enabled", "last_login", "locked_until", "created"]
    assert lines[1].split()[:3] == ["an", "coder", "0"] and lines[2].split()[:3] == ["zhao", "admin", "1"]
    assert "argon2" not in "\n".join(lines)


def test_a_password_cannot_be_given_in_argv(invoke):
    r = invoke("users", "add", "x1", "--role", "coder", "--password", PW)
    assert r.exit_code == 2 and "No such option" in r.output
    r = invoke("users", "add", "x1", PW, "--role", "coder", "--password-stdin", input=PW + "\n")
    assert r.exit_code == 2 and "unexpected extra argument" in r.output.lower()
    r = invoke("users", "passwd", "x1", "--password=" + PW)
    assert r.exit_code == 2 and "No such option" in r.output
    for command in ("add", "passwd"):
        params = {p.name for p in cli.commands["users"].commands[command].params}
        assert "password" not in params


def test_refusals_are_clean_errors(invoke):
    r = invoke("users", "add", "auto", "--role", "coder", "--password-stdin", input=PW + "\n")
    assert (r.exit_code, r.output) == (
        1,
        "Error: 'auto' is icdcoder's own name for the codes a run sets; choose another name\n",
    )
    r = invoke("users", "add", "x2", "--role", "root", "--password-stdin", input=PW + "\n")
    assert r.exit_code == 2 and "'root' is not one of" in r.output
    r = invoke("users", "add", "x2", "--role", "coder", "--password-stdin", input="short\n")
    assert (r.exit_code, r.output) == (1, "Error: a password needs at least 8 characters\n")
    r = invoke("users", "add", "x2", "--role", "coder", "--password-stdin", input="")
    assert (r.exit_code, r.output) == (1, "Error: --password-stdin: no password on stdin (one line is read)\n")
    invoke("users", "add", "x2", "--role", "coder", "--password-stdin", input=PW + "\n")
    r = invoke("users", "add", "x2", "--role", "coder", "--password-stdin", input=PW + "\n")
    assert (r.exit_code, r.output) == (1, "Error: there is already a user 'x2'\n")
    for args in (("disable", "ghost"), ("enable", "ghost"), ("passwd", "ghost", "--password-stdin")):
        r = invoke("users", *args, input=PW + "\n")
        assert (r.exit_code, r.output) == (1, "Error: there is no user 'ghost' (see: icdcoder users list)\n")
