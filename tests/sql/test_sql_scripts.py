"""The scripts in sql/: generated DDL that cannot drift, and stored code that names only real columns.

Oracle was not available, so the Oracle scripts are checked here without a server: the DDL is
regenerated from the models and compared, and every table and column the PL/SQL writes or reads in
the forms below must exist in the models.
"""

import re
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from coder.db.ddl import schema_ddl
from coder.db.models import metadata

SQL = Path(__file__).resolve().parents[2] / "sql"
TABLES = {t.name: {c.name for c in t.columns} for t in metadata.sorted_tables}


@pytest.mark.parametrize("name", ["oracle", "postgresql"])
def test_schema_files_are_what_the_models_generate(name):
    assert (SQL / name / "schema.sql").read_text(encoding="utf-8") == schema_ddl(name), (
        f"sql/{name}/schema.sql drifted: regenerate it with python -m coder.db.ddl {name}"
    )


def test_postgresql_schema_file_builds_the_models_schema(pg_url):
    engine = create_engine(pg_url)
    raw = engine.raw_connection()
    try:
        raw.driver_connection.autocommit = True
        raw.driver_connection.execute((SQL / "postgresql" / "schema.sql").read_text(encoding="utf-8"))
    finally:
        raw.close()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        assert conn.execute(text("SELECT version FROM rulebase_state WHERE id = 1")).scalar_one() == 0
    engine.dispose()
    assert diff == []


def _column_uses(sql: str):
    """(table, column) pairs from INSERT INTO t (cols), UPDATE t SET c = ..., and alias.column uses."""
    sql = re.sub(r"--[^\n]*", "", sql)
    for table, cols in re.findall(r"INSERT INTO (\w+) \(([^)]*)\)", sql):
        for col in cols.split(","):
            yield table, col.strip()
    for table, body in re.findall(r"UPDATE (\w+)(?: \w+)?\s+SET (.*?)\s+(?:WHERE|FROM)", sql, flags=re.S):
        for col in re.findall(r"(?:^|,)\s*(\w+) =", body):
            yield table, col


@pytest.mark.parametrize("path", ["oracle/icdcoder_pkg.sql", "postgresql/icdcoder_run.sql"])
def test_stored_code_names_only_real_tables_and_columns(path):
    sql = (SQL / path).read_text(encoding="utf-8")
    uses = list(_column_uses(sql))
    assert len(uses) > 40  # the parse found the statements
    bad = [(t, c) for t, c in uses if t not in TABLES or c not in TABLES[t]]
    assert bad == []
    body = re.sub(r"--[^\n]*", "", sql)
    local = set(re.findall(r"(\w+) AS \(", body)) | {"dual"}  # the scripts' own WITH names
    # a name after FROM/JOIN/INTO/UPDATE that is no function call (unnest(...), TABLE(...))
    named = re.findall(r"(?:FROM|JOIN|INTO|UPDATE) (\w+)\b(?!\s*\()", body)
    assert len(named) > 30
    for table in named:
        if table.islower() and not table.startswith(("icdcoder_", "v_", "p_")) and table not in local:
            assert table in TABLES, table


def test_oracle_jobs_run_at_eight_and_half_past_two():
    sql = (SQL / "oracle" / "scheduler.sql").read_text(encoding="utf-8")
    assert re.findall(r"BYHOUR=(\d+);BYMINUTE=(\d+)", sql) == [("8", "0"), ("14", "30")]
    assert sql.count("icdcoder_pkg.run_coding(1000)") == 2
    pkg = (SQL / "oracle" / "icdcoder_pkg.sql").read_text(encoding="utf-8")
    assert "PROCEDURE run_coding(p_batch_size IN PLS_INTEGER DEFAULT 1000)" in pkg
    assert "REGEXP_LIKE(t.normalized, r.pattern, 'c')" in pkg


def test_the_in_database_engines_code_a_line_in_its_own_system():
    # Oracle cannot run here: its package is held to the join the PL/pgSQL one runs (tested on the server).
    root = Path(__file__).resolve().parents[2] / "sql"
    plsql = (root / "oracle" / "icdcoder_pkg.sql").read_text(encoding="utf-8")
    plpgsql = (root / "postgresql" / "icdcoder_run.sql").read_text(encoding="utf-8")
    assert "JOIN icd_code c ON c.code = r.code AND c.active = 1" in plsql
    assert "CASE WHEN d.kind = 'procedure' THEN 'icd9cm3' ELSE 'icd10' END = c.code_system" in plsql
    assert "JOIN icd_code c ON c.code = r.code AND c.active = 1" in plpgsql
    assert "(d.kind = 'procedure') = (c.code_system = 'icd9cm3')" in plpgsql
