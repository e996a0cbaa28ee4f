"""`report`'s record measures: each record's code sets (icdcoder's against the persons'), checked by
hand on a small history on SQLite and PostgreSQL, through the service, the CLI (text and --json)
and the workbook."""

import datetime as dt
import json

import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from coder.audit.actions import CODE, CONFIRM, CORRECT
from coder.audit.report import classify_query, code_sets, report, write_report_xlsx
from coder.cli import cli
from coder.db.models import diagnosis
from coder.run.loop import run_coding
from coder.services.audit import act
from coder.services.diagnoses import import_diagnoses
from coder.store import rules as rulestore
from rulebase.rule import Rule
from tests.conftest import write_csv

RULES = [
    ("I25.103", "冠(状动脉粥样硬化性)?心(脏)?病"),
    ("I10.x00x004", "高血压(病)?.{0,2}3级"),
    ("J18.900", "肺炎"),
]
# (record, seq, description, code at import, what the persons do, month of the last review)
LINES = [
    ("R1", 1, "冠心病", "", [(CONFIRM, None)], "2025-01"),
    ("R1", 2, "高血压病3级", "", [(CORRECT, "I10.x00x003")], "2025-01"),
    ("R1", 3, "胆石症", "", [(CODE, "K80.200")], "2025-02"),  # no_match, coded by hand
    ("R1", 4, "肺炎", "", [], None),  # auto-coded, not reviewed: not in any set
    # corrected twice: icdcoder's code is the one the first correction replaced (J18.900), which
    # the persons gave the record's second line, so it is in both sets
    ("R2", 1, "肺炎", "", [(CONFIRM, None), (CORRECT, "I20.000"), (CORRECT, "J06.900")], "2025-02"),
    ("R2", 2, "社区获得性感染", "", [(CODE, "J18.900")], "2025-02"),
    ("R3", 1, "冠心病", "", [(CONFIRM, None)], "2025-02"),
    ("R3", 2, "冠状动脉粥样硬化性心脏病", "", [(CONFIRM, None)], "2025-02"),  # the same code twice: one
    ("R3", 3, "高血压病2级", "I10.x00x003", [], None),  # a person's code before any run: left out
    ("R4", 1, "胆石症", "", [(CODE, "K80.200")], "2025-02"),  # icdcoder gave this record no code
]
# By hand, the whole period:
# R1 persons {I25.103, I10.x00x003, K80.200}, icdcoder {I25.103, I10.x00x004}: both 1, P 1/2, R 1/3, F1 2/5
# R2 persons {J06.900, J18.900}, icdcoder {J18.900}: both 1, P 1, R 1/2, F1 2/3
# R3 persons {I25.103} = icdcoder {I25.103}: exact, P = R = F1 = 1
# R4 persons {K80.200}, icdcoder {}: no precision, R = F1 = 0
WHOLE = {
    "count": 4,
    "exact": 1,
    "exact_share": 0.25,
    "codes_both": 3,
    "codes_engine_only": 1,
    "codes_person_only": 4,
    "precision": 0.75,
    "recall": round(3 / 7, 4),
    "f1": round(2 * 0.75 * (3 / 7) / (0.75 + 3 / 7), 4),
    "macro_precision": round((1 / 2 + 1 + 1) / 3, 4),
    "macro_recall": round((1 / 3 + 1 / 2 + 1 + 0) / 4, 4),
    "macro_f1": round((2 / 5 + 2 / 3 + 1 + 0) / 4, 4),
}
# By month R1 is two partial records: January {I25.103, I10.x00x003} against {I25.103, I10.x00x004};
# February {K80.200} against nothing, beside R2, R3 and R4.
JANUARY = {"count": 1, "exact": 0, "codes_both": 1, "codes_engine_only": 1, "codes_person_only": 1}
FEBRUARY = {"count": 4, "exact": 1, "codes_both": 2, "codes_engine_only": 0, "codes_person_only": 3}
FEBRUARY_MACRO = {"macro_precision": 1.0, "macro_recall": 0.375, "macro_f1": round((2 / 3 + 1) / 4, 4)}


@pytest.fixture
def history(seeded, tmp_path):
    with seeded.begin() as conn:
        for code, pattern in RULES:
            rulestore.add_rule(conn, Rule(code=code, pattern=pattern), "王芳", None)
    rows = [[r, seq, text, code] for r, seq, text, code, *_ in LINES]
    import_diagnoses(seeded, write_csv(tmp_path / "d.csv", ["record_id", "seq", "description", "code"], rows))
    run_coding(seeded)
    with seeded.connect() as conn:
        ids = {
            (r.record_id, r.seq_no): r.id
            for r in conn.execute(select(diagnosis.c.record_id, diagnosis.c.seq_no, diagnosis.c.id))
        }
    for record, seq, _, _, actions, month in LINES:
        for i, (action, code) in enumerate(actions):
            act(seeded, ids[record, seq], action, "李娜" if i == 0 else "张伟", code)
        if month:
            with seeded.begin() as conn:
                stamp = dt.datetime.fromisoformat(f"{month}-15 10:00")
                conn.execute(update(diagnosis).where(diagnosis.c.id == ids[record, seq]).values(updated_at=stamp))
    return seeded


def test_record_measures_by_hand_for_the_period_and_by_month(history):
    data = report(history, by=("month",))
    assert (data["tp"], data["fp"], data["fn"] + data["tn"], data["total"]) == (3, 2, 3, 8)
    assert data["records"] == WHOLE
    assert report(history)["records"] == WHOLE  # the same without the months
    lean = report(history, by=("month",), records_by_month=False)  # what the page and the workbook ask
    assert lean["records"] == WHOLE and all("records" not in m for m in lean["by_month"])
    january, february = data["by_month"]
    assert january["month"] == "2025-01" and february["month"] == "2025-02"
    assert {k: january["records"][k] for k in JANUARY} == JANUARY
    assert (january["records"]["precision"], january["records"]["recall"], january["records"]["f1"]) == (0.5,) * 3
    assert {k: february["records"][k] for k in FEBRUARY} == FEBRUARY
    assert {k: february["records"][k] for k in FEBRUARY_MACRO} == FEBRUARY_MACRO
    # a period is the lines reviewed in it: to the end of January, R1's first two lines only
    assert report(history, date_to="2025-01-31")["records"] == {
        **JANUARY,
        **{k: v for k, v in january["records"].items()},
    }
    assert report(history, date_from="2999-01-01")["records"]["count"] == 0


def test_cli_text_json_and_workbook(history, tmp_path, monkeypatch):
    monkeypatch.setenv("ICDCODER_DB", history.url.render_as_string(hide_password=False))
    r = CliRunner().invoke(cli, ["report"], catch_exceptions=False)
    assert r.exit_code == 0
    assert (
        "records: 4, code set exactly right 1 (25.0%); micro precision 75.0%, recall 42.9%, F1 54.5%; "
        "macro precision 83.3%, recall 45.8%, F1 51.7%"
    ) in r.output
    out = json.loads(CliRunner().invoke(cli, ["report", "--json", "--by", "month"]).output)
    assert set(out["records"]) == {
        "count", "exact", "exact_share", "precision", "recall", "f1", "macro_precision", "macro_recall", "macro_f1",
        "codes_both", "codes_engine_only", "codes_person_only",
    }  # fmt: skip
    assert out["records"] == WHOLE and [m["records"]["count"] for m in out["by_month"]] == [1, 4]
    monthly = CliRunner().invoke(cli, ["report", "--by", "month"]).output
    assert "record F1" in monthly
    path = tmp_path / "report.xlsx"
    write_report_xlsx(report(history, by=("month", "chapter", "code")), path)
    ws = openpyxl.load_workbook(path)["summary"]
    summary = dict(zip([c.value for c in ws[1]], [c.value for c in ws[2]], strict=True))
    assert summary["tp"] == 3 and summary["records_count"] == 4 and summary["records_exact_share"] == 0.25
    assert summary["records_f1"] == WHOLE["f1"] and summary["records_macro_f1"] == WHOLE["macro_f1"]


def test_code_sets_rule():
    gold = {"a": {"X", "Y"}, "b": {"Z"}}
    auto = {"a": {"X", "W"}}
    got = code_sets(gold, auto)
    assert (got["codes_both"], got["codes_engine_only"], got["codes_person_only"]) == (1, 1, 2)
    assert (got["precision"], got["recall"], got["macro_precision"], got["macro_recall"]) == (0.5, 0.3333, 0.5, 0.25)
    assert got["macro_f1"] == 0.25 and got["exact"] == 0  # a: 2·1/(2+2); b: 0
    assert code_sets({}, {})["exact_share"] is None


def test_the_line_query_reads_the_audited_index_alone_on_sqlite(tmp_path):
    """SQLAlchemy drops a SQLite table hint unless told to render it; the report tells it."""
    from coder.db.connect import make_engine
    from coder.db.migrate import upgrade_db

    engine = make_engine(f"sqlite:///{tmp_path / 'plan.db'}")
    upgrade_db(engine)
    q = classify_query(dt.datetime(2025, 1, 1), None, None, "sqlite")
    sql = str(q.compile(engine, compile_kwargs={"literal_binds": True}))
    assert "FROM diagnosis INDEXED BY ix_diagnosis_audited" in sql
    with engine.connect() as conn:
        plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
    assert "COVERING INDEX ix_diagnosis_audited" in plan
    engine.dispose()
