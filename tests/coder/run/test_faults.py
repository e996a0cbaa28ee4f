"""Fault injection: poison lines, refused rules, a full disk, a killed server connection, a read-only
file. Each checks that nothing was lost or duplicated and that the next run finishes the work
(issue #16, items 2, 3, 7 and 8)."""

import signal
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import event, insert, select, text
from sqlalchemy.exc import OperationalError

import rulebase.dialect
from coder.cli import cli
from coder.db.connect import make_engine
from coder.db.models import code_log, coding_rule, coding_run, diagnosis, fail_log
from coder.run.loop import run_coding
from coder.services.normalization import add_entry
from coder.services.rules import add_rule
from tests.coder.run.test_run import RULES
from tests.conftest import insert_pending, start_run, wait_until_logged, write_csv


@pytest.fixture
def sqlite_seeded(tmp_path, codes_csv):
    """(URL, engine) of a seeded SQLite file, for the faults only a file has."""
    yield from _seeded(f"sqlite:///{tmp_path / 'icdcoder.db'}", codes_csv)


@pytest.fixture
def pg_seeded(pg_url, codes_csv):
    """(URL, engine) of a seeded PostgreSQL schema, for the faults only a server has."""
    yield from _seeded(pg_url, codes_csv)


def _seeded(url, codes_csv):
    from coder.db.migrate import upgrade_db
    from coder.services.dictionary import import_dictionary

    engine = make_engine(url)
    upgrade_db(engine)
    import_dictionary(engine, codes_csv)
    yield url, engine
    engine.dispose()


POISON = "慢阻肺" * 333  # 999 characters; normalized (慢阻肺 -> 慢性阻塞性肺疾病) 2,331: longer than a log row


def _pending(engine, texts):
    insert_pending(engine, texts, prefix="F")


def _rules(engine, tmp_path):
    from coder.services.rules import import_rules

    import_rules(engine, write_csv(tmp_path / "r.csv", ["code", "pattern", "exclude"], RULES), "王芳", "test")


def _consistent(engine) -> dict:
    """Every diagnosis is pending, or done with exactly one log row (its first code's) of the run that did it; every run's
    counts are its log rows. Returns the number of diagnoses per status."""
    with engine.connect() as conn:
        statuses = dict(conn.execute(select(diagnosis.c.id, diagnosis.c.status)).all())
        logs = conn.execute(
            select(code_log.c.diagnosis_id, code_log.c.run_id)
            .where(code_log.c.position == 0)  # a line of several codes has a row for each
            .union_all(select(fail_log.c.diagnosis_id, fail_log.c.run_id))
        ).all()
        runs = conn.execute(select(coding_run)).all()
    done = sorted(d for d, s in statuses.items() if s != "pending")
    assert sorted(d for d, _ in logs) == done, "a diagnosis without its log row, or logged twice"
    for run in runs:
        n = sum(1 for _, r in logs if r == run.id)
        assert run.considered == n, f"run {run.id} counts {run.considered}, wrote {n} log rows"
        assert run.coded + run.no_match + run.ambiguous + run.invalid_input + run.timeouts + run.too_long == n
    out: dict = {}
    for s in statuses.values():
        out[s] = out.get(s, 0) + 1
    return out


@pytest.mark.parametrize("engine_name", ["python", "sql"])
def test_a_line_normalization_makes_too_long_fails_alone_and_the_run_codes_the_rest(
    seeded, tmp_path, engine_name, capfd
):
    _rules(seeded, tmp_path)
    add_entry(seeded, "慢阻肺", "慢性阻塞性肺疾病", "王芳")
    _pending(seeded, ["冠心病", POISON, "肺炎", "高血压病3级"])
    first = run_coding(seeded, engine_name=engine_name, batch_size=10)
    assert (first.considered, first.coded, first.too_long) == (4, 3, 1)
    again = run_coding(seeded, engine_name=engine_name)
    assert again.considered == 0, "a poison line must not be tried again and again"
    with seeded.connect() as conn:
        row = conn.execute(select(diagnosis).where(diagnosis.c.description == POISON)).one()
        assert (row.status, row.fail_reason) == ("failed", "too_long")
        assert conn.execute(select(coding_run.c.error)).scalars().all() == [None, None]
    assert _consistent(seeded) == {"coded": 3, "failed": 1}
    assert "慢阻肺" not in "".join(capfd.readouterr())


@pytest.mark.postgres
def test_a_batch_the_server_refuses_is_retried_line_by_line(pg_engine, tmp_path, monkeypatch, codes_csv):
    """Without the length check, PostgreSQL itself refuses the poison line's log row: the batch is
    rolled back, retried line by line, and the one line fails alone (the real server's refusal)."""
    from coder.services.dictionary import import_dictionary

    import_dictionary(pg_engine, codes_csv)
    _rules(pg_engine, tmp_path)
    add_entry(pg_engine, "慢阻肺", "慢性阻塞性肺疾病", "王芳")
    monkeypatch.setattr("coder.run.writer.MAX_NORMALIZED", 10_000)
    _pending(pg_engine, ["冠心病", "肺炎", POISON, "狼疮", "冠心病"])
    res = run_coding(pg_engine, batch_size=100)
    assert (res.considered, res.coded, res.invalid_input, res.no_match) == (5, 3, 1, 1)
    with pg_engine.connect() as conn:
        poison = conn.execute(select(diagnosis).where(diagnosis.c.description == POISON)).one()
        assert (poison.status, poison.fail_reason) == ("failed", "invalid_input")
        error = conn.execute(select(coding_run.c.error)).scalar_one()
        assert error is None
    assert _consistent(pg_engine) == {"coded": 3, "failed": 2}


def test_a_stored_rule_that_no_longer_validates_is_skipped_and_reported(seeded, tmp_path, db_url, monkeypatch):
    _rules(seeded, tmp_path)
    with seeded.begin() as conn:  # as an older icdcoder, or a hand-made INSERT, stored it
        conn.execute(
            insert(coding_rule).values(code="I10.x00", pattern="[a-b-c]", enabled=True, version=1, author="old")
        )
    _pending(seeded, ["冠心病", "肺炎"])
    monkeypatch.setenv("ICDCODER_DB", db_url)
    r = CliRunner().invoke(cli, ["run", "--quiet"])
    assert r.exit_code == 0, r.output
    assert r.stdout == "" and "warning: 1 rules skipped: rule 5: pattern '[a-b-c]' is invalid" in r.stderr
    lint = CliRunner().invoke(cli, ["rules", "lint"])
    assert lint.exit_code == 1 and "rule 5: pattern '[a-b-c]' is invalid" in lint.output
    assert _consistent(seeded) == {"coded": 2}


@pytest.mark.postgres
def test_a_rule_the_server_refuses_is_isolated_by_the_in_database_engine(pg_engine, tmp_path, codes_csv, monkeypatch):
    from coder.services.dictionary import import_dictionary

    import_dictionary(pg_engine, codes_csv)
    _rules(pg_engine, tmp_path)
    # A pattern the dialect would refuse today, as if the bound had been looser when it was saved:
    monkeypatch.setattr(rulebase.dialect, "MAX_EXPANDED", 10**9)
    bad = add_rule(pg_engine, "I10.x00", "(a{255}){255}", "王芳").rule.id
    _pending(pg_engine, ["冠心病", "肺炎", "高血压病3级"] * 30)
    res = run_coding(pg_engine, engine_name="sql", batch_size=25)
    assert res.considered == 90 and res.coded == 90
    assert list(res.skipped_rules) == [bad] and "too complex" in res.skipped_rules[bad]
    with pg_engine.connect() as conn:
        assert "rules skipped" in conn.execute(select(coding_run.c.error)).scalar_one()
    assert _consistent(pg_engine) == {"coded": 90}


def test_a_full_disk_loses_nothing_and_the_next_run_finishes(sqlite_seeded, tmp_path):
    db_url, seeded = sqlite_seeded
    _rules(seeded, tmp_path)
    _pending(seeded, [f"冠心病{'x' * 200}{i}" for i in range(3000)])
    with seeded.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
    full = make_engine(db_url)
    event.listen(full, "connect", lambda c, _r: c.execute(f"PRAGMA max_page_count = {pages + 40}"))
    with pytest.raises(OperationalError, match="full"):
        run_coding(full, batch_size=100)
    full.dispose()
    state = _consistent(seeded)
    assert 0 < state.get("coded", 0) < 3000 and state["pending"] == 3000 - state.get("coded", 0)
    with seeded.connect() as conn:
        assert conn.execute(select(coding_run.c.status, coding_run.c.error)).one() == (
            "crashed",
            "OperationalError: database or disk is full",
        )
    res = run_coding(seeded)
    assert res.considered == state["pending"]
    assert _consistent(seeded) == {"coded": 3000}


def test_a_full_disk_is_one_error_line(sqlite_seeded, tmp_path, monkeypatch):
    db_url, seeded = sqlite_seeded
    _rules(seeded, tmp_path)
    _pending(seeded, [f"冠心病{'x' * 200}{i}" for i in range(3000)])
    with seeded.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
    import coder.db.connect as connect

    original = connect._sqlite_pragmas

    def limited(dbapi_connection, record):
        original(dbapi_connection, record)
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages + 40}")

    monkeypatch.setattr(connect, "_sqlite_pragmas", limited)
    monkeypatch.setenv("ICDCODER_DB", db_url)
    r = CliRunner().invoke(cli, ["run", "--batch-size", "100"])
    assert r.exit_code == 1
    assert r.output.startswith("Error: database error") and "disk is full" in r.output and r.output.count("\n") == 1
    assert "冠心病" not in r.output


def test_a_read_only_database_file_can_be_read_and_refuses_writes_in_one_line(sqlite_seeded, tmp_path, monkeypatch):
    db_url, seeded = sqlite_seeded
    _rules(seeded, tmp_path)
    _pending(seeded, ["冠心病"])
    seeded.dispose()
    path = db_url.removeprefix("sqlite:///")
    monkeypatch.setenv("ICDCODER_DB", f"sqlite:///file:{path}?mode=ro&uri=true")
    listed = CliRunner().invoke(cli, ["diagnoses", "list", "--json"])
    assert listed.exit_code == 0 and "冠心病" in listed.output
    assert CliRunner().invoke(cli, ["report"]).exit_code == 0
    r = CliRunner().invoke(cli, ["run"])
    assert r.exit_code == 1 and r.output.startswith("Error: database error") and "read-only" in r.output
    assert r.output.count("\n") == 1


@pytest.mark.postgres
def test_a_terminated_server_connection_ends_the_run_cleanly_and_the_next_run_finishes(pg_seeded, tmp_path):
    db_url, seeded = pg_seeded
    _rules(seeded, tmp_path)
    _pending(seeded, ["冠心病", "肺炎", "狼疮", "高血压病3级"] * 5000)
    victim = db_url + "&application_name=icdcoder-victim"
    proc = start_run(victim, "--batch-size", "50")
    wait_until_logged(seeded, 500)
    with seeded.connect() as conn:
        killed = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'icdcoder-victim'"
            )
        ).scalar_one()
    out, err = proc.communicate(timeout=120)
    assert killed >= 1
    assert proc.returncode == 1, (out, err)
    assert err.startswith("Error: database error") and err.count("\n") == 1, err
    assert "冠心病" not in err and "Traceback" not in err
    state = _consistent(seeded)
    assert 0 < state.get("pending", 0) < 20000
    res = run_coding(seeded)
    assert res.considered == state["pending"]
    assert _consistent(seeded).get("pending", 0) == 0


@pytest.mark.parametrize("engine_name", ["python", "sql"])
def test_sigkill_at_random_points_loses_nothing(seeded, tmp_path, db_url, engine_name):
    import random

    _rules(seeded, tmp_path)
    _pending(seeded, ["冠心病", "肺炎", "狼疮", "冠心病 不稳定型心绞痛"] * 1500)
    rng = random.Random(16)
    for _ in range(3):
        proc = start_run(db_url, "--batch-size", "25", "--engine", engine_name)
        time.sleep(rng.uniform(0.5, 2.5))  # the interpreter's start, the rule load, or mid-batch
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        _consistent(seeded)
    run_coding(seeded, engine_name=engine_name)
    state = _consistent(seeded)
    assert state.get("pending", 0) == 0 and sum(state.values()) == 6000
