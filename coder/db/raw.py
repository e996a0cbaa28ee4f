"""A large read whose rows are taken from the driver's cursor.

SQLAlchemy's result rows and type processing cost about 2 µs a row, which for a read of tens of
thousands of small rows is several times what the database spends: the whole dictionary at a
run's start takes 90 ms through SQLAlchemy's rows and 20 ms from the cursor. The statement is
still executed by SQLAlchemy (its parameters, its errors, its events); only the rows skip it, so
this is for reads whose values need no conversion (str, int) or one the caller does itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql import Select


def driver_rows(conn: Connection, stmt: Select, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """The statement's rows as the driver returns them, in the connection's transaction."""
    result = conn.execute(stmt, params or {})
    try:
        return result.cursor.fetchall()
    finally:
        result.close()
