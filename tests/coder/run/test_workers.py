"""Shared workers (SELECT ... FOR UPDATE SKIP LOCKED) on the real PostgreSQL server; refused on SQLite."""

import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from coder.cli import cli
from coder.db.models import code_log, coding_run, diagnosis, fail_log
from coder.run.loop import run_coding
from coder.services.rules import import_rules
from tests.coder.run.test_run import RULES
from tests.conftest import insert_pending, write_csv

TEXTS = ["冠心病", "肺炎", "狼疮", "冠心病 不稳定型心绞痛", "高血压病3级", ""]


def _pending(engine, tmp_path, n):
    import_rules(engine, write_csv(tmp_path / "r.csv", ["code", "pattern", "exclude"], RULES), "王芳", "test")
    insert_pending(engine, [f"{TEXTS[i % len(TEXTS)]}{'' if i % 7 else ' 复查'}" for i in range(n)])


def _exactly_once(engine, n):
    with engine.connect() as conn:
        pending = conn.execute(
            select(func.count()).select_from(diagnosis).where(diagnosis.c.status == "pending")
        ).scalar_one()
        ok = conn.execute(
            select(func.count(), func.count(func.distinct(code_log.c.diagnosis_id))).where(code_log.c.position == 0)
        ).one()
        bad = conn.execute(select(func.count(), func.count(func.distinct(fail_log.c.diagnosis_id)))).one()
    assert pending == 0
    assert ok[0] == ok[1] and bad[0] == bad[1], "a diagnosis was logged twice"
    assert ok[0] + bad[0] == n


@pytest.fixture
def pg_seeded(pg_engine, codes_csv):
    from coder.services.dictionary import import_dictionary

    import_dictionary(pg_engine, codes_csv)
    return pg_engine


def test_workers_need_row_locks_so_sqlite_refuses(monkeypatch, tmp_path):
    monkeypatch.setenv("ICDCODER_DB", f"sqlite:///{tmp_path / 'x.db'}")
    assert CliRunner().invoke(cli, ["db", "upgrade"]).exit_code == 0
    r = CliRunner().invoke(cli, ["run", "--workers", "4"])
    assert (r.exit_code, r.output) == (
        1,
        "Error: SQLite has no row locks, so one run codes at a time there: "
        "--workers needs PostgreSQL or Oracle (use icdcoder run without --workers)\n",
    )
    r = CliRunner().invoke(cli, ["run", "--shared"])
    assert r.exit_code == 1 and "shared workers (--workers, --shared) need PostgreSQL or Oracle" in r.output


def test_four_workers_code_every_diagnosis_exactly_once(pg_seeded, tmp_path, pg_url):
    seeded, db_url = pg_seeded, pg_url
    _pending(seeded, tmp_path, 20000)
    env = {**os.environ, "ICDCODER_DB": db_url}
    r = subprocess.run(
        [sys.executable, "-m", "coder.cli", "run", "--workers", "4", "--batch-size", "200", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    import json

    out = json.loads(r.stdout)
    assert len(out["run_ids"]) == 4 and out["considered"] == 20000
    _exactly_once(seeded, 20000)
    with seeded.connect() as conn:
        per_run = dict(conn.execute(select(coding_run.c.id, coding_run.c.considered)).all())
    assert sum(per_run.values()) == 20000 and sum(1 for v in per_run.values() if v > 0) >= 2, per_run


def test_a_worker_killed_mid_batch_loses_nothing(pg_seeded, tmp_path, pg_url):
    seeded, db_url = pg_seeded, pg_url
    _pending(seeded, tmp_path, 20000)
    env = {**os.environ, "ICDCODER_DB": db_url}
    cmd = [sys.executable, "-m", "coder.cli", "run", "--shared", "--batch-size", "50", "--json"]
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)
    ]
    # Kill worker 0 once it has committed a batch of its own: it is then in its loop, most of
    # which is spent inside a batch's transaction.
    deadline = time.time() + 120
    while time.time() < deadline:
        with seeded.connect() as conn:
            mine = conn.execute(select(coding_run.c.considered).where(coding_run.c.pid == procs[0].pid)).first()
        if mine is not None and mine.considered > 0:
            break
        time.sleep(0.005)
    procs[0].send_signal(signal.SIGKILL)
    outs = [p.communicate(timeout=600) for p in procs]
    assert procs[0].returncode == -signal.SIGKILL
    assert all(p.returncode == 0 for p in procs[1:]), outs
    # the survivors finished the work, the killed worker's batch included; a later run finds nothing left
    _exactly_once(seeded, 20000)
    later = run_coding(seeded, shared=True)
    assert later.considered == 0
    with seeded.connect() as conn:
        statuses = sorted(conn.execute(select(coding_run.c.status)).scalars())
    assert statuses.count("crashed") == 1 and statuses.count("finished") == 4
