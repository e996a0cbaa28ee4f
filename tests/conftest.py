"""Fixtures: every integration test runs on a real SQLite file and on the real PostgreSQL server.

PostgreSQL comes from ICDCODER_TEST_PG (default: the local server .ci/run starts). Each test
gets its own schema, dropped afterwards. With ICDCODER_REQUIRE_PG=1 (set by .ci/run) a missing
server fails the PostgreSQL tests instead of skipping them.
"""

from __future__ import annotations

import csv
import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from coder.db.connect import make_engine
from coder.db.migrate import upgrade_db

PG_DEFAULT = "postgresql+psycopg://icdcoder@localhost:5432/icdcoder_test"
SAMPLE = Path(__file__).resolve().parents[1] / "coder" / "sample"


def pg_base_url():
    url = make_url(os.environ.get("ICDCODER_TEST_PG", PG_DEFAULT))
    if url.password is None:
        url = url.set(password=os.environ.get("ICDCODER_TEST_PG_PASSWORD", "icdcoder"))
    return url


def _pg_or_skip():
    url = pg_base_url()
    try:
        eng = create_engine(url)
        with eng.connect():
            pass
        eng.dispose()
    except Exception as exc:
        if os.environ.get("ICDCODER_REQUIRE_PG") == "1":
            pytest.fail(f"PostgreSQL required (ICDCODER_REQUIRE_PG=1) but unreachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable ({exc.__class__.__name__}); .ci/run starts it")
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    """A database URL (password included: tests pass it through the environment, never argv)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'icdcoder.db'}"
        return
    yield from _pg_schema_url()


@pytest.fixture
def pg_url() -> str:
    """A PostgreSQL URL for tests of what only a server with row locks does."""
    yield from _pg_schema_url()


@pytest.fixture
def pg_engine(pg_url):
    yield from _migrated(pg_url)


def _pg_schema_url():
    base = _pg_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = base.update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def engine(db_url):
    yield from _migrated(db_url)


def _migrated(url: str):
    eng = make_engine(url)
    upgrade_db(eng)
    yield eng
    eng.dispose()


def write_csv(path: Path, headers, rows) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(headers)
        w.writerows(rows)
    return path


@pytest.fixture
def codes_csv() -> Path:
    return SAMPLE / "codes.csv"


@pytest.fixture
def seeded(engine, codes_csv):
    """A migrated database holding the sample code dictionary."""
    from coder.services.dictionary import import_dictionary

    import_dictionary(engine, codes_csv)
    return engine


def insert_pending(engine, texts, prefix: str = "R") -> None:
    """Pending diagnoses with these descriptions, one record each, written straight to the table."""
    from sqlalchemy import insert

    from coder.db.models import diagnosis

    with engine.begin() as conn:
        conn.execute(
            insert(diagnosis),
            [
                {"record_id": f"{prefix}{i}", "seq_no": 1, "kind": "discharge", "status": "pending", "description": t}
                for i, t in enumerate(texts)
            ],
        )


def wait_until_logged(engine, n: int, seconds: float = 60) -> None:
    """Until a run in another process has written n success log rows (or the time is up)."""
    import time

    from sqlalchemy import func, select

    from coder.db.models import code_log

    deadline = time.time() + seconds
    while time.time() < deadline:
        with engine.connect() as conn:
            if conn.execute(select(func.count()).select_from(code_log)).scalar_one() >= n:
                return
        time.sleep(0.005)


def start_run(db_url: str, *args: str):
    """`icdcoder run ARGS` in a process of its own, as cron starts it (the URL in the environment)."""
    import subprocess
    import sys

    return subprocess.Popen(
        [sys.executable, "-m", "coder.cli", "run", *args],
        env={**os.environ, "ICDCODER_DB": db_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
