"""Code edits in the database: marks after a run and after an audit action, cleared when the code is
fixed, never a code changed; the table's history and the CLI round trip; PostgreSQL once."""

import json

import pytest
from sqlalchemy import insert, select, update

from coder.audit.actions import queue
from coder.db.connect import make_engine
from coder.db.migrate import upgrade_db
from coder.db.models import diagnosis, homepage, icd_code, utcnow
from coder.run.loop import run_coding
from coder.services import edits as service
from coder.services.audit import act, report
from coder.store import rules as rulestore
from rulebase.rule import Rule

CODES = {
    "O80.000x001": "单胎顺产",
    "P07.300": "早产儿",
    "G63.2*": "糖尿病性多神经病",
    "E11.401+G63.2*": "2型糖尿病性周围神经病",
    "E10.900": "1型糖尿病",
    "E11.900": "2型糖尿病",
    "J18.900": "肺炎",
    "I10.x00": "原发性高血压",
}
RULES = [
    ("O80.000x001", "正常分娩"),
    ("P07.300", "早产"),
    ("G63.2*", "糖尿病性周围神经病"),
    ("E10.900", "1型糖尿病"),
    ("E11.900", "2型糖尿病"),
    ("J18.900", "肺炎"),
    ("I10.x00", "高血压"),
]
# record: (sex, age or None for a record without a homepage), its lines in order
RECORDS = {
    "R1": (("M", "45岁"), ["正常分娩", "高血压"]),
    "R2": (("F", "45"), ["早产"]),
    "R3": (None, ["糖尿病性周围神经病"]),
    "R4": (None, ["1型糖尿病", "2型糖尿病"]),
    "R5": (None, ["社区获得性肺炎", "高血压", "肺炎"]),
    "R6": (("F", "30岁"), ["正常分娩", "高血压"]),
    "R7": (None, ["糖尿病酮症", "2型糖尿病"]),
}


def _setup(engine, manual=None, records=None):
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            insert(icd_code), [{"code": c, "name": n, "active": True, "updated_at": now} for c, n in CODES.items()]
        )
        for code, pattern in RULES:
            rulestore.add_rule(conn, Rule(code=code, pattern=pattern), "王编码", None)
        for record, (patient, lines) in (records or RECORDS).items():
            if patient:
                conn.execute(
                    insert(homepage).values(
                        record_id=record, mrn=record, sex=patient[0], age=patient[1], created_at=now, updated_at=now
                    )
                )
            for seq, text in enumerate(lines, start=1):
                person = (manual or {}).get((record, seq))
                conn.execute(
                    insert(diagnosis).values(
                        record_id=record,
                        seq_no=seq,
                        kind="discharge",
                        description=text,
                        status="manual" if person else "pending",
                        code=person,
                        coded_by="李编码" if person else None,
                    )
                )


def _line(engine, record, seq):
    with engine.connect() as conn:
        return conn.execute(select(diagnosis).where(diagnosis.c.record_id == record, diagnosis.c.seq_no == seq)).one()


def _marks(engine):
    """(record, seq, kind) of every open mark."""
    items = queue(engine, edits=True)
    return sorted((i["record_id"], i["seq"], m["kind"]) for i in items for m in i["edits"])


@pytest.fixture
def sqlite_engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'edits.db'}")
    upgrade_db(engine)
    yield engine
    engine.dispose()


def test_a_run_marks_each_starter_edit_and_changes_no_code(engine):  # SQLite and PostgreSQL
    _setup(engine, manual={("R7", 1): "E10.900"})  # a person coded 糖尿病酮症 as type 1
    run_coding(engine, batch_size=3)  # records fall across batches: each is checked whole
    assert _marks(engine) == [
        ("R1", 1, "sex"),
        ("R2", 1, "age"),
        ("R3", 1, "asterisk_alone"),
        ("R3", 1, "asterisk_main"),
        ("R4", 1, "exclusive"),
        ("R4", 2, "exclusive"),
        ("R5", 3, "duplicate"),
        ("R7", 1, "exclusive"),
        ("R7", 2, "exclusive"),
    ]
    person = _line(engine, "R7", 1)
    assert (person.status, person.code, person.coded_by) == ("manual", "E10.900", "李编码")
    assert _line(engine, "R1", 1).code == "O80.000x001" and _line(engine, "R1", 1).status == "coded"
    items = {(i["record_id"], i["seq"]): i for i in queue(engine, edits=True)}
    assert items[("R1", 1)]["edits"][0]["reason"] == "妊娠、分娩和产褥期编码仅用于女性：O80.000x001，病案性别为男"
    assert items[("R7", 1)]["status"] == "manual" and items[("R7", 1)]["code"] == "E10.900"
    got = report(engine)["code_edits"]
    assert got == {
        "lines": 8,
        "by_kind": {"age": 1, "asterisk_alone": 1, "asterisk_main": 1, "duplicate": 1, "exclusive": 4, "sex": 1},
    }
    run_coding(engine)  # nothing waits: nothing is marked twice
    assert len(_marks(engine)) == 9


def test_the_first_line_is_the_main_one_even_when_the_run_left_it_uncoded(sqlite_engine):
    """A check reads every line of a record, coded or not: the asterisk code on line 2 stands
    alone, but line 1 (which the run could not code) is the main diagnosis, not line 2."""
    engine = sqlite_engine
    _setup(engine, records={"R8": (("M", "60岁"), ["糖尿病酮症", "糖尿病性周围神经病"])})
    run_coding(engine)
    assert _line(engine, "R8", 1).status == "failed"
    assert _marks(engine) == [("R8", 2, "asterisk_alone")]
    # the coder codes line 1 with what the record's sex forbids: found on line 1, line 2 still alone
    act(engine, _line(engine, "R8", 1).id, "code", "张编码", "O80.000x001")
    assert ("R8", 1, "sex") in _marks(engine) and ("R8", 2, "asterisk_alone") in _marks(engine)
    assert ("R8", 2, "asterisk_main") not in _marks(engine)


def test_a_run_reads_only_the_records_that_can_hold_a_mark(sqlite_engine, monkeypatch):
    """A record of one line of one code no edit of one code speaks of is not read by the run's
    check; one whose line carries a stale open mark is, and the mark is cleared."""
    from coder.db.models import code_edit, edit_hit
    from coder.store import edits as store

    engine = sqlite_engine
    _setup(engine, records={"R10": (None, ["肺炎"]), "R11": (None, ["肺炎"]), "R12": (("M", "40岁"), ["正常分娩"])})
    with engine.begin() as conn:
        edit = conn.execute(select(code_edit.c.id, code_edit.c.version).where(code_edit.c.kind == "duplicate")).one()
        line = conn.execute(select(diagnosis.c.id).where(diagnosis.c.record_id == "R11")).scalar_one()
        conn.execute(
            insert(edit_hit).values(
                diagnosis_id=line, edit_id=edit.id, edit_version=edit.version, kind="duplicate", reason="旧的标记"
            )
        )
    read: list[list[int]] = []
    real = store.check_records

    def spy(conn, check, batch_ids=None, **kw):
        read.append(sorted(batch_ids or ()))
        return real(conn, check, batch_ids=batch_ids, **kw)

    monkeypatch.setattr(store, "check_records", spy)
    run_coding(engine)
    ids = {r: _line(engine, r, 1).id for r in ("R10", "R11", "R12")}
    assert read == [sorted([ids["R11"], ids["R12"]])]  # R10: one line of a quiet code, not read
    assert _marks(engine) == [("R12", 1, "sex")]  # R11's stale mark cleared
    assert _line(engine, "R10", 1).code == "J18.900"


def test_a_run_that_clears_a_code_set_outside_the_product_checks_its_record(engine):  # SQLite and PostgreSQL
    """A pending line can hold a code written outside the product; when the run fails it, the code
    is cleared, and the record is checked again: the duplicate it made with a person's line goes."""
    _setup(engine, manual={("R13", 2): "E11.900"}, records={"R13": (None, ["糖尿病酮症", "2型糖尿病"])})
    with engine.begin() as conn:
        conn.execute(
            update(diagnosis).where(diagnosis.c.record_id == "R13", diagnosis.c.seq_no == 1).values(code="E11.900")
        )
    service.check_all(engine)
    assert _marks(engine) == [("R13", 2, "duplicate")]
    run_coding(engine)
    assert (_line(engine, "R13", 1).status, _line(engine, "R13", 1).code) == ("failed", None)
    assert _marks(engine) == []
    assert _line(engine, "R13", 2).code == "E11.900"  # the person's code stands


def test_an_audit_action_checks_the_record_again(sqlite_engine):
    engine = sqlite_engine
    _setup(engine)
    run_coding(engine)
    r3 = _line(engine, "R3", 1)
    # the coder writes the combination code: its dagger comes with it, both marks go
    act(engine, r3.id, "correct", "张编码", "E11.401+G63.2*")
    assert [m for m in _marks(engine) if m[0] == "R3"] == []
    # confirming a marked line keeps the mark: the person's word does not fix the code
    r5 = _line(engine, "R5", 3)
    act(engine, r5.id, "confirm", "张编码")
    assert ("R5", 3, "duplicate") in _marks(engine)
    assert (_line(engine, "R5", 3).status, _line(engine, "R5", 3).code) == ("confirmed", "J18.900")
    # a failure coded by hand into a contradiction is marked at once, on both lines
    r7 = _line(engine, "R7", 1)
    assert r7.status == "failed"
    act(engine, r7.id, "code", "张编码", "E10.900")
    assert [m for m in _marks(engine) if m[0] == "R7"] == [("R7", 1, "exclusive"), ("R7", 2, "exclusive")]
    # correcting it clears both
    act(engine, r7.id, "correct", "张编码", "E11.900")
    marks = [m for m in _marks(engine) if m[0] == "R7"]
    assert ("R7", 1, "exclusive") not in marks and ("R7", 2, "exclusive") not in marks
    assert ("R7", 2, "duplicate") in marks  # 2型糖尿病 twice now: a new finding, with its own reason


def test_the_table_history_and_a_check_after_it_changed(sqlite_engine):
    engine = sqlite_engine
    _setup(engine)
    run_coding(engine)
    with engine.begin() as conn:  # the dictionary retires 肺炎's code after the run
        conn.execute(update(icd_code).where(icd_code.c.code == "J18.900").values(active=False))
    done = service.check_all(engine)
    assert done.found == 2 and done.cleared == 0
    assert ("R5", 1, "dictionary") in _marks(engine) and ("R5", 3, "dictionary") in _marks(engine)
    sex_edit = next(e for e in service.list_edits(engine) if e.kind == "sex" and e.codes == "O00-O99")
    service.set_edit_enabled(engine, sex_edit.id, False, "质控科", "孕产科编码另行审核")
    assert ("R1", 1, "sex") not in _marks(engine)  # disabling clears its marks at once
    added = service.add_edit(
        engine, "质控科", "科室要求", kind="exclusive", codes="J18", other_codes="I10", message="测试互斥"
    )
    assert service.check_all(engine).found == 3  # R5: both 肺炎 lines and the 高血压 line between them
    shown = service.show_edit(engine, sex_edit.id)
    assert [(h["version"], h["action"], h["author"]) for h in shown.history] == [
        (1, "insert", "icdcoder"),
        (2, "disable", "质控科"),
    ]
    assert shown.history[1]["reason"] == "孕产科编码另行审核"
    assert service.show_edit(engine, added.id).history[0]["new"]["codes"] == "J18"


def test_the_cli_round_trip(sqlite_engine, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from coder.cli import cli

    monkeypatch.setenv("ICDCODER_DB", str(sqlite_engine.url))
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        return result

    listed = json.loads(run("edits", "list", "--json").output)
    assert len(listed) == 13 and listed[0]["kind"] == "dictionary"
    out = run(
        "edits", "add", "--kind", "sex", "--codes", "N40-N51", "--sex", "M", "--message", "测试",
        "--author", "质控科", "--reason", "test",
    )  # fmt: skip
    assert out.exit_code == 0 and "edit 14 added" in out.output
    bad = run("edits", "add", "--kind", "sex", "--codes", "妊娠", "--sex", "F", "--message", "x", "--author", "a")
    assert bad.exit_code == 1 and "codes entry '妊娠' is not a category" in bad.output
    assert run("edits", "edit", "14", "--codes", "N40-N53", "--author", "质控科").exit_code == 0
    assert run("edits", "disable", "14", "--author", "质控科").exit_code == 0
    shown = json.loads(run("edits", "show", "14", "--json").output)
    assert shown["codes"] == "N40-N53" and not shown["enabled"] and len(shown["history"]) == 3
    path = tmp_path / "edits.xlsx"
    assert "14 edits written" in run("edits", "export", str(path)).output
    again = run("edits", "import", str(path), "--author", "质控科")
    assert "0 added, 0 changed, 14 unchanged" in again.output
    csv_path = tmp_path / "edits.csv"
    run("edits", "export", str(csv_path))
    text = csv_path.read_text(encoding="utf-8-sig").replace("N40-N53", "N40-N51")
    csv_path.write_text(text + ",duplicate,,,,,,重复编码（新）,1,,\n", encoding="utf-8-sig")
    changed = run("edits", "import", str(csv_path), "--author", "质控科", "--dry-run")
    assert "1 added, 1 changed, 13 unchanged" in changed.output
    broken = csv_path.read_text(encoding="utf-8-sig").replace("duplicate,,,,,,重复", "sex,,,,,,重复")
    csv_path.write_text(broken, encoding="utf-8-sig")
    refused = run("edits", "import", str(csv_path), "--author", "质控科")
    assert refused.exit_code == 1 and "row 16, column codes: a sex edit needs the codes" in refused.output
    _setup(sqlite_engine)
    run("run")
    marked = json.loads(run("audit", "queue", "--edits", "--json").output)
    assert {(i["record_id"], m["kind"]) for i in marked for m in i["edits"]} >= {("R1", "sex"), ("R4", "exclusive")}
    assert "lines with code edits 6 (age 1, asterisk_alone 1, asterisk_main 1, duplicate 1, exclusive 2, sex 1)" in (
        run("report").output
    )
