"""A database URL whose driver is not installed names the extra that installs it."""

import sys

import pytest

from coder.db.connect import make_engine
from coder.errors import ConfigError


@pytest.mark.parametrize(
    "url, module, extra",
    [
        ("postgresql+psycopg://icdcoder@localhost/icdcoder", "psycopg", "postgresql"),
        ("oracle+oracledb://icdcoder@localhost/?service_name=XEPDB1", "oracledb", "oracle"),
    ],
)
def test_missing_driver_names_its_extra(monkeypatch, url, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # as if the driver were not installed
    with pytest.raises(ConfigError, match=rf'pip install "icdcoder\[{extra}\]"'):
        make_engine(url)


def test_sqlite_needs_no_extra(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("select 1").scalar() == 1
