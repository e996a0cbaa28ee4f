import json
import os
import signal
import subprocess
import sys

import pytest
from sqlalchemy import func, insert, select, update

from coder.db.models import code_log, coding_run, diagnosis, fail_log, run_lock
from coder.errors import RunLocked
from coder.run.lock import acquire_lock
from coder.run.loop import run_coding
from coder.services.diagnoses import import_diagnoses
from coder.services.rules import import_rules
from coder.store import rules as rulestore
from rulebase.rule import Rule
from tests.conftest import insert_pending, start_run, wait_until_logged, write_csv

RULES = [
    ["I25.103", "冠(状动脉粥样硬化性)?心(脏)?病", ""],
    ["I20.000", "不稳定(型)?心绞痛", ""],
    ["J18.900", "肺炎", "支原体"],
    ["I10.x00x004", "高血压(病)?.{0,2}3级", ""],
]


@pytest.fixture
def loaded(seeded, tmp_path):
    import_rules(seeded, write_csv(tmp_path / "r.csv", ["code", "pattern", "exclude"], RULES), "王芳", "test")
    import_diagnoses(
        seeded,
        write_csv(
            tmp_path / "d.csv",
            ["record_id", "seq", "description", "code", "coder"],
            [
                ["R1", "1", "冠心病", "", ""],
                ["R1", "2", "高血压病３级（极高危）", "", ""],
                ["R1", "3", "冠心病 不稳定型心绞痛", "", ""],
                ["R1", "4", "系统性红斑狼疮", "", ""],
                ["R1", "5", "  ", "", ""],
                ["R2", "1", "肺炎", "J18.900", "李娜"],
                ["R2", "2", "支原体肺炎", "", ""],
            ],
        ),
    )
    return seeded


def by_desc(engine):
    with engine.connect() as conn:
        return {r.description: r for r in conn.execute(select(diagnosis))}


def test_run_codes_and_logs_every_outcome(loaded):
    res = run_coding(loaded, batch_size=2)
    assert (res.considered, res.coded, res.no_match, res.ambiguous, res.invalid_input) == (6, 3, 2, 0, 1)
    d = by_desc(loaded)
    assert (d["冠心病"].status, d["冠心病"].code, d["冠心病"].other_codes, d["冠心病"].coded_by) == (
        "coded",
        "I25.103",
        None,
        "auto",
    )
    two = d["冠心病 不稳定型心绞痛"]  # two diagnoses at separate places: both coded
    assert (two.status, two.code, two.other_codes) == ("coded", "I25.103", "I20.000")
    assert d[""].fail_reason == "invalid_input"
    with loaded.connect() as conn:
        ok = conn.execute(select(code_log).where(code_log.c.diagnosis_id == d["高血压病３级（极高危）"].id)).one()
        assert (ok.normalized, ok.match_start, ok.match_end, ok.code) == ("高血压病3级(极高危)", 0, 6, "I10.x00x004")
        logged = conn.execute(
            select(
                code_log.c.position, code_log.c.code, code_log.c.rule_id, code_log.c.match_start, code_log.c.match_end
            )
            .where(code_log.c.diagnosis_id == two.id)
            .order_by(code_log.c.position)
        ).all()
        rule_of = dict(conn.execute(select(rulestore.coding_rule.c.code, rulestore.coding_rule.c.id)).all())
        assert [tuple(r) for r in logged] == [
            (0, "I25.103", rule_of["I25.103"], 0, 3),
            (1, "I20.000", rule_of["I20.000"], 4, 11),
        ]
        run = conn.execute(select(coding_run)).one()
        assert (run.status, run.considered, run.coded) == ("finished", 6, 3)
        assert conn.execute(select(func.count()).select_from(run_lock)).scalar_one() == 0


@pytest.mark.parametrize("engine_name", ["python", "sql"])
def test_the_strict_setting_makes_two_codes_ambiguous_and_going_back_retries_them(loaded, engine_name):
    from coder.store.settings import set_matching

    with loaded.begin() as conn:
        assert set_matching(conn, "strict") is True
        assert set_matching(conn, "strict") is False  # unchanged: nothing bumped
    res = run_coding(loaded, batch_size=2, engine_name=engine_name)
    assert (res.coded, res.ambiguous) == (2, 1)
    d = by_desc(loaded)
    assert (d["冠心病 不稳定型心绞痛"].fail_reason, d["冠心病 不稳定型心绞痛"].code) == ("ambiguous", None)
    with loaded.connect() as conn:
        amb = conn.execute(select(fail_log).where(fail_log.c.reason == "ambiguous")).one()
        assert [c["code"] for c in json.loads(amb.candidates)] == ["I20.000", "I25.103"]
    with loaded.begin() as conn:
        set_matching(conn, "spans")  # a new rule-base version: the failure is tried again
    again = run_coding(loaded, engine_name=engine_name)
    assert (again.considered, again.coded) == (3, 1)  # the ambiguous line and the two no_match lines
    assert by_desc(loaded)["冠心病 不稳定型心绞痛"].other_codes == "I20.000"


def test_person_code_survives_and_second_run_has_nothing_to_do(loaded):
    run_coding(loaded)
    again = run_coding(loaded)
    assert again.considered == 0
    d = by_desc(loaded)
    assert (d["肺炎"].status, d["肺炎"].code, d["肺炎"].coded_by) == ("manual", "J18.900", "李娜")


def test_failures_are_retried_after_a_rule_change_only(loaded):
    run_coding(loaded)
    assert run_coding(loaded).considered == 0
    with loaded.begin() as conn:
        rulestore.add_rule(conn, Rule(code="I25.103", pattern="红斑狼疮"), "王芳", "test retry")
    res = run_coding(loaded)
    # no_match failures are retried (invalid input is not); the new rule codes one
    assert (res.considered, res.coded) == (2, 1)
    assert by_desc(loaded)["系统性红斑狼疮"].code == "I25.103"
    with loaded.connect() as conn:
        assert conn.execute(select(func.count()).select_from(fail_log)).scalar_one() == 3 + 1


def test_a_held_lock_refuses_a_second_run_and_names_it(loaded):
    run_id, _ = acquire_lock(loaded, 1)
    with pytest.raises(
        RunLocked, match=rf"another coding run is in progress: run {run_id} \(started .* pid {os.getpid()}\)"
    ):
        run_coding(loaded)


def test_a_dead_processes_lock_is_taken_over_and_its_run_marked_crashed(loaded):
    run_id, _ = acquire_lock(loaded, 1)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    with loaded.begin() as conn:
        conn.execute(update(run_lock).values(pid=int(dead.stdout)))
    res = run_coding(loaded)
    assert res.took_over == run_id
    with loaded.connect() as conn:
        assert conn.execute(select(coding_run.c.status).where(coding_run.c.id == run_id)).scalar_one() == "crashed"


def test_sigkill_mid_run_loses_nothing_and_rerun_finishes_without_duplicates(seeded, tmp_path, db_url):
    import_rules(seeded, write_csv(tmp_path / "r.csv", ["code", "pattern", "exclude"], RULES), "王芳", "test")
    insert_pending(seeded, [["冠心病", "肺炎", "狼疮", "冠心病 不稳定型心绞痛"][i % 4] for i in range(30000)])
    proc = start_run(db_url, "--batch-size", "50")
    wait_until_logged(seeded, 500)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with seeded.connect() as conn:
        rows = conn.execute(select(diagnosis.c.id, diagnosis.c.status)).all()
        logged = (
            conn.execute(
                select(code_log.c.diagnosis_id)
                .where(code_log.c.position == 0)  # a line of two codes has a row for each
                .union_all(select(fail_log.c.diagnosis_id))
            )
            .scalars()
            .all()
        )
    assert 0 < len(logged) < 30000, "the kill should land mid-run"
    statuses = {r.id: r.status for r in rows}
    assert sorted(logged) == sorted(i for i, s in statuses.items() if s != "pending")
    res = run_coding(seeded)
    assert res.took_over is not None and res.considered == 30000 - len(logged)
    with seeded.connect() as conn:
        assert (
            conn.execute(
                select(func.count()).select_from(diagnosis).where(diagnosis.c.status == "pending")
            ).scalar_one()
            == 0
        )
        per_diag = conn.execute(
            select(func.count(), func.count(func.distinct(code_log.c.diagnosis_id))).where(code_log.c.position == 0)
        ).one()
        fails = conn.execute(select(func.count(), func.count(func.distinct(fail_log.c.diagnosis_id)))).one()
        assert per_diag[0] == per_diag[1] and fails[0] == fails[1] and per_diag[0] + fails[0] == 30000
        crashed = conn.execute(select(coding_run.c.status).where(coding_run.c.id == res.took_over)).scalar_one()
        assert crashed == "crashed"


def test_two_concurrent_runs_code_everything_once(seeded, tmp_path, db_url):
    import_rules(seeded, write_csv(tmp_path / "r.csv", ["code", "pattern", "exclude"], RULES), "王芳", "test")
    with seeded.begin() as conn:
        conn.execute(
            insert(diagnosis),
            [
                {"record_id": f"R{i}", "seq_no": 1, "kind": "discharge", "status": "pending", "description": "冠心病"}
                for i in range(20000)
            ],
        )
    env = {**os.environ, "ICDCODER_DB": db_url}
    cmd = [sys.executable, "-m", "coder.cli", "run", "--batch-size", "100", "--json"]
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
    codes = sorted(o[2] for o in outs)
    assert codes in ([0, 0], [0, 75]), outs
    if codes == [0, 75]:
        locked = next(o for o in outs if o[2] == 75)
        assert "another coding run is in progress: run" in locked[1]
    with seeded.connect() as conn:
        assert conn.execute(select(func.count()).select_from(code_log)).scalar_one() == 20000
        assert conn.execute(select(func.count(func.distinct(code_log.c.diagnosis_id)))).scalar_one() == 20000


def test_log_timestamps_are_stored_as_sqlalchemy_stores_them(loaded):
    """The run writes its rows through the driver directly; what it stores must read back as any
    SQLAlchemy-written timestamp does (on SQLite: text with microseconds)."""
    import datetime as dt
    import re

    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    run_coding(loaded)
    with loaded.connect() as conn:
        logged = conn.execute(select(code_log.c.logged_at)).scalars().all()
        failed = conn.execute(select(fail_log.c.logged_at)).scalars().all()
        attempted = (
            conn.execute(select(diagnosis.c.attempted_at).where(diagnosis.c.status.in_(["coded", "failed"])))
            .scalars()
            .all()
        )
        if loaded.dialect.name == "sqlite":
            raw = conn.exec_driver_sql("SELECT logged_at FROM code_log").scalars().all()
            assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", r) for r in raw), raw[:3]
    assert logged and failed and attempted
    for value in logged + failed + attempted:
        assert isinstance(value, dt.datetime) and abs((value - before).total_seconds()) < 120


def test_batches_leave_nothing_behind_while_the_collector_is_paused(seeded, tmp_path):
    """The collector is paused during a run, so whatever a batch leaves in reference cycles stays
    until the run ends: memory would grow with the number of batches. The count of live container
    objects must not grow from batch to batch (five distinct texts: the decision cache stays small)."""
    import gc

    import_rules(seeded, write_csv(tmp_path / "r.csv", ["code", "pattern", "exclude"], RULES), "王芳", "test")
    texts = ["冠心病", "肺炎", "高血压3级", "系统性红斑狼疮", "不稳定型心绞痛"]
    import_diagnoses(
        seeded,
        write_csv(
            tmp_path / "d.csv",
            ["record_id", "seq", "description"],
            [[f"R{i}", "1", texts[i % len(texts)]] for i in range(3000)],
        ),
    )
    live: dict[int, int] = {}

    def progress(done: int, _total: int) -> None:
        live[done] = gc.get_count()[0]  # objects the collector tracks, allocated since it last ran

    result = run_coding(seeded, batch_size=10, progress=progress)
    assert result.considered == 3000
    # Statements built per batch left about 14 objects a batch here (3,300 over these 240 batches)
    # and about 30 kB a batch in a large run.
    assert live[2900] - live[500] < 1000


def test_the_collector_is_off_while_a_run_builds_and_codes_and_back_after_it(loaded, monkeypatch):
    """The rules are read, checked and built with the collector off (it would rescan them as they
    come) and frozen for the batches; the collector is as it was when the run ends, crashed or not."""
    import gc

    from coder.run import loop

    seen = []
    real_setup, real_decider = loop.load_setup, loop._decider

    def load_setup(*args):
        seen.append(("read", gc.isenabled()))
        return real_setup(*args)

    def decider(*args):
        seen.append(("built", gc.isenabled()))
        return real_decider(*args)

    monkeypatch.setattr(loop, "load_setup", load_setup)
    monkeypatch.setattr(loop, "_decider", decider)
    run_coding(loaded)
    assert seen == [("read", False), ("built", False)] and gc.isenabled() and gc.get_freeze_count() == 0

    def crashing(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(loop.BatchWriter, "write", crashing)
    with loaded.begin() as conn:
        conn.execute(update(diagnosis).values(status="pending"))
    with pytest.raises(RuntimeError, match="disk full"):
        run_coding(loaded)
    assert gc.isenabled() and gc.get_freeze_count() == 0
