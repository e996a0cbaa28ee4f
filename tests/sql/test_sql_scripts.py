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


SCRIPTS = {"oracle": "oracle/icdcoder_pkg.sql", "postgresql": "postgresql/icdcoder_run.sql"}


def _script(name: str) -> str:
    return re.sub(r"--[^\n]*", "", (SQL / SCRIPTS[name]).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_aliased_columns_and_declared_types_exist(name):
    """alias.column in each statement (t.normalized, l.source_code, h.cleared_at) and table.column%TYPE."""
    body = _script(name)
    checked = 0
    for statement in body.split(";"):
        aliases: dict[str, set[str]] = {}
        for table, alias in re.findall(r"(?:FROM|JOIN|UPDATE) ([a-z_]+) ([a-z]\w*)\b", statement):
            if table in TABLES:
                aliases.setdefault(alias, set()).add(table)
        for alias, column in re.findall(r"\b([a-z]\w*)\.([a-z_]+)\b", statement):
            if alias in aliases and column != "nextval":
                assert any(column in TABLES[t] for t in aliases[alias]), (name, alias, column, aliases[alias])
                checked += 1
    for table, column in re.findall(r"\b([a-z_]+)\.([a-z_]+)%(?:TYPE)", body):
        assert table in TABLES and column in TABLES[table], (table, column)
        checked += 1
    assert checked > 40


def test_the_oracle_package_writes_what_the_plpgsql_procedure_writes():
    # Oracle cannot run here: its writes are held to those of the procedure tested on the server.
    oracle, postgresql = (set(_column_uses(_script(n))) for n in ("oracle", "postgresql"))
    assert oracle == postgresql
    for use in [
        ("diagnosis", "other_codes"),
        ("code_log", "position"),
        ("code_log", "combination_id"),
        ("code_log", "source_ids"),
        ("code_log", "source_code"),
        ("combo_hit", "reason"),
        ("combo_hit", "cleared_at"),
        ("coding_run", "uncertain"),
        ("coding_run", "negated"),
    ]:
        assert use in oracle, use
    assert not any(t == "edit_hit" for t, _ in oracle)  # the code edits are not applied: see the headers


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_the_scripts_read_the_setting_the_guards_and_combinations_as_icdcoder_does(name):
    from coder.store.combinations import _blocked_marks
    from coder.store.settings import MATCHING
    from rulebase.combinations import Blocked, Combination
    from rulebase.states import Matching

    body = _script(name)
    assert f"FROM app_setting WHERE name = '{MATCHING}'" in body
    assert all(f"'{m.value}'" in body for m in Matching)
    assert "FROM guard WHERE enabled = 1 ORDER BY seq_no, id" in body
    assert "FROM combination WHERE enabled = 1" in body
    # The review mark's reason as Python words it, piece by piece around the values it names.
    combo = Combination(codes="E11.900,G63.2*", code="E11.401+G63.2*", id=7)
    ((_, _, reason),) = _blocked_marks([Blocked(combo, (1,), (2, 3))])
    pieces = [p for p in re.split(r"7|E11\.900,G63\.2\*|E11\.401\+G63\.2\*|2,3", reason) if p]
    assert len(pieces) == 5
    for piece in pieces:
        assert f"'{piece}'" in body, piece
    # The span of a part is the rule's leftmost match, 0-based, from the database's regex engine.
    flag = {"oracle": "c", "postgresql": "p"}[name]
    assert re.search(rf"REGEXP_INSTR\(\w+(?:\.\w+)?, \w+(?:\.\w+|\(\w+\))?, 1, 1, 0, '{flag}'\) - 1", body, re.I)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_the_headers_say_the_code_edits_are_not_applied(name):
    head = (SQL / SCRIPTS[name]).read_text(encoding="utf-8").split("CREATE", 1)[0]
    assert "NOT DONE HERE: the code edits" in head
    assert "icdcoder edits check" in head
