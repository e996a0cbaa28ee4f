"""`icdcoder watch` (issue #12, point 4): lines inserted while it runs are coded within seconds, on a
real SQLite file and on the real PostgreSQL server (woken there by NOTIFY); a run row only when there
is work; a held lock waited out; SIGTERM and SIGINT stop it cleanly after the batch in hand; a
SIGKILL loses nothing and the next run takes the lock over."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import func, insert, select, text

from coder.db.models import code_log, coding_rule, coding_run, diagnosis, fail_log, run_lock
from coder.run.lock import acquire_lock, release_lock
from coder.run.loop import STOPPED, run_coding
from coder.run.watch import watch
from coder.services.rules import add_rule, import_rules
from rulebase.states import RunStatus
from tests.coder.run.test_faults import _consistent
from tests.coder.run.test_run import RULES
from tests.conftest import insert_pending, start_run, wait_until_logged, write_csv

TEXTS = ["冠心病", "肺炎", "系统性红斑狼疮", "冠心病 不稳定型心绞痛"]  # coded, coded, no_match, coded twice
WITHIN = 5.0  # seconds from a line's insertion to its code (issue #12)


@pytest.fixture
def ruled(seeded, tmp_path):
    import_rules(seeded, write_csv(tmp_path / "r.csv", ["code", "pattern", "exclude"], RULES), "王芳", "test")
    return seeded


def start_watch(db_url: str, *args: str) -> subprocess.Popen:
    """`icdcoder watch ARGS` as systemd starts it: its own process, the URL in the environment."""
    return subprocess.Popen(
        [sys.executable, "-m", "coder.cli", "watch", *args],
        env={**os.environ, "ICDCODER_DB": db_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def waiting(engine, prefix: str) -> int:
    """Lines of these records not yet done with their log row."""
    with engine.connect() as conn:
        ours = diagnosis.c.record_id.like(f"{prefix}%")
        total = conn.execute(select(func.count()).select_from(diagnosis).where(ours)).scalar_one()
        logged = conn.execute(
            select(func.count())
            .select_from(diagnosis)
            .where(ours, diagnosis.c.status != "pending")
            .where(diagnosis.c.id.in_(select(code_log.c.diagnosis_id).union(select(fail_log.c.diagnosis_id))))
        ).scalar_one()
    return total - logged


def coded_after(engine, texts, prefix: str, seconds: float = 15.0) -> float:
    """Insert the lines; the seconds until every one is done with its log row (inf if not in time)."""
    started = time.monotonic()
    insert_pending(engine, texts, prefix=prefix)
    while time.monotonic() - started < seconds:
        if waiting(engine, prefix) == 0:
            return time.monotonic() - started
        time.sleep(0.02)
    return float("inf")


def run_rows(engine):
    with engine.connect() as conn:
        return conn.execute(select(coding_run).order_by(coding_run.c.id)).all()


def stop(proc: subprocess.Popen, sig=signal.SIGTERM, seconds: float = 10) -> tuple[int, str, str]:
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=seconds)
    return proc.returncode, out, err


def test_lines_inserted_while_it_watches_are_coded_within_seconds_and_idle_cycles_write_nothing(ruled, db_url):
    proc = start_watch(db_url, "--interval", "1")
    try:
        assert coded_after(ruled, ["冠心病"], "W") < 20, "watch did not start"  # the interpreter's start
        for i in range(3):
            time.sleep(0.3 * i)  # idle, mid-wait, or just after a run
            assert coded_after(ruled, TEXTS, f"A{i}") < WITHIN
        runs = [r.id for r in run_rows(ruled)]
        time.sleep(2.5)  # two idle cycles and more
        assert [r.id for r in run_rows(ruled)] == runs, "an idle cycle made a run row"
        code, out, err = stop(proc)
    finally:
        proc.kill()
    assert (code, out, err) == (0, "", "")  # quiet unless asked
    assert [r.status for r in run_rows(ruled)] == ["finished"] * 4  # one run per arrival
    with ruled.connect() as conn:
        assert conn.execute(select(func.count()).select_from(run_lock)).scalar_one() == 0
    assert _consistent(ruled) == {"coded": 10, "failed": 3}  # the two-diagnosis lines are coded


@pytest.fixture
def pg_ruled(pg_engine, codes_csv, tmp_path):
    from coder.services.dictionary import import_dictionary

    import_dictionary(pg_engine, codes_csv)
    import_rules(pg_engine, write_csv(tmp_path / "r.csv", ["code", "pattern", "exclude"], RULES), "王芳", "test")
    return pg_engine


@pytest.mark.postgres
def test_on_postgresql_a_notify_wakes_it_long_before_the_interval(pg_ruled, pg_url):
    proc = start_watch(pg_url, "--interval", "30", "-v")
    try:
        assert coded_after(pg_ruled, ["冠心病"], "W") < 20, "watch did not start"
        for i in range(3):
            time.sleep(1)  # back in its wait (a 30 s one): only the NOTIFY can wake it in time
            assert coded_after(pg_ruled, TEXTS, f"N{i}") < WITHIN
        time.sleep(1)
        began = time.monotonic()
        code, out, err = stop(proc)
        assert time.monotonic() - began < 3, "a stop must not wait for the interval"
    finally:
        proc.kill()
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == 4 and all(" considered, " in line for line in lines), out
    assert lines[-1].startswith(f"run {run_rows(pg_ruled)[-1].id}: 4 considered, 3 coded, 1 no_match, 0 ambiguous")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_it_after_the_batch_in_hand_and_the_next_run_codes_the_rest(ruled, db_url, sig):
    insert_pending(ruled, [TEXTS[i % 4] for i in range(8000)])
    proc = start_watch(db_url, "--interval", "1", "--batch-size", "25")
    try:
        wait_until_logged(ruled, 200)
        code, out, err = stop(proc, sig)
    finally:
        proc.kill()
    assert (code, out, err) == (0, "", "")
    state = _consistent(ruled)  # each line coded with its log row, or still pending
    assert 0 < state.get("pending", 0) < 8000, "the stop should land mid-run"
    (run,) = run_rows(ruled)
    assert (run.status, run.error) == ("finished", STOPPED)  # ended, not left running nor crashed
    with ruled.connect() as conn:
        assert conn.execute(select(func.count()).select_from(run_lock)).scalar_one() == 0
    res = run_coding(ruled)
    assert res.took_over is None and res.considered == state["pending"]
    assert "pending" not in _consistent(ruled)


def test_sigkill_while_it_codes_a_stream_loses_nothing_and_a_new_run_takes_the_lock_over(ruled, db_url):
    proc = start_watch(db_url, "--interval", "1", "--batch-size", "25")
    try:
        insert_pending(ruled, [TEXTS[i % 4] for i in range(4000)], prefix="S")
        for i in range(8):  # more keep coming while it codes
            wait_until_logged(ruled, 150 * (i + 1))
            insert_pending(ruled, [TEXTS[j % 4] for j in range(500)], prefix=f"S{i}-")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        proc.kill()
    state = _consistent(ruled)
    assert 0 < state.get("pending", 0) < 8000, "the kill should land mid-run"
    # The kill lands in a run (left "running", its lock held), or, on a loaded machine, between
    # two of watch's runs: never in more than one.
    running = [r for r in run_rows(ruled) if r.status == "running"]
    assert len(running) <= 1
    out, err = (rerun := start_run(db_url)).communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert _consistent(ruled) == {"coded": 6000, "failed": 2000}
    if running:
        assert f"took over the lock of crashed run {running[0].id}" in out
        assert {r.id: r.status for r in run_rows(ruled)}[running[0].id] == "crashed"


def test_a_run_holding_the_lock_is_waited_out(ruled, db_url):
    held, _ = acquire_lock(ruled, 1)  # a live process (this one) holds it, as cron's run would
    proc = start_watch(db_url, "--interval", "1")
    try:
        insert_pending(ruled, ["冠心病"], prefix="L")
        time.sleep(2.5)
        assert proc.poll() is None, proc.communicate()
        assert waiting(ruled, "L") == 1 and [r.id for r in run_rows(ruled)] == [held]
        release_lock(ruled, held, RunStatus.FINISHED)
        started = time.monotonic()
        while waiting(ruled, "L") and time.monotonic() - started < 10:
            time.sleep(0.02)
        assert time.monotonic() - started < WITHIN
        code, out, err = stop(proc)
    finally:
        proc.kill()
    assert (code, out, err) == (0, "", "")


def test_a_rule_change_retries_old_failures_without_a_new_line(ruled, db_url):
    proc = start_watch(db_url, "--interval", "1")
    try:
        assert coded_after(ruled, ["顽固性失眠"], "F") < 20
        with ruled.connect() as conn:
            assert (
                conn.execute(select(diagnosis.c.status).where(diagnosis.c.record_id == "F0")).scalar_one() == "failed"
            )
        add_rule(ruled, "G47.000", "失眠", "王芳", reason="test")  # bumps the rule-base version, touches no line
        started = time.monotonic()
        while time.monotonic() - started < 10:
            with ruled.connect() as conn:
                row = conn.execute(select(diagnosis).where(diagnosis.c.record_id == "F0")).one()
            if row.status == "coded":
                break
            time.sleep(0.05)
        assert (row.status, row.code) == ("coded", "G47.000") and time.monotonic() - started < WITHIN
        runs = [r.id for r in run_rows(ruled)]
        time.sleep(2.2)
        assert [r.id for r in run_rows(ruled)] == runs, "the failures of a version are retried once"
        code, _, err = stop(proc)
    finally:
        proc.kill()
    assert (code, err) == (0, "")


def test_verbose_prints_each_run_and_skipped_rules_are_warned_once_per_rule_base_version(ruled, db_url):
    with ruled.begin() as conn:  # stored by an older icdcoder: no longer valid
        conn.execute(
            insert(coding_rule).values(code="I10.x00", pattern="[a-b-c]", enabled=True, version=1, author="old")
        )
    proc = start_watch(db_url, "--interval", "1", "-v")
    try:
        for i in range(3):
            assert coded_after(ruled, ["冠心病"], f"V{i}") < 20
            time.sleep(0.2)
        code, out, err = stop(proc)
    finally:
        proc.kill()
    assert code == 0
    ids = [r.id for r in run_rows(ruled)]
    assert [line.split(":")[0] for line in out.splitlines()] == [f"run {i}" for i in ids] and len(ids) == 3
    assert err.count("warning: 1 rules skipped: rule 5: pattern '[a-b-c]' is invalid") == 1, err


@pytest.mark.postgres
def test_losing_its_listening_connection_ends_it_with_one_error_line(pg_ruled, pg_url):
    proc = start_watch(pg_url, "--interval", "30")
    try:
        assert coded_after(pg_ruled, ["冠心病"], "W") < 20
        with pg_ruled.begin() as conn:
            killed = conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE query = 'LISTEN icdcoder_pending' AND pid <> pg_backend_pid() "
                    "AND backend_start > now() - interval '30 seconds'"
                )
            ).all()
        assert killed
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 1 and out == "", err
    assert err.startswith("Error: database error (") and "Traceback" not in err, err


def test_watch_in_process_stops_on_its_event_and_reports_each_run(ruled):
    results, runs, stop_event = [], [], threading.Event()
    thread = threading.Thread(
        target=lambda: results.append(watch(ruled, interval=0.2, stop=stop_event, on_run=runs.append))
    )
    thread.start()
    try:
        assert coded_after(ruled, TEXTS, "T") < WITHIN
        time.sleep(0.5)
    finally:
        stop_event.set()
        thread.join(5)
    assert not thread.is_alive() and results == [len(runs)] and runs
    assert sum(r.considered for r in runs) == 4 and all(r.stopped is None for r in runs)


def test_a_run_asked_to_stop_ends_after_the_batch_that_committed(ruled):
    insert_pending(ruled, TEXTS * 3)
    asked: list[int] = []

    def stop_now() -> bool:
        asked.append(1)
        return len(asked) > 2  # asked before each batch: two batches, then stop

    res = run_coding(ruled, batch_size=2, stop=stop_now)
    assert (res.considered, res.stopped) == (4, STOPPED)
    (run,) = run_rows(ruled)
    assert (run.status, run.error, run.considered) == ("finished", STOPPED, 4)
    assert _consistent(ruled) == {"coded": 3, "failed": 1, "pending": 8}
    assert run_coding(ruled).considered == 8
