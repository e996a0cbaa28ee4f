"""Schema migrations, run in code: `upgrade_db(engine)` is what `icdcoder db upgrade` calls.

The Alembic Config is built here, not read from alembic.ini, and the scripts are found through
the installed package, so a wheel install migrates as well as a checkout does.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

import icdcoder_migrations
from coder.errors import SchemaOutOfDate

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


def upgrade_db(engine: Engine, revision: str = "head") -> Upgrade:
    """Migrate to `revision`."""
    before = current_revision(engine)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return Upgrade(before, current_revision(engine))


def downgrade_db(engine: Engine, revision: str) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
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
