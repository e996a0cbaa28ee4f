"""Where the database is, and how to connect to it.

The URL comes from `--db`, else ICDCODER_DB, else the config file, else sqlite:///icdcoder.db.
A password never comes from the command line (it would show in `ps` and shell history): it
comes from ICDCODER_DB_PASSWORD, from ICDCODER_DB, or from the config file, and it is masked
wherever a URL is shown.
"""

from __future__ import annotations

import os
import re
import sqlite3
import tomllib
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from coder.errors import ConfigError

DEFAULT_URL = "sqlite:///icdcoder.db"
ENV_URL = "ICDCODER_DB"
ENV_PASSWORD = "ICDCODER_DB_PASSWORD"
ENV_CONFIG = "ICDCODER_CONFIG"
DEFAULT_CONFIG = "icdcoder.toml"
DRIVER_EXTRAS = {"postgresql": "postgresql", "oracle": "oracle"}  # URL driver name -> the extra that installs it


def _config() -> dict:
    path = os.environ.get(ENV_CONFIG)
    candidate = Path(path) if path else Path(DEFAULT_CONFIG)
    if not candidate.exists():
        if path:
            raise ConfigError(f"config file {path} (from {ENV_CONFIG}) does not exist")
        return {}
    try:
        with candidate.open("rb") as f:
            return tomllib.load(f).get("database", {})
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {candidate}: {exc}") from None


def _parse(text: str, source: str) -> URL:
    try:
        return make_url(text)
    except ArgumentError:
        raise ConfigError(
            f"{source}: not a database URL (expected e.g. sqlite:///icdcoder.db or postgresql+psycopg://user@host/db)"
        ) from None


# Query-string keys that carry a secret, whatever the driver calls it (password, passwd, pwd,
# sslpassword, wallet_password, token, ...): never taken from argv, always masked when shown.
_SECRET = re.compile(r"password|passwd|pwd|secret|token", re.IGNORECASE)
# A value can carry one too: libpq reads "options=-c password=..." or a dbname holding "host=h password=x".
_SECRET_VALUE = re.compile(r"(password|passwd|pwd)\s*=", re.IGNORECASE)


def secret_keys(url: URL) -> list[str]:
    """Query keys whose value is, or holds, a secret (sslkey and passfile name files: not secrets)."""
    out = []
    for k, v in url.query.items():
        values = v if isinstance(v, tuple) else (v,)
        if _SECRET.search(k) or any(_SECRET_VALUE.search(x) for x in values):
            out.append(k)
    return out


def resolve_url(cli_url: str | None = None) -> URL:
    """The database URL to use, with the password filled in from the environment or config."""
    config = _config()
    if cli_url:
        url = _parse(cli_url, "--db")
        if url.password or secret_keys(url) or _SECRET_VALUE.search(url.database or ""):
            raise ConfigError(
                f"--db must not contain a password (it would be visible to other users); "
                f"set {ENV_PASSWORD} or put the URL in {ENV_URL} or the config file"
            )
    elif os.environ.get(ENV_URL):
        url = _parse(os.environ[ENV_URL], ENV_URL)
    elif config.get("url"):
        url = _parse(config["url"], "config file [database] url")
    else:
        url = make_url(DEFAULT_URL)
    if url.password is None and not url.drivername.startswith("sqlite"):
        password = os.environ.get(ENV_PASSWORD) or config.get("password")
        if password:
            url = url.set(password=password)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    elif url.drivername == "oracle":
        url = url.set(drivername="oracle+oracledb")
    return url


def sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory ones)."""
    if not url.drivername.startswith("sqlite"):
        return None
    database = url.database or ""
    if not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return Path(database[5:].split("?")[0])
    return Path(database).expanduser()


def masked(url: URL | str) -> str:
    """The URL as it may be shown in a message or a log."""
    if isinstance(url, str):
        url = make_url(url)
    hidden = secret_keys(url)
    if hidden:
        url = url.update_query_dict({k: "***" for k in hidden})
    return url.render_as_string(hide_password=True)


# SQLAlchemy's SQLite compiler drops a table hint without a word (`with_hint(..., "sqlite")` renders
# nothing), so an index a query names (`report.classify_query`) was never used; SQLite takes `INDEXED BY` right
# after the table's name, where a from-hint goes. Only statements that carry a SQLite hint change.
if "get_from_hint_text" not in SQLiteCompiler.__dict__:
    SQLiteCompiler.get_from_hint_text = lambda self, table, text: text


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Our REGEXP replaces the one SQLAlchemy registers (Python's re, no timeout): the portable
    # dialect is matched by the regex package with a timeout, as in the Python engine.
    from .sqlite_regexp import Regexp, install

    install(dbapi_connection, Regexp())
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    # Wait for a concurrent writer (a run, an import, a coder's audit) instead of failing at once.
    cur.execute("PRAGMA busy_timeout=30000")
    try:
        cur.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError:
        pass  # a read-only file keeps its journal mode: reading works, a write says the file is read-only
    # In WAL mode NORMAL syncs at checkpoints, not at every commit. A killed process loses nothing
    # committed; a power cut may undo the last commits, each whole (a batch is then pending again).
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: URL | str) -> Engine:
    if isinstance(url, str):
        url = _parse(url, "database URL")
    kwargs = {}
    if url.drivername.startswith("sqlite"):
        database = url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            parent = Path(database).expanduser().resolve().parent
            if not parent.exists():
                raise ConfigError(f"cannot create the SQLite file {database}: folder {parent} does not exist")
    try:
        # hide_parameters: an error's message never carries the values of a statement (patient text).
        engine = create_engine(url, hide_parameters=True, **kwargs)
    except ModuleNotFoundError as exc:
        extra = next((e for key, e in DRIVER_EXTRAS.items() if key in url.drivername), None)
        hint = f'; install it with: pip install "icdcoder[{extra}]"' if extra else ""
        raise ConfigError(f"cannot use database {masked(url)}: its driver is not installed ({exc}){hint}") from None
    except ArgumentError as exc:
        raise ConfigError(f"cannot use database {masked(url)}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine
