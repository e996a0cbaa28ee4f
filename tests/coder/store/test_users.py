"""Accounts, logins and settings, on a real SQLite file and the real PostgreSQL server."""

import datetime as dt
import os
import subprocess
import sys

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from coder.db.models import app_setting, app_user, utcnow
from coder.errors import IcdCoderError, LoginRefused, NotFound
from coder.services import users as service
from coder.store import users as store
from coder.store.users import Role, allows, lock_period

PW = "correct horse"


@pytest.fixture
def fast_hashing(monkeypatch):
    """Cheap argon2 parameters for the tests that log in many times (the rest use the defaults)."""
    monkeypatch.setattr(service, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    service._dummy_hash.cache_clear()
    yield
    service._dummy_hash.cache_clear()


def _row(engine, name):
    with engine.connect() as conn:
        return conn.execute(select(app_user).where(app_user.c.name == name)).one()


def _expire_lock(engine, name):
    with engine.begin() as conn:
        conn.execute(
            update(app_user).where(app_user.c.name == name).values(locked_until=utcnow() - dt.timedelta(seconds=1))
        )


def _refused(engine, name, password) -> LoginRefused:
    with pytest.raises(LoginRefused) as caught:
        service.authenticate(engine, name, password)
    assert str(caught.value) == "wrong name or password, or the account is locked"
    return caught.value


def _locked_for(engine, name) -> dt.timedelta:
    return _row(engine, name).locked_until - utcnow()


def test_roles_include_the_lower_ones():
    assert [str(r) for r in Role] == ["coder", "author", "admin"]
    assert allows("admin", "author") and allows("admin", "coder") and allows(Role.ADMIN, Role.ADMIN)
    assert allows("author", "coder") and allows("author", "author") and not allows("author", "admin")
    assert allows("coder", "coder") and not allows("coder", "author") and not allows("coder", "admin")
    assert not allows("guest", "coder")
    # the table's check holds exactly these roles
    check = next(c for c in app_user.constraints if str(getattr(c, "sqltext", "")).startswith("role IN"))
    assert str(check.sqltext) == "role IN (" + ", ".join(f"'{r}'" for r in Role) + ")"


def test_a_password_is_stored_as_an_argon2_hash_and_a_login_returns_the_user(engine):
    user = service.add_user(engine, " 王芳 ", "author", PW)
    assert (user.name, user.role, user.enabled, user.last_login_at) == ("王芳", "author", True, None)
    row = _row(engine, "王芳")
    assert row.password_hash.startswith("$argon2id$") and PW not in row.password_hash
    assert row.failed_logins == 0 and row.locked_until is None
    before = utcnow()
    logged_in = service.authenticate(engine, "王芳", PW)
    assert logged_in.name == "王芳" and logged_in.role == Role.AUTHOR
    assert logged_in.last_login_at >= before.replace(microsecond=0) - dt.timedelta(seconds=1)
    assert "password_hash" not in logged_in.to_dict() and PW not in repr(logged_in)
    assert service.get_user(engine, "王芳") == logged_in


def test_every_refusal_says_the_same_and_keeps_the_reason_for_the_log(engine, fast_hashing):
    service.add_user(engine, "li", "coder", PW)
    service.add_user(engine, "off", "coder", PW)
    service.disable_user(engine, "off")
    assert _refused(engine, "li", "wrong password").reason == "wrong_password"
    assert _refused(engine, "nobody", PW).reason == "unknown_user"
    assert _refused(engine, "", PW).reason == "unknown_user"
    assert _refused(engine, "off", PW).reason == "disabled"
    for _ in range(4):
        _refused(engine, "li", "wrong password")
    locked = _refused(engine, "li", PW)
    assert locked.reason == "locked" and locked.name == "li"
    assert locked.reason in LoginRefused.REASONS


def test_five_failures_lock_for_a_period_that_doubles_up_to_an_hour(engine, fast_hashing):
    service.add_user(engine, "zhang", "coder", PW)
    for _ in range(4):
        assert _refused(engine, "zhang", "nope-nope").reason == "wrong_password"
    assert _row(engine, "zhang").locked_until is None and _row(engine, "zhang").failed_logins == 4
    assert service.authenticate(engine, "zhang", PW).name == "zhang"  # a success resets the count
    assert _row(engine, "zhang").failed_logins == 0
    for _ in range(5):
        _refused(engine, "zhang", "nope-nope")
    assert dt.timedelta(seconds=55) < _locked_for(engine, "zhang") <= dt.timedelta(minutes=1)
    # while locked even the right password is refused, and nothing is counted
    assert _refused(engine, "zhang", PW).reason == "locked"
    assert _row(engine, "zhang").failed_logins == 5
    for minutes in (2, 4, 8):
        _expire_lock(engine, "zhang")
        assert _refused(engine, "zhang", "nope-nope").reason == "wrong_password"
        assert dt.timedelta(minutes=minutes, seconds=-5) < _locked_for(engine, "zhang") <= dt.timedelta(minutes=minutes)
    with engine.begin() as conn:
        conn.execute(update(app_user).where(app_user.c.name == "zhang").values(failed_logins=40))
    _expire_lock(engine, "zhang")
    _refused(engine, "zhang", "nope-nope")
    assert dt.timedelta(minutes=59) < _locked_for(engine, "zhang") <= dt.timedelta(minutes=60)
    # once the period has passed the right password works again and the count starts afresh
    _expire_lock(engine, "zhang")
    assert service.authenticate(engine, "zhang", PW).name == "zhang"
    row = _row(engine, "zhang")
    assert (row.failed_logins, row.locked_until) == (0, None) and row.last_login_at is not None


def test_lock_periods():
    assert [lock_period(n) for n in (0, 4)] == [None, None]
    assert [lock_period(n).total_seconds() / 60 for n in (5, 6, 7, 10, 11, 12, 10**6)] == [1, 2, 4, 32, 60, 60, 60]


def test_enabling_or_a_new_password_lifts_a_lock(engine, fast_hashing):
    service.add_user(engine, "wu", "coder", PW)
    for _ in range(5):
        _refused(engine, "wu", "nope-nope")
    service.enable_user(engine, "wu")
    assert service.authenticate(engine, "wu", PW).name == "wu"
    for _ in range(5):
        _refused(engine, "wu", "nope-nope")
    service.change_password(engine, "wu", "another password")
    assert _refused(engine, "wu", PW).reason == "wrong_password"
    assert service.authenticate(engine, "wu", "another password").name == "wu"
    assert _row(engine, "wu").failed_logins == 0


def test_an_old_hash_is_rehashed_at_login(engine):
    service.add_user(engine, "old", "coder", PW)
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PW)
    with engine.begin() as conn:
        conn.execute(update(app_user).where(app_user.c.name == "old").values(password_hash=weak))
    changed_at = _row(engine, "old").password_changed_at
    service.authenticate(engine, "old", PW)
    row = _row(engine, "old")
    assert row.password_hash != weak and not PasswordHasher().check_needs_rehash(row.password_hash)
    assert row.password_changed_at == changed_at
    assert service.authenticate(engine, "old", PW).name == "old"


def test_names_roles_and_passwords_are_checked(engine, fast_hashing):
    for name, said in [
        ("", "needs a name"),
        ("   ", "needs a name"),
        ("x" * 65, "at most 64"),
        ("auto", "icdcoder's own name"),
        ("AUTO", "icdcoder's own name"),
        ("a\tb", "control"),
    ]:
        with pytest.raises(IcdCoderError, match=said):
            service.add_user(engine, name, "coder", PW)
    assert service.add_user(engine, "x" * 64, "coder", PW).name == "x" * 64
    with pytest.raises(IcdCoderError, match="at least 8 characters"):
        service.add_user(engine, "short", "coder", "1234567")
    with pytest.raises(IcdCoderError, match="a role is one of coder, author, admin"):
        service.add_user(engine, "root", "root", PW)
    service.add_user(engine, "dup", "admin", PW)
    with pytest.raises(IcdCoderError, match="there is already a user 'dup'"):
        service.add_user(engine, "dup", "coder", PW)
    with pytest.raises(IcdCoderError, match="at least 8"):
        service.change_password(engine, "dup", "short")
    for act in (service.disable_user, service.enable_user, service.get_user):
        with pytest.raises(NotFound, match="there is no user 'ghost'"):
            act(engine, "ghost")
    with pytest.raises(NotFound):
        service.change_password(engine, "ghost", PW)
    assert [u.name for u in service.list_users(engine)] == sorted(["x" * 64, "dup"])


def test_settings_get_or_create_and_set(engine):
    with engine.begin() as conn:
        assert store.setting(conn, "missing") is None
        assert store.setting(conn, "colour", lambda: "blue") == "blue"
        assert store.setting(conn, "colour", lambda: "red") == "blue"
        store.set_setting(conn, "colour", "green")
        store.set_setting(conn, "size", "large")
    with engine.connect() as conn:
        assert dict(conn.execute(select(app_setting.c.name, app_setting.c.value)).all()) == {
            "colour": "green",
            "size": "large",
        }
        with pytest.raises(ValueError):
            store.set_setting(conn, "empty", "")


def test_a_setting_made_by_another_process_meanwhile_wins(engine):
    """The race: another connection stores the setting between our read and our insert."""

    def racing_factory():
        with engine.begin() as other:
            store.set_setting(other, "web_secret", "theirs")
        return "ours"

    with engine.begin() as conn:
        assert store.setting(conn, "web_secret", racing_factory) == "theirs"
        store.set_setting(conn, "after", "the transaction still works")
    with engine.connect() as conn:
        assert store.setting(conn, "after") == "the transaction still works"
    assert service.web_secret(engine) == "theirs"


def test_the_web_secret_is_the_same_in_every_call_and_process(engine, db_url):
    code = "from coder.db.connect import make_engine; from coder.services.users import web_secret; import os; " + (
        "print(web_secret(make_engine(os.environ['ICDCODER_DB'])))"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            env={**os.environ, "ICDCODER_DB": db_url},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    secrets = {out.strip() for out, _ in outputs}
    assert len(secrets) == 1
    (secret,) = secrets
    assert len(secret) == 64 and int(secret, 16) >= 0
    assert service.web_secret(engine) == secret == service.web_secret(engine)


def test_every_login_checks_one_hash_so_an_unknown_name_takes_as_long(engine, fast_hashing, monkeypatch):
    service.add_user(engine, "known", "coder", PW)
    service.add_user(engine, "off", "coder", PW)
    service.disable_user(engine, "off")
    checked = []
    real = service._verify
    monkeypatch.setattr(service, "_verify", lambda h, p: checked.append(h.startswith("$argon2")) or real(h, p))
    for name, password in [("ghost", PW), ("off", PW), ("known", "nope-nope"), ("known", PW)]:
        checked.clear()
        try:
            service.authenticate(engine, name, password)
        except LoginRefused:
            pass
        assert checked == [True], name
