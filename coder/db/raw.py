"""A large read handed to the driver as it is.

SQLAlchemy's result rows and type processing cost about 2 µs a row, which for a read of tens of
thousands of small rows is several times what the database spends: the whole dictionary at a
run's start takes 90 ms through SQLAlchemy and 20 ms from the driver's cursor. Only for reads
whose values need no conversion (str, int) or a conversion the caller does itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql import Select


def driver_rows(conn: Connection, stmt: Select) -> list[tuple[Any, ...]]:
    """The statement's rows as the driver returns them, in the connection's transaction."""
    compiled = stmt.compile(dialect=conn.dialect)
    order = compiled.positiontup
    params: Any = dict(compiled.params) if order is None else tuple(compiled.params[k] for k in order)
    cursor = conn.connection.cursor()
    try:
        cursor.execute(compiled.string, params)
        return cursor.fetchall()
    finally:
        cursor.close()
