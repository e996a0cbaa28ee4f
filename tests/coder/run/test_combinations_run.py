"""Combination codes in a run: the issue's examples end to end from a homepage export, a person's
code never replaced (the auto-coded lines marked for review instead), a record's lines across two
batches and two runs, the table's history, judged refusal; PostgreSQL once (db_url)."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, update

from coder.db.models import code_log, combo_hit, diagnosis, edit_hit, icd_code
from coder.errors import ChangeRefused, IcdCoderError
from coder.run.loop import run_coding
from coder.services import combinations as service
from coder.services.audit import act
from coder.services.diagnoses import import_diagnoses
from coder.services.rules import add_rule
from coder.store.history import rulebase_version
from rulebase.combinations import Combination, CombinationInvalid
from tests.conftest import write_csv

CODES = {
    "E11.900": "2型糖尿病",
    "G63.2*": "糖尿病性多神经病",
    "E11.401+G63.2*": "2型糖尿病性周围神经病",
    "K25.900": "胃溃疡",
    "K92.200": "上消化道出血",
    "K25.400": "胃溃疡伴出血",
    "I10.x00": "原发性高血压",
}
RULES = [
    ("E11.900", "^(2|II)型糖尿病$"),
    ("G63.2*", "^糖尿病性周围神经病(变)?$"),
    ("K25.900", "^胃溃疡$"),
    ("K92.200", "^上消化道出血$"),
    ("I10.x00", "高血压"),
]
HEADERS = [
    "病案号",
    "住院次数",
    "性别",
    "年龄",
    "出院科别",
    "出院主要诊断名称",
    "出院其他诊断名称1",
    "出院其他诊断名称2",
]


@pytest.fixture
def db(engine):
    with engine.begin() as conn:
        conn.execute(insert(icd_code), [{"code": c, "name": n} for c, n in CODES.items()])
    for code, pattern in RULES:
        add_rule(engine, code, pattern, author="t")
    return engine


def _insert(engine, records: dict[str, list[str]]) -> None:
    with engine.begin() as conn:
        for record, texts in records.items():
            conn.execute(
                insert(diagnosis),
                [
                    {"record_id": record, "seq_no": n, "kind": "discharge", "status": "pending", "description": t}
                    for n, t in enumerate(texts, 1)
                ],
            )


def _lines(engine, record: str):
    with engine.connect() as conn:
        q = select(diagnosis).where(diagnosis.c.record_id == record).order_by(diagnosis.c.seq_no)
        return conn.execute(q).all()


def _logs(engine, d_id: int):
    with engine.connect() as conn:
        return conn.execute(select(code_log).where(code_log.c.diagnosis_id == d_id).order_by(code_log.c.id)).all()


def _add(engine, codes, code, **kw):
    return service.add_combination(engine, codes, code, author="author", **kw).new


def test_the_issues_example_from_a_homepage_export(db, tmp_path):
    f = write_csv(
        tmp_path / "export.csv",
        HEADERS,
        [["0099001", "1", "女", "60岁", "内分泌科", "2型糖尿病", "糖尿病性周围神经病变", "高血压"]],
    )
    import_diagnoses(db, f, layout="homepage")
    combo = _add(db, "E11.900,G63.2*", "E11.401+G63.2*", note="剑号星号合并")
    result = run_coding(db)
    assert result.coded == 3
    first, second, third = _lines(db, "0099001-1")
    assert (first.status, first.code, first.coded_by) == ("coded", "E11.401+G63.2*", "auto")
    assert (second.status, second.code) == ("coded", "E11.401+G63.2*")
    assert third.code == "I10.x00"  # not a source code: untouched
    for line, own in ((first, "E11.900"), (second, "G63.2*")):
        (log,) = _logs(db, line.id)
        assert log.code == "E11.401+G63.2*" and log.source_code == own
        assert (log.combination_id, log.combination_version) == (combo.id, 1)
        assert log.source_ids == f"{first.id},{second.id}"  # both lines, the first holds the code
    (log3,) = _logs(db, third.id)
    assert log3.combination_id is None and log3.source_ids is None
    # One combination's code on both its source lines is one diagnosis, not a duplicate (code_log
    # says which application gave it); the starter edits find nothing here.
    with db.connect() as conn:
        kinds = conn.execute(select(edit_hit.c.diagnosis_id, edit_hit.c.kind)).all()
    assert kinds == []


@pytest.mark.parametrize("engine_name", ["python", "sql"])
def test_gastric_ulcer_with_bleeding_and_records_that_do_not_combine(db, engine_name):
    _add(db, "K25.900,K92.200", "K25.400")
    _insert(db, {"A": ["上消化道出血", "高血压", "胃溃疡"], "B": ["胃溃疡"], "C": ["上消化道出血"]})
    run_coding(db, engine_name=engine_name)  # --engine sql writes through the same batch writer
    a = _lines(db, "A")
    assert [ln.code for ln in a] == ["K25.400", "I10.x00", "K25.400"]
    assert _logs(db, a[0].id)[0].source_ids == f"{a[0].id},{a[2].id}"  # in seq order
    assert [ln.code for ln in _lines(db, "B")] == ["K25.900"]  # one source only: nothing to combine
    assert [ln.code for ln in _lines(db, "C")] == ["K92.200"]


def test_a_disabled_combination_does_nothing_and_a_line_serves_once(db):
    c = _add(db, "K25.900,K92.200", "K25.400")
    service.set_combination_enabled(db, c.id, False, author="author")
    _insert(db, {"A": ["胃溃疡", "上消化道出血"]})
    run_coding(db)
    assert [ln.code for ln in _lines(db, "A")] == ["K25.900", "K92.200"]


def test_a_persons_code_is_never_replaced_and_the_auto_line_goes_to_review(db):
    combo = _add(db, "E11.900,G63.2*", "E11.401+G63.2*")
    _insert(db, {"P": ["2型糖尿病", "周围神经病"]})
    run_coding(db)  # line 2 fails: no rule for it
    first, second = _lines(db, "P")
    assert (first.code, second.status) == ("E11.900", "failed")
    act(db, second.id, "code", "coder1", "G63.2*")  # a person codes it by hand
    # A later run (a new rule somewhere retries failures) reads the record again: the person's
    # G63.2* stays and so does the auto E11.900; the auto line is marked for review.
    with db.begin() as conn:
        conn.execute(update(diagnosis).where(diagnosis.c.id == first.id).values(status="pending"))
    run_coding(db)
    first, second = _lines(db, "P")
    assert (first.code, second.code, second.status) == ("E11.900", "G63.2*", "manual")
    with db.connect() as conn:
        marks = conn.execute(select(combo_hit)).all()
    assert [(m.diagnosis_id, m.combo_id, m.cleared_at) for m in marks] == [(first.id, combo.id, None)]
    assert "人工编码" in marks[0].reason
    (shown,) = service.review_lines(db)
    assert shown["diagnosis_id"] == first.id
    act(db, first.id, "confirm", "coder1")  # the coder decides: the mark no longer waits for review
    assert service.review_lines(db) == []
    # disabling the combination clears its marks
    service.set_combination_enabled(db, combo.id, False, author="author")
    with db.connect() as conn:
        assert conn.execute(select(combo_hit.c.cleared_at)).scalar_one() is not None


def test_a_records_lines_across_two_batches_and_two_runs(db):
    _add(db, "E11.900,G63.2*", "E11.401+G63.2*")
    _insert(db, {"X": ["2型糖尿病", "糖尿病性周围神经病变"], "Y": ["2型糖尿病", "高血压", "糖尿病性周围神经病"]})
    run_coding(db, batch_size=1)  # every line its own batch: the later batch completes the record
    assert [ln.code for ln in _lines(db, "X")] == ["E11.401+G63.2*"] * 2
    assert [ln.code for ln in _lines(db, "Y")] == ["E11.401+G63.2*", "I10.x00", "E11.401+G63.2*"]
    # a record completed by a later run: its first line was coded by the first run
    _insert(db, {"Z": ["2型糖尿病", "周围神经病变"]})
    first_run = run_coding(db)
    add_rule(db, "G63.2*", "^周围神经病变$", author="t")  # a new rule: the failure is retried
    second_run = run_coding(db)
    z1, z2 = _lines(db, "Z")
    assert (z1.code, z2.code) == ("E11.401+G63.2*", "E11.401+G63.2*")
    logs = _logs(db, z1.id)
    assert [(lg.run_id, lg.code, lg.combination_id is not None) for lg in logs] == [
        (first_run.run_id, "E11.900", False),
        (second_run.run_id, "E11.401+G63.2*", True),  # the second run's log names it too
    ]
    assert logs[1].source_ids == f"{z1.id},{z2.id}" and logs[1].source_code == "E11.900"


def test_history_rows_and_versions(db):
    c = _add(db, "K25.900,K92.200", "K25.400", reason="胃溃疡伴出血")
    rb = None
    with db.connect() as conn:
        rb = rulebase_version(conn)
    c2 = service.change_combination(db, c.id, author="b", reason="note", note="合并").new
    service.set_combination_enabled(db, c.id, False, author="c")
    shown = service.show_combination(db, c.id)
    assert c2.version == 2 and shown.item.version == 3 and not shown.item.enabled
    assert [(h["version"], h["action"], h["author"]) for h in shown.history] == [
        (1, "insert", "author"),
        (2, "update", "b"),
        (3, "disable", "c"),
    ]
    with db.connect() as conn:
        assert rulebase_version(conn) == rb  # no line's own decision changes: failures are not retried
    unchanged = service.change_combination(db, c.id, author="d", note="合并")
    assert not unchanged.changed


def test_invalid_combinations_are_refused_with_their_place(db):
    with pytest.raises(CombinationInvalid, match="at least two source codes"):
        Combination(codes="E11.900", code="E11.401+G63.2*")
    with pytest.raises(CombinationInvalid, match="combination 7: source code 'e11.900'.*lower-case"):
        Combination(codes="e11.900,G63.2*", code="E11.401+G63.2*", id=7)
    with pytest.raises(CombinationInvalid, match="one of its own source codes"):
        Combination(codes="K25.900,K25.400", code="K25.400")
    assert Combination(codes=" E11.900 ，G63.2*,E11.900", code="E11.401+G63.2*").codes == "E11.900,G63.2*"
    with pytest.raises(IcdCoderError, match="not in the code dictionary"):
        _add(db, "K25.900,K92.200", "K25.401")
    _add(db, "K25.900,K92.200", "K25.400")
    with pytest.raises(IcdCoderError, match="already has the codes"):
        _add(db, "K92.200,K25.900", "K25.400")


def test_a_change_that_breaks_audited_codes_is_refused_unless_forced(db):
    # The audited history: coders kept 胃溃疡 and 上消化道出血 apart in record H1, and combined
    # 2型糖尿病 + 周围神经病变 in record H2.
    _insert(db, {"H1": ["胃溃疡", "上消化道出血"], "H2": ["2型糖尿病", "糖尿病性周围神经病变"]})
    run_coding(db)
    for line in _lines(db, "H1"):
        act(db, line.id, "confirm", "coder1")
    for line in _lines(db, "H2"):
        act(db, line.id, "correct", "coder1", "E11.401+G63.2*")
    with pytest.raises(ChangeRefused) as refused:
        _add(db, "K25.900,K92.200", "K25.400")
    impact = refused.value.impact
    assert (impact.broken, impact.records_broken, impact.fixed) == (2, 1, 0)
    assert service.list_combinations(db) == []  # nothing written
    forced = service.add_combination(db, "K25.900,K92.200", "K25.400", author="a", force=True)
    assert forced.impact.broken == 2
    fixing = service.add_combination(db, "E11.900,G63.2*", "E11.401+G63.2*", author="a")
    assert (fixing.impact.fixed, fixing.impact.records_fixed, fixing.impact.broken) == (2, 1, 0)
    # disabling the one that fixes is judged too
    with pytest.raises(ChangeRefused):
        service.set_combination_enabled(db, fixing.new.id, False, author="a")
