"""PostgreSQL's NOTIFY for `icdcoder watch`: a statement that adds or resets pending lines notifies the
channel (one notification per statement), other writes do not, and the migrations and
sql/postgresql/schema.sql install the same function and triggers."""

from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, insert, text, update
from sqlalchemy.engine import make_url

from coder.db.models import diagnosis, utcnow
from coder.db.notify import CHANNEL
from tests.conftest import _pg_schema_url

pytestmark = pytest.mark.postgres

SCHEMA_SQL = Path(__file__).resolve().parents[3] / "sql" / "postgresql" / "schema.sql"


def _listener(url: str) -> psycopg.Connection:
    u = make_url(url)
    conn = psycopg.connect(
        host=u.host, port=u.port, user=u.username, password=u.password, dbname=u.database, autocommit=True
    )
    conn.execute(f"LISTEN {CHANNEL}")
    return conn


def _heard(listener: psycopg.Connection, pid: int) -> int:
    """Notifications sent by that backend (other tests may write to other schemas of the database)."""
    return sum(1 for n in listener.notifies(timeout=0.5) if n.pid == pid)


def test_new_and_reset_lines_notify_once_per_statement_and_other_writes_do_not(pg_engine, pg_url):
    rows = [
        {"record_id": f"R{i}", "seq_no": 1, "kind": "discharge", "status": "pending", "description": t}
        for i, t in enumerate(["冠心病", "肺炎", "哮喘"])
    ]
    listener = _listener(pg_url)
    try:
        with pg_engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            conn.execute(insert(diagnosis).values(rows))  # one statement, three rows
            conn.commit()
            assert _heard(listener, pid) == 1
            conn.execute(update(diagnosis).values(status="failed"))
            conn.execute(update(diagnosis).values(status="pending"))
            conn.commit()
            assert _heard(listener, pid) == 1  # two statements; PostgreSQL folds a transaction's equal ones
            conn.execute(update(diagnosis).values(attempted_at=utcnow()))
            conn.commit()
            assert _heard(listener, pid) == 0
            conn.execute(update(diagnosis).values(description="冠心病"))
            conn.rollback()  # rolled back: nothing to wake anyone for
            assert _heard(listener, pid) == 0
    finally:
        listener.close()


@pytest.fixture
def schema_sql_url():
    """A second schema, built by sql/postgresql/schema.sql as a DBA would."""
    for url in _pg_schema_url():
        engine = create_engine(url)
        raw = engine.raw_connection()
        try:
            raw.driver_connection.autocommit = True
            raw.driver_connection.execute(SCHEMA_SQL.read_text(encoding="utf-8"))
        finally:
            raw.close()
        engine.dispose()
        yield url


def _notify_objects(url: str) -> tuple:
    engine = create_engine(url)
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        triggers = conn.execute(
            text(
                "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t "
                "WHERE t.tgrelid = 'diagnosis'::regclass AND NOT t.tgisinternal ORDER BY t.tgname"
            )
        ).scalars()
        triggers = [t.replace(f"{schema}.", "") for t in triggers]
        body = conn.execute(
            text(
                "SELECT prosrc FROM pg_proc WHERE proname = 'icdcoder_notify_pending' "
                "AND pronamespace = current_schema()::regnamespace"
            )
        ).scalar_one()
    engine.dispose()
    return triggers, body


def test_the_migrations_and_schema_sql_install_the_same_notify(pg_engine, pg_url, schema_sql_url):
    migrated = _notify_objects(pg_url)
    assert len(migrated[0]) == 2 and f"pg_notify('{CHANNEL}', '')" in migrated[1]
    assert _notify_objects(schema_sql_url) == migrated
