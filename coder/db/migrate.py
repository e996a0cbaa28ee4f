"""Schema migrations, run in code: `upgrade_db(engine)` is what `icdcoder db upgrade` calls.

The Alembic Config is built here, not read from alembic.ini, and the scripts are found through
the installed package, so a wheel install migrates as well as a checkout does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

import icdcoder_migrations
from coder.errors import SchemaMigrationFailed, SchemaOutOfDate

from .connect import masked


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(icdcoder_migrations.__file__).parent))
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


class Upgrade(NamedTuple):
    before: str | None  # None: the database had no icdcoder tables
    after: str


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """One transaction for the whole migration, DDL included, so a failure leaves the database at
    the revision it had, with nothing half-made.

    SQLite: Python's sqlite3 module commits each CREATE/ALTER/DROP on its own unless a transaction
    was opened explicitly, so it is opened here. Foreign keys are off while tables are rebuilt
    (Alembic's batch mode copies a table and drops the original, which rows referencing it would
    refuse), checked before the commit, and on again after."""
    with engine.connect() as conn:
        if engine.dialect.name != "sqlite":
            with conn.begin():
                yield conn
            return
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # outside any transaction, or it is ignored
        conn.commit()
        try:
            conn.exec_driver_sql("BEGIN")
            yield conn
            broken = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
            if broken is not None:
                raise SchemaMigrationFailed(f"a migration left table {broken[0]} referencing rows that do not exist")
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()


def upgrade_db(engine: Engine, revision: str = "head") -> Upgrade:
    """Migrate to `revision`, all or nothing."""
    before = current_revision(engine)
    cfg = alembic_config()
    with _migrating(engine) as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return Upgrade(before, current_revision(engine))


def downgrade_db(engine: Engine, revision: str) -> None:
    cfg = alembic_config()
    with _migrating(engine) as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def require_current(engine: Engine) -> None:
    """Refuse to work on a database this version of icdcoder has not migrated."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        state = "has no icdcoder tables" if current is None else f"is at schema revision {current}"
        raise SchemaOutOfDate(
            f"database {masked(engine.url)} {state}; this icdcoder needs {head}. Run: icdcoder db upgrade"
        )
