"""Combination codes over lines of several codes (#14): a source among a line's other codes, the log
row of each replaced code, a line of an earlier run copied whole; review marks that close when the
situation resolves (a run, an audit action via check_marks); the judgement decides lines with the
guards and compares every code of a person's line. SQLite and PostgreSQL for the run."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, update

from coder.audit.combotest import judge_combinations
from coder.db.connect import make_engine
from coder.db.migrate import upgrade_db
from coder.db.models import code_log, combo_hit, diagnosis, edit_hit, icd_code
from coder.run.loop import run_coding
from coder.services import combinations as service
from coder.services.audit import act
from coder.services.rules import add_rule
from coder.store import combinations as combostore
from rulebase.combinations import Combination

CODES = {
    "E11.900": "2型糖尿病",
    "G63.2*": "糖尿病性多神经病",
    "E11.401+G63.2*": "2型糖尿病性周围神经病",
    "K25.900": "胃溃疡",
    "K92.200": "上消化道出血",
    "K25.400": "胃溃疡伴出血",
    "I10.x00": "原发性高血压",
    "J18.900": "肺炎",
}
RULES = [
    ("E11.900", "2型糖尿病"),
    ("G63.2*", "糖尿病性周围神经病"),
    ("K25.900", "胃溃疡"),
    ("K92.200", "上消化道出血"),
    ("I10.x00", "高血压"),
]


def _db(engine):
    with engine.begin() as conn:
        conn.execute(insert(icd_code), [{"code": c, "name": n} for c, n in CODES.items()])
    for code, pattern in RULES:
        add_rule(engine, code, pattern, author="t")
    return engine


@pytest.fixture
def db(engine):
    return _db(engine)


@pytest.fixture
def lite(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'combos.db'}")
    upgrade_db(engine)
    yield _db(engine)
    engine.dispose()


def _insert(engine, record: str, lines: list, status="pending") -> None:
    """Lines of one record: a text, or (text, status, code, other_codes) for a person's line."""
    rows = []
    for n, ln in enumerate(lines, 1):
        text, st, code, other = (ln, status, None, None) if isinstance(ln, str) else ln
        person = st in ("manual", "confirmed", "corrected")
        rows.append(
            {
                "record_id": record,
                "seq_no": n,
                "kind": "discharge",
                "description": text,
                "status": st,
                "code": code,
                "other_codes": other,
                "coded_by": "李编码" if person else None,
            }
        )
    with engine.begin() as conn:
        conn.execute(insert(diagnosis), rows)


def _lines(engine, record: str):
    with engine.connect() as conn:
        q = select(diagnosis).where(diagnosis.c.record_id == record).order_by(diagnosis.c.seq_no)
        return conn.execute(q).all()


def _logs(engine, d_id: int):
    with engine.connect() as conn:
        q = select(code_log).where(code_log.c.diagnosis_id == d_id).order_by(code_log.c.run_id, code_log.c.position)
        return conn.execute(q).all()


def _marks(engine):
    with engine.connect() as conn:
        return conn.execute(select(combo_hit).order_by(combo_hit.c.id)).all()


def test_a_source_among_a_lines_codes_is_replaced_in_place(db):
    combo = service.add_combination(db, "E11.900,G63.2*", "E11.401+G63.2*", author="a").new
    _insert(db, "A", ["2型糖尿病伴高血压", "糖尿病性周围神经病变"])
    _insert(db, "B", ["高血压伴2型糖尿病", "糖尿病性周围神经病变"])
    run_coding(db)
    a1, a2 = _lines(db, "A")
    assert (a1.code, a1.other_codes, a2.code, a2.other_codes) == ("E11.401+G63.2*", "I10.x00", "E11.401+G63.2*", None)
    b1, _ = _lines(db, "B")
    assert (b1.code, b1.other_codes) == ("I10.x00", "E11.401+G63.2*")  # the second code, in its place
    first, second = _logs(db, b1.id)
    assert (first.position, first.code, first.combination_id) == (0, "I10.x00", None)
    assert (second.position, second.code, second.source_code) == (1, "E11.401+G63.2*", "E11.900")
    assert (second.combination_id, second.source_ids) == (combo.id, f"{b1.id},{b1.id + 1}")
    # one combination's code on both source lines is one diagnosis: no duplicate mark
    with db.connect() as conn:
        assert conn.execute(select(edit_hit.c.kind)).all() == []


def test_a_line_of_an_earlier_run_is_copied_whole_and_its_code_replaced(lite):
    service.add_combination(lite, "E11.900,G63.2*", "E11.401+G63.2*", author="a")
    _insert(lite, "Z", ["2型糖尿病伴高血压", "周围神经病变"])
    first_run = run_coding(lite)  # line 2 fails: no rule for it yet
    add_rule(lite, "G63.2*", "^周围神经病变$", author="t")
    second_run = run_coding(lite)
    z1, z2 = _lines(lite, "Z")
    assert (z1.code, z1.other_codes, z2.code) == ("E11.401+G63.2*", "I10.x00", "E11.401+G63.2*")
    logs = [(lg.run_id, lg.position, lg.code, lg.source_code) for lg in _logs(lite, z1.id)]
    assert logs == [
        (first_run.run_id, 0, "E11.900", None),
        (first_run.run_id, 1, "I10.x00", None),
        (second_run.run_id, 0, "E11.401+G63.2*", "E11.900"),
        (second_run.run_id, 1, "I10.x00", None),
    ]


def test_a_review_mark_closes_when_the_persons_code_no_longer_blocks(lite):
    combo = service.add_combination(lite, "E11.900,G63.2*", "E11.401+G63.2*", author="a").new
    _insert(lite, "P", ["2型糖尿病伴高血压", ("周围神经病", "manual", "G63.2*", None)])
    run_coding(lite)
    p1, p2 = _lines(lite, "P")
    assert (p1.code, p1.other_codes, p2.code) == ("E11.900", "I10.x00", "G63.2*")  # the person's code stays
    (mark,) = _marks(lite)
    assert (mark.diagnosis_id, mark.combo_id, mark.cleared_at) == (p1.id, combo.id, None)
    # The person's line changes outside any action; the next run over the record closes the mark.
    with lite.begin() as conn:
        conn.execute(update(diagnosis).where(diagnosis.c.id == p2.id).values(code="J18.900"))
        conn.execute(update(diagnosis).where(diagnosis.c.id == p1.id).values(status="pending"))
    run_coding(lite)
    (mark,) = _marks(lite)
    assert mark.cleared_at is not None
    assert [ln.code for ln in _lines(lite, "P")] == ["E11.900", "J18.900"]


def test_an_audit_action_opens_and_closes_review_marks(lite):
    service.add_combination(lite, "E11.900,G63.2*", "E11.401+G63.2*", author="a")
    _insert(lite, "Q", ["2型糖尿病", "周围神经病"])
    run_coding(lite)
    q1, q2 = _lines(lite, "Q")
    act(lite, q2.id, "code", "coder1", "G63.2*")  # a person's code now stands in the way

    def check():
        with lite.begin() as conn:
            combostore.check_marks(conn, records=["Q"])  # what every audit action calls (actions.py)
        return [(m.diagnosis_id, m.cleared_at is None) for m in _marks(lite)]

    assert check() == [(q1.id, True)]
    # the coder writes the combination code on the person's line: nothing left to combine
    act(lite, q2.id, "correct", "coder1", "E11.401+G63.2*")
    assert check() == [(q1.id, False)]
    act(lite, q2.id, "correct", "coder1", "G63.2*")
    assert check() == [(q1.id, False), (q1.id, True)]  # blocked again: a new mark
    act(lite, q1.id, "confirm", "coder1")  # the auto line decided by a person: every source theirs
    assert check() == [(q1.id, False), (q1.id, False)]
    with lite.begin() as conn:
        assert combostore.check_marks(conn, records=["Q"]) == (0, 0)


def test_the_judgement_decides_with_the_guards_and_reads_every_code_of_a_persons_line(lite):
    ulcer = Combination(codes="K25.900,K92.200", code="K25.400")
    # A coder kept 疑似胃溃疡 (guarded: a run gives it no code) apart from the bleeding. Judged
    # without the guards this record would count two correct lines turned wrong.
    _insert(lite, "H1", [("疑似胃溃疡", "manual", "K25.900", None), ("上消化道出血", "confirmed", "K92.200", None)])
    with lite.connect() as conn:
        impact = judge_combinations(conn, [], [ulcer])
    assert (impact.records, impact.audited, impact.broken, impact.fixed) == (1, 2, 0, 0)
    # A line of three codes, all a person's: the record is found by its other codes, and the
    # combination would turn the line's codes wrong.
    _insert(lite, "H2", [("高血压伴胃溃疡伴上消化道出血", "confirmed", "I10.x00", "K25.900,K92.200")])
    with lite.connect() as conn:
        impact = judge_combinations(conn, [], [ulcer])
    assert (impact.records, impact.broken, impact.records_broken) == (2, 1, 1)
    assert impact.broken_examples == ["高血压伴胃溃疡伴上消化道出血 (I10.x00,K25.900,K92.200, now I10.x00,K25.400)"]


def test_the_edits_read_coded_lines_and_know_the_first_line_without_a_code(lite):
    from coder.audit.actions import queue

    _insert(lite, "M", ["肺部阴影", "糖尿病性周围神经病变"])  # line 1 fails: no rule for it
    _insert(lite, "N", ["糖尿病性周围神经病变伴高血压"])  # the asterisk first: the main diagnosis
    run_coding(lite)
    marks = sorted((i["record_id"], i["seq"], m["kind"]) for i in queue(lite, edits=True) for m in i["edits"])
    assert marks == [("M", 2, "asterisk_alone"), ("N", 1, "asterisk_alone"), ("N", 1, "asterisk_main")]
