"""Accounts (app_user) and per-database settings (app_setting) in the database.

Passwords arrive here already hashed (coder.services.users hashes and verifies them); nothing in
this module ever sees a password. Every function takes an open Connection and leaves the
transaction to the caller.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import nullcontext
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from coder.db.models import app_setting, app_user, utcnow
from coder.errors import NotFound


class Role(StrEnum):
    """What a person may do: coders review; authors also change rules, normalization, guards and
    combinations; admins also manage users. Each role includes the ones before it."""

    CODER = "coder"
    AUTHOR = "author"
    ADMIN = "admin"


_RANK = {Role.CODER: 0, Role.AUTHOR: 1, Role.ADMIN: 2}


def allows(role: str, needed: str) -> bool:
    """Whether a person of `role` may do what needs `needed` (admin ⊇ author ⊇ coder).
    An unknown role allows nothing; an unknown `needed` is a bug (ValueError)."""
    try:
        have = _RANK[Role(role)]
    except ValueError:
        return False
    return have >= _RANK[Role(needed)]


# After this many failed logins in a row an account is locked: 1 minute, then each further failure
# (once the lock has passed) doubles the period, up to LOCK_MAX.
LOCK_AFTER = 5
LOCK_FIRST = dt.timedelta(minutes=1)
LOCK_MAX = dt.timedelta(minutes=60)


def lock_period(failed_logins: int) -> dt.timedelta | None:
    """How long an account is locked after its failed_logins-th failure in a row (None: not locked)."""
    if failed_logins < LOCK_AFTER:
        return None
    return min(LOCK_FIRST * 2 ** min(failed_logins - LOCK_AFTER, 16), LOCK_MAX)


class User(NamedTuple):
    """An account as the rest of the application sees it: never its password hash."""

    id: int
    name: str
    role: str
    enabled: bool
    last_login_at: dt.datetime | None
    created_at: dt.datetime | None = None
    locked_until: dt.datetime | None = None

    def locked(self, now: dt.datetime | None = None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or utcnow())

    def to_dict(self) -> dict[str, Any]:
        return {
            k: (v.isoformat(sep=" ", timespec="seconds") if isinstance(v, dt.datetime) else v)
            for k, v in self._asdict().items()
        }


class Credentials(NamedTuple):
    """What a login is checked against (for coder.services.users only)."""

    user: User
    password_hash: str
    failed_logins: int


_USER_COLUMNS = (
    app_user.c.id,
    app_user.c.name,
    app_user.c.role,
    app_user.c.enabled,
    app_user.c.last_login_at,
    app_user.c.created_at,
    app_user.c.locked_until,
)


def _user(row) -> User:
    return User(*row[: len(_USER_COLUMNS)])


def add_user(conn: Connection, name: str, role: str, password_hash: str) -> User:
    """A new enabled account; NotFound never, IntegrityError when the name is taken."""
    now = utcnow()
    conn.execute(
        app_user.insert().values(
            name=name,
            role=str(Role(role)),
            password_hash=password_hash,
            enabled=True,
            created_at=now,
            password_changed_at=now,
            failed_logins=0,
        )
    )
    return get_user(conn, name)


def find_user(conn: Connection, name: str) -> User | None:
    row = conn.execute(select(*_USER_COLUMNS).where(app_user.c.name == name)).first()
    return None if row is None else _user(row)


def get_user(conn: Connection, name: str) -> User:
    user = find_user(conn, name)
    if user is None:
        raise NotFound(f"there is no user {name!r} (see: icdcoder users list)")
    return user


def list_users(conn: Connection) -> list[User]:
    return [_user(r) for r in conn.execute(select(*_USER_COLUMNS).order_by(app_user.c.name))]


def credentials(conn: Connection, name: str) -> Credentials | None:
    """The account with its hash and failure count, its row locked until the transaction ends (so
    concurrent logins of one name count every failure); None for an unknown name."""
    row = conn.execute(
        select(*_USER_COLUMNS, app_user.c.password_hash, app_user.c.failed_logins)
        .where(app_user.c.name == name)
        .with_for_update()
    ).first()
    if row is None:
        return None
    return Credentials(_user(row), row.password_hash, row.failed_logins)


def _update(conn: Connection, name: str, **values: Any) -> None:
    if conn.execute(update(app_user).where(app_user.c.name == name).values(**values)).rowcount == 0:
        raise NotFound(f"there is no user {name!r} (see: icdcoder users list)")


def set_enabled(conn: Connection, name: str, enabled: bool) -> None:
    """Disable or enable an account; enabling also lifts a lock from failed logins."""
    values: dict[str, Any] = {"enabled": enabled}
    if enabled:
        values.update(failed_logins=0, locked_until=None)
    _update(conn, name, **values)


def set_password(conn: Connection, name: str, password_hash: str, rehash: bool = False) -> None:
    """A new password hash. A changed password also lifts a lock from failed logins; `rehash`
    stores the same password hashed with newer parameters, which changes nothing else."""
    if rehash:
        _update(conn, name, password_hash=password_hash)
        return
    _update(conn, name, password_hash=password_hash, password_changed_at=utcnow(), failed_logins=0, locked_until=None)


def record_login_attempt(
    conn: Connection, user_id: int, succeeded: bool, now: dt.datetime | None = None
) -> dt.datetime | None:
    """Count a login attempt checked against the password: a success resets the count and sets
    last_login_at; a failure adds one (in the database, so every process counts) and, from the
    LOCK_AFTER-th failure in a row on, locks the account (lock_period). Returns locked_until."""
    now = now or utcnow()
    c = app_user.c
    if succeeded:
        conn.execute(
            update(app_user).where(c.id == user_id).values(failed_logins=0, locked_until=None, last_login_at=now)
        )
        return None
    conn.execute(update(app_user).where(c.id == user_id).values(failed_logins=c.failed_logins + 1))
    failed = conn.execute(select(c.failed_logins).where(c.id == user_id)).scalar_one()
    period = lock_period(failed)
    if period is None:
        return None
    conn.execute(update(app_user).where(c.id == user_id).values(locked_until=now + period))
    return now + period


# Settings ---------------------------------------------------------------------------------------

SETTING_LENGTH = 1000


def setting(conn: Connection, name: str, default_factory: Callable[[], str] | None = None) -> str | None:
    """A setting's value; when it is missing, None, or with `default_factory` the value it makes,
    stored. Two processes creating one setting at once both get the value stored first: the insert
    of the second fails on the primary key and it reads the first's value."""
    found = _read_setting(conn, name)
    if found is not None or default_factory is None:
        return found
    value = _checked(name, default_factory())
    # A failed statement aborts a PostgreSQL (or Oracle) transaction's further work unless it ran in
    # a savepoint; SQLite undoes only the statement (and pysqlite's savepoints are unreliable).
    savepoint = nullcontext() if conn.dialect.name == "sqlite" else conn.begin_nested()
    try:
        with savepoint:
            conn.execute(app_setting.insert().values(name=name, value=value, changed_at=utcnow()))
    except IntegrityError:
        stored = _read_setting(conn, name)
        if stored is None:
            raise
        return stored
    return value


def set_setting(conn: Connection, name: str, value: str) -> None:
    value = _checked(name, value)
    now = utcnow()
    done = conn.execute(update(app_setting).where(app_setting.c.name == name).values(value=value, changed_at=now))
    if done.rowcount == 0:
        conn.execute(app_setting.insert().values(name=name, value=value, changed_at=now))


def _read_setting(conn: Connection, name: str) -> str | None:
    return conn.execute(select(app_setting.c.value).where(app_setting.c.name == name)).scalar_one_or_none()


def _checked(name: str, value: str) -> str:
    if not isinstance(value, str) or not value or len(value) > SETTING_LENGTH:
        raise ValueError(f"setting {name!r}: a value is 1 to {SETTING_LENGTH} characters of text")
    return value
