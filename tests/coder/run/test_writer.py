"""The writer hands its rows to the driver as they are, skipping SQLAlchemy's bind processing:
every column it writes must need no conversion that path skips, on every database."""

import datetime as dt

import pytest
from sqlalchemy import DateTime
from sqlalchemy.dialects import oracle, postgresql, sqlite

from coder.run.writer import WRITES, BatchWriter

DIALECTS = [sqlite.dialect(), postgresql.psycopg.dialect(), oracle.oracledb.dialect()]


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_no_written_column_needs_a_conversion_the_fast_path_skips(dialect):
    for stmt, row in WRITES:
        compiled = stmt.compile(dialect=dialect, for_executemany=True)
        names = set(compiled.binds)
        assert names == set(row._fields), (stmt, names ^ set(row._fields))
        for name, bind in compiled.binds.items():
            impl = bind.type.dialect_impl(dialect)
            processor = impl.bind_processor(dialect)
            if isinstance(bind.type, DateTime):
                continue  # converted once per batch by BatchWriter.stamp, as the processor would
            assert processor is None, f"{row.__name__}.{name} ({bind.type!r}) needs bind processing on {dialect.name}"


def test_stamp_is_the_datetime_processor(engine):
    writer = BatchWriter(engine, run_id=1, rb_version=1, lock_rows=False)
    now = dt.datetime(2026, 12, 1, 8, 0, 0, 123456)
    processor = DateTime().dialect_impl(engine.dialect).bind_processor(engine.dialect)
    assert writer.stamp(now) == (processor(now) if processor else now)
