"""Accounts and logins, for `icdcoder users …` and the web workbench.

Passwords are hashed with argon2 (argon2-cffi's PasswordHasher, its default parameters) and never
stored, printed or logged; a login rehashes a password whose hash has older parameters. Logins
are rate-limited in the database, so the limit holds across processes: after
coder.store.users.LOCK_AFTER failures in a row an account is locked for 1 minute, and each further
failure doubles the period (up to 60 minutes). Every refusal raises the same LoginRefused.
"""

from __future__ import annotations

import datetime as dt
import secrets
import unicodedata
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from coder.db.models import PERSON_LENGTH
from coder.errors import IcdCoderError, LoginRefused
from coder.store import users as store
from coder.store.users import Role, User, allows
from rulebase.states import AUTO

__all__ = [
    "MIN_PASSWORD",
    "Role",
    "User",
    "add_user",
    "allows",
    "authenticate",
    "change_password",
    "check_name",
    "check_password",
    "disable_user",
    "enable_user",
    "get_user",
    "list_users",
    "web_secret",
]

MIN_PASSWORD = 8
MAX_PASSWORD = 1024
WEB_SECRET = "web_secret"

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """What an unknown name's password is checked against, so it takes as long as a known one's."""
    return _hasher.hash(secrets.token_hex(16))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_name(name: str) -> str:
    """The account name as stored (trimmed), or a clear refusal: it is the person written into every
    audit and history row, so it fits their column and is never icdcoder's own name `auto`."""
    name = (name or "").strip()
    if not name:
        raise IcdCoderError("a user needs a name")
    if len(name) > PERSON_LENGTH:
        raise IcdCoderError(f"a user's name is at most {PERSON_LENGTH} characters")
    if name.lower() == AUTO:
        raise IcdCoderError(f"{AUTO!r} is icdcoder's own name for the codes a run sets; choose another name")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise IcdCoderError("a user's name cannot hold control or invisible formatting characters")
    return name


def check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise IcdCoderError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise IcdCoderError(f"a password is at most {MAX_PASSWORD} characters")
    return password


def _check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise IcdCoderError(f"a role is one of {', '.join(Role)}, not {role!r}") from None


def add_user(engine: Engine, name: str, role: str, password: str) -> User:
    """A new enabled account; refused when the name is taken."""
    name, role, password = check_name(name), _check_role(role), check_password(password)
    password_hash = _hasher.hash(password)
    taken = IcdCoderError(f"there is already a user {name!r}")
    try:
        with engine.begin() as conn:
            if store.find_user(conn, name) is not None:
                raise taken
            return store.add_user(conn, name, role, password_hash)
    except IntegrityError:  # added by another process meanwhile
        raise taken from None


def get_user(engine: Engine, name: str) -> User:
    with engine.connect() as conn:
        return store.get_user(conn, (name or "").strip())


def list_users(engine: Engine) -> list[User]:
    with engine.connect() as conn:
        return store.list_users(conn)


def _set_enabled(engine: Engine, name: str, enabled: bool) -> User:
    name = (name or "").strip()
    with engine.begin() as conn:
        store.set_enabled(conn, name, enabled)
        return store.get_user(conn, name)


def disable_user(engine: Engine, name: str) -> User:
    """The account can no longer log in; it stays, as do the rows naming its person."""
    return _set_enabled(engine, name, False)


def enable_user(engine: Engine, name: str) -> User:
    """The account can log in again; this also lifts a lock from failed logins."""
    return _set_enabled(engine, name, True)


def change_password(engine: Engine, name: str, password: str) -> None:
    """A new password (also lifts a lock from failed logins)."""
    name = (name or "").strip()
    password_hash = _hasher.hash(check_password(password))
    with engine.begin() as conn:
        store.set_password(conn, name, password_hash)


def authenticate(engine: Engine, name: str, password: str, now: dt.datetime | None = None) -> User:
    """The account of a correct name and password, its failure count reset and last_login_at set.

    Raises LoginRefused, with one message for every cause (an unknown name, a disabled or locked
    account, a wrong password); its `reason` is for the server's log. A password is checked against
    a hash in every case, so an unknown name takes as long as a known one."""
    name = (name or "").strip()
    password = password if isinstance(password, str) else ""
    refused: str | None = None
    user: User | None = None
    with engine.begin() as conn:
        found = store.credentials(conn, name) if name else None
        if found is None or not found.user.enabled or found.user.locked(now):
            _verify(_dummy_hash(), password)
            refused = "unknown_user" if found is None else "disabled" if not found.user.enabled else "locked"
        elif not _verify(found.password_hash, password):
            store.record_login_attempt(conn, found.user.id, False, now)
            refused = "wrong_password"
        else:
            if _hasher.check_needs_rehash(found.password_hash):
                store.set_password(conn, name, _hasher.hash(password), rehash=True)
            store.record_login_attempt(conn, found.user.id, True, now)
            user = store.get_user(conn, name)
    # Raised after the commit, so the failure counted above is kept.
    if refused is not None:
        raise LoginRefused(refused, name)
    return user


def web_secret(engine: Engine) -> str:
    """The web workbench's session secret: made once per database (64 hex digits) and the same in
    every process from then on, also when two processes make it at once."""
    with engine.begin() as conn:
        return store.setting(conn, WEB_SECRET, lambda: secrets.token_hex(32))
