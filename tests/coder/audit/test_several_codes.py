"""Lines naming several diagnoses (README "Matching semantics" point 3), end to end: the run codes
each with its rule and span, the audit confirms or corrects each, reports and records count each."""

import json

import pytest
from sqlalchemy import insert, select

from coder.audit.actions import CODE, CONFIRM, CORRECT, queue
from coder.audit.report import code_kinds, report
from coder.db.models import audit_action, code_log, diagnosis, icd_code
from coder.errors import ActionRefused
from coder.run.loop import run_coding
from coder.services.audit import act
from coder.services.diagnoses import import_diagnoses
from coder.store import rules as rulestore
from rulebase.rule import Rule
from tests.conftest import write_csv

RULES = [
    ("I25.103", "冠(状动脉粥样硬化性)?心(脏)?病"),
    ("I20.000", "不稳定(型)?心绞痛"),
    ("I20.900", "心绞痛"),
    ("I49.900", "心律失常"),
    ("I44.200", "(三度|3度|III度|完全性)房室传导阻滞"),
    ("N39.000", "(泌尿道|尿路)感染"),
    ("R57.200", "感染性休克"),
]
LINES = [
    ("r1", "冠状动脉粥样硬化性心脏病 不稳定型心绞痛"),  # the demo's old "ambiguous" example: two diagnoses
    ("r2", "心律失常III度房室传导阻滞"),  # a real discharge's line, written without a break
    ("r3", "不稳定型心绞痛"),  # 心绞痛 lies inside it: the longer match wins
    ("r4", "尿路感染性休克"),  # both claim 感染: ambiguous
    ("r5", "冠心病 疑似不稳定型心绞痛"),  # one part guarded: the line is not auto-coded
]


@pytest.fixture
def coded(seeded, tmp_path):
    with seeded.begin() as conn:
        conn.execute(
            insert(icd_code),
            [
                {"code": "I20.900", "name": "心绞痛"},
                {"code": "I49.900", "name": "心律失常"},
            ],
        )
        for code, pattern in RULES:
            rulestore.add_rule(conn, Rule(code=code, pattern=pattern), "王芳", None)
    import_diagnoses(seeded, write_csv(tmp_path / "d.csv", ["record_id", "description"], [list(x) for x in LINES]))
    res = run_coding(seeded)
    with seeded.connect() as conn:
        ids = {r.record_id: r.id for r in conn.execute(select(diagnosis.c.record_id, diagnosis.c.id))}
        rule_ids = {r.code: r.id for r in conn.execute(select(rulestore.coding_rule))}
    return seeded, ids, rule_ids, res


def _line(engine, d_id):
    with engine.connect() as conn:
        return conn.execute(select(diagnosis).where(diagnosis.c.id == d_id)).one()


def test_the_run_codes_each_diagnosis_with_its_rule_and_span(coded):
    engine, ids, rule_ids, res = coded
    assert (res.coded, res.ambiguous, res.uncertain) == (3, 1, 1)
    expected = {
        "r1": ("I25.103", "I20.000", [(0, "I25.103", 0, 12), (1, "I20.000", 13, 20)]),
        "r2": ("I49.900", "I44.200", [(0, "I49.900", 0, 4), (1, "I44.200", 4, 14)]),
        "r3": ("I20.000", None, [(0, "I20.000", 0, 7)]),
    }
    with engine.connect() as conn:
        for record, (code, other, logged) in expected.items():
            line = _line(engine, ids[record])
            assert (line.status, line.code, line.other_codes) == ("coded", code, other)
            rows = conn.execute(
                select(code_log).where(code_log.c.diagnosis_id == ids[record]).order_by(code_log.c.position)
            ).all()
            assert [(r.position, r.code, r.match_start, r.match_end) for r in rows] == logged
            assert [r.rule_id for r in rows] == [rule_ids[c] for _, c, _, _ in logged]
    assert _line(engine, ids["r4"]).fail_reason == "ambiguous"
    assert _line(engine, ids["r5"]).fail_reason == "uncertain"


def test_diagnoses_list_json_gives_every_code_and_the_queue_shows_them(coded, cli_invoke):
    engine, ids, _, _ = coded
    out = cli_invoke("diagnoses", "list", "--record", "r1", "--json")
    assert out.exit_code == 0, out.output
    (row,) = json.loads(out.output)
    assert (row["code"], row["codes"]) == ("I25.103", ["I25.103", "I20.000"])
    assert "I25.103,I20.000" in cli_invoke("diagnoses", "list", "--record", "r1").output
    (one,) = json.loads(cli_invoke("diagnoses", "list", "--record", "r3", "--json").output)
    assert (one["code"], one["codes"]) == ("I20.000", ["I20.000"])
    item = next(i for i in queue(engine) if i["diagnosis_id"] == ids["r1"])
    assert (item["auto_code"], item["auto_codes"]) == ("I25.103", ["I25.103", "I20.000"])


def test_confirm_agrees_with_each_code_and_correct_changes_one(coded):
    engine, ids, rule_ids, _ = coded
    done = act(engine, ids["r1"], CONFIRM, "李娜")
    assert (done.status, done.codes) == ("confirmed", ("I25.103", "I20.000"))
    with pytest.raises(ActionRefused, match="is coded I49.900,I44.200, not I49.900"):
        act(engine, ids["r2"], CONFIRM, "李娜", "I49.900")
    # the list as a person writes it (full-width comma, blanks) is the line's list
    with pytest.raises(ActionRefused, match="already coded I49.900,I44.200"):
        act(engine, ids["r2"], CORRECT, "李娜", "I49.900， I44.200")
    done = act(engine, ids["r2"], CORRECT, "李娜", "I49.900")  # the block was the arrhythmia's words
    line = _line(engine, ids["r2"])
    assert (line.status, line.code, line.other_codes) == ("corrected", "I49.900", None)
    with engine.connect() as conn:
        row = conn.execute(select(audit_action).where(audit_action.c.id == done.audit_id)).one()
    assert (row.old_code, row.old_other_codes, row.new_code, row.new_other_codes) == (
        "I49.900",
        "I44.200",
        "I49.900",
        None,
    )
    assert row.rule_id == rule_ids["I44.200"]  # the correction answers the rule of the code it dropped
    act(engine, ids["r4"], CODE, "李娜", "N39.000,R57.200")  # the ambiguous line: both, by hand
    line = _line(engine, ids["r4"])
    assert (line.status, line.code, line.other_codes) == ("manual", "N39.000", "R57.200")
    with pytest.raises(ActionRefused, match="Z99.999"):
        act(engine, ids["r3"], CORRECT, "李娜", "I20.000,Z99.999")  # every code is checked


def test_reports_count_each_code_of_a_line(coded):
    engine, ids, _, _ = coded
    act(engine, ids["r1"], CONFIRM, "李娜")  # two codes right: 2 TP
    act(engine, ids["r2"], CORRECT, "李娜", "I49.900")  # one kept (TP), one dropped (FP)
    act(engine, ids["r3"], CORRECT, "李娜", "I25.103,I20.000")  # one kept (TP), one added: FN (it has a rule)
    act(engine, ids["r4"], CODE, "李娜", "N39.000,R57.200")  # by hand: two FN
    out = report(engine, by=("code",))
    assert (out["tp"], out["fp"], out["fn"], out["tn"]) == (4, 1, 3, 0)
    by_code = {r["code"]: (r["tp"], r["fp"], r["fn"]) for r in out["by_code"]}
    assert by_code["I44.200"] == (0, 1, 0) and by_code["I20.000"] == (2, 0, 0) and by_code["R57.200"] == (0, 0, 1)
    # records: icdcoder's codes {I25.103, I20.000}, {I49.900, I44.200}, {I20.000}, {} against the persons'
    rec = out["records"]
    assert (rec["count"], rec["exact"], rec["codes_both"], rec["codes_engine_only"], rec["codes_person_only"]) == (
        4,
        1,
        4,
        1,
        3,
    )


def test_code_kinds_pairs_a_replaced_code_with_the_persons_and_counts_the_rest():
    ruled = {"B", "C"}
    assert code_kinds("confirmed", ("A", "B"), ("A", "B"), ruled) == [("tp", "A"), ("tp", "B")]
    assert code_kinds("corrected", ("B",), ("A",), ruled) == [("fp", "B")]  # a line of one code, as ever
    assert code_kinds("corrected", ("A", "C"), ("A", "B"), ruled) == [("tp", "A"), ("fp", "C")]
    assert code_kinds("corrected", ("A",), ("A", "B"), ruled) == [("tp", "A"), ("fp", "B")]
    assert code_kinds("corrected", ("A", "B", "D"), ("A",), ruled) == [("tp", "A"), ("fn", "B"), ("tn", "D")]
    assert code_kinds("manual", ("B", "D"), (), ruled) == [("fn", "B"), ("tn", "D")]


def test_an_export_carries_a_lines_codes_and_imports_back(coded, tmp_path, codes_csv):
    from coder.db.connect import make_engine
    from coder.db.migrate import upgrade_db
    from coder.imports.tabular import read_sheet
    from coder.services.diagnoses import export_diagnoses
    from coder.services.dictionary import import_dictionary

    engine, ids, _, _ = coded
    act(engine, ids["r2"], CORRECT, "李娜", "I49.900")
    out = tmp_path / "back.csv"
    export_diagnoses(engine, out, layout="long")
    cells = {r.values["record_id"]: r.values for r in read_sheet(out).rows}
    assert (cells["r1"]["code"], cells["r1"]["status"]) == ("I25.103,I20.000", "coded")
    assert (cells["r2"]["code"], cells["r2"]["status"]) == ("I49.900", "corrected")
    s = import_diagnoses(engine, out, layout="long").summary()  # the same lines: nothing changes
    assert (s["added"], s["codes_not_applied"]) == (0, 0)
    # Into a database that has not seen them: a person's list (here icdcoder's, coming back, is pending)
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade_db(other)
    import_dictionary(other, codes_csv)
    with other.begin() as conn:
        conn.execute(insert(icd_code), [{"code": "I49.900", "name": "心律失常"}])
    rows = [["r9", "1", "冠心病 不稳定型心绞痛", "I25.103，I20.000"]]
    import_diagnoses(other, write_csv(tmp_path / "p.csv", ["record_id", "seq", "description", "code"], rows))
    with other.connect() as conn:
        line = conn.execute(select(diagnosis)).one()
    other.dispose()
    assert (line.status, line.code, line.other_codes) == ("manual", "I25.103", "I20.000")
