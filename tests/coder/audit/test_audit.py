"""The audit loop on a small hand-made history: actions, worklist round trip, feedback, report."""

import json

import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from coder.audit.actions import CODE, CONFIRM, CORRECT, queue
from coder.audit.feedback import feedback
from coder.audit.report import report, write_report_xlsx
from coder.audit.worklist import export_worklist, import_worklist
from coder.cli import cli
from coder.db.models import audit_action, diagnosis
from coder.errors import ImportRejected
from coder.run.loop import run_coding
from coder.services.audit import act
from coder.services.diagnoses import import_diagnoses
from coder.store import rules as rulestore
from rulebase.rule import Rule
from tests.conftest import write_csv

RULES = [
    ("I25.103", "冠(状动脉粥样硬化性)?心(脏)?病"),
    ("I20.000", "不稳定(型)?心绞痛"),
    ("I10.x00x004", "高血压(病)?.{0,2}3级"),
    ("J18.900", "肺炎"),
    ("I10.x00x003", "高血压(病)?.{0,2}2级"),
]
DIAGNOSES = [
    ("d1", "冠心病", ""),
    ("d2", "高血压病3级", ""),
    ("d3", "肺炎", ""),
    ("d4", "冠心病 不稳定型心绞痛", ""),
    ("d5", "胆石症", ""),
    ("d6", "胆石症", ""),
    ("d7", "高血压3级", ""),
    ("d8", "高血压病2级", "I10.x00x003"),
]


@pytest.fixture
def reviewed(seeded, tmp_path):
    """After one run: d1 d2 d3 d7 coded, d4 ambiguous, d5 d6 no_match, d8 coded by a person at import.
    The paper's strict semantics, so d4's two diagnoses are an ambiguity to code by hand (the
    several-codes audit is tests/coder/audit/test_several_codes.py)."""
    from coder.store.settings import set_matching

    with seeded.begin() as conn:
        set_matching(conn, "strict")
        for code, pattern in RULES:
            rulestore.add_rule(conn, Rule(code=code, pattern=pattern), "王芳", None)
    import_diagnoses(
        seeded, write_csv(tmp_path / "d.csv", ["record_id", "description", "code"], [list(d) for d in DIAGNOSES])
    )
    run_coding(seeded)
    with seeded.connect() as conn:
        ids = {r.record_id: r.id for r in conn.execute(select(diagnosis.c.record_id, diagnosis.c.id))}
    return seeded, ids


def _review(engine, ids):
    act(engine, ids["d1"], CONFIRM, "李娜")
    act(engine, ids["d2"], CORRECT, "李娜", "I10.x00x003", "分级写错")
    act(engine, ids["d3"], CONFIRM, "李娜")
    act(engine, ids["d3"], CORRECT, "张伟", "J06.900", "上感，非肺炎")  # the latest person's word stands
    act(engine, ids["d4"], CODE, "李娜", "I20.000")
    act(engine, ids["d5"], CODE, "李娜", "K80.200")
    act(engine, ids["d6"], CODE, "张伟", "K80.200")


def test_queue_lists_auto_codes_and_failures_oldest_first(reviewed):
    engine, ids = reviewed
    items = queue(engine)
    assert [i["diagnosis_id"] for i in items] == sorted(ids[k] for k in ("d1", "d2", "d3", "d4", "d5", "d6", "d7"))
    d4 = next(i for i in items if i["diagnosis_id"] == ids["d4"])
    assert (d4["reason"], d4["candidates"], d4["auto_code"]) == ("ambiguous", ["I20.000", "I25.103"], None)
    d2 = next(i for i in items if i["diagnosis_id"] == ids["d2"])
    assert (d2["auto_code"], d2["auto_code_name"], d2["normalized"], d2["rule_id"]) == (
        "I10.x00x004",
        "高血压病3级",
        "高血压病3级",
        3,
    )
    assert [i["record_id"] for i in queue(engine, status="failed", reason="no_match")] == ["d5", "d6"]
    assert queue(engine, run=99) == []


def test_actions_are_final_and_history_keeps_every_word(reviewed, tmp_path):
    engine, ids = reviewed
    _review(engine, ids)
    with engine.connect() as conn:
        rows = {r.record_id: r for r in conn.execute(select(diagnosis))}
        d3_actions = conn.execute(
            select(audit_action).where(audit_action.c.diagnosis_id == ids["d3"]).order_by(audit_action.c.id)
        ).all()
    assert (rows["d1"].status, rows["d1"].code, rows["d1"].coded_by) == ("confirmed", "I25.103", "李娜")
    assert (rows["d2"].status, rows["d2"].code) == ("corrected", "I10.x00x003")
    assert (rows["d3"].status, rows["d3"].code, rows["d3"].coded_by) == ("corrected", "J06.900", "张伟")
    assert [(a.action, a.person, a.old_code, a.new_code, a.rule_id) for a in d3_actions] == [
        ("confirm", "李娜", "J18.900", "J18.900", 4),
        ("correct", "张伟", "J18.900", "J06.900", 4),
    ]
    assert (rows["d4"].status, rows["d4"].code) == ("manual", "I20.000")
    # a later run, after a rule change, touches none of them
    with engine.begin() as conn:
        rulestore.add_rule(conn, Rule(code="K80.200", pattern="胆(石症|囊结石)"), "王芳", "#6 #7")
    second = run_coding(engine)
    assert second.considered == 0
    with engine.connect() as conn:
        after = {r.record_id: (r.status, r.code) for r in conn.execute(select(diagnosis))}
    assert after == {k: (v.status, v.code) for k, v in rows.items()}


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ("confirm", "d5"),
            "Error: diagnosis {d5} has no code to confirm (status failed); code it by hand with: audit code\n",
        ),
        (
            ("correct", "d5", "--code", "K80.200"),
            "Error: diagnosis {d5} was not auto-coded (status failed); use: audit code\n",
        ),
        (
            ("code", "d1", "--code", "I20.000"),
            "Error: diagnosis {d1} is coded I25.103 (status coded); to change the code use: audit correct\n",
        ),
        (
            ("correct", "d1", "--code", "I25.103"),
            "Error: diagnosis {d1} is already coded I25.103; to agree with it use: audit confirm\n",
        ),
        (
            ("code", "d5", "--code", "K80.999"),
            "Error: diagnosis {d5}: code 'K80.999' is not in the code dictionary (import it with icdcoder dict import)\n",
        ),
        (("confirm", "99999"), "Error: no diagnosis with id 99999\n"),
    ],
)
def test_cli_actions_refuse_what_does_not_fit(reviewed, db_url, monkeypatch, args, message):
    _, ids = reviewed
    monkeypatch.setenv("ICDCODER_DB", db_url)
    argv = ["audit", args[0], str(ids.get(args[1], args[1]))] + list(args[2:]) + ["--by", "李娜"]
    r = CliRunner().invoke(cli, argv)
    assert (r.exit_code, r.output) == (1, message.format(**ids))


def test_cli_confirm_and_queue_json(reviewed, db_url, monkeypatch):
    _, ids = reviewed
    monkeypatch.setenv("ICDCODER_DB", db_url)
    r = CliRunner().invoke(cli, ["audit", "confirm", str(ids["d1"]), "--by", "李娜"])
    assert (r.exit_code, r.output) == (0, f"diagnosis {ids['d1']}: confirmed I25.103 (audit #1)\n")
    items = json.loads(CliRunner().invoke(cli, ["audit", "queue", "--status", "coded", "--json"]).output)
    assert [i["record_id"] for i in items] == ["d2", "d3", "d7"]


def test_worklist_round_trip_is_all_or_nothing_and_harmless_twice(reviewed, tmp_path):
    engine, ids = reviewed
    path = tmp_path / "worklist.xlsx"
    assert export_worklist(engine, path) == 7
    wb = openpyxl.load_workbook(path)
    ws = wb["worklist"]
    header = [c.value for c in ws[1]]
    assert header == [
        "diagnosis_id",
        "record_id",
        "description",
        "normalized",
        "auto_code",
        "auto_code_name",
        "reason",
        "candidates",
        "suggestions",
        "decision",
        "correct_code",
        "comment",
    ]
    assert any("confirm,correct,code" in dv.formula1 for dv in ws.data_validations.dataValidation)
    row_of = {ws.cell(row=r, column=2).value: r for r in range(2, ws.max_row + 1)}
    col = {h: i + 1 for i, h in enumerate(header)}

    def fill(record, decision, code=None, comment=None):
        # .value = None clears a cell; ws.cell(value=None) would leave it as it was
        ws.cell(row=row_of[record], column=col["decision"]).value = decision
        ws.cell(row=row_of[record], column=col["correct_code"]).value = code
        ws.cell(row=row_of[record], column=col["comment"]).value = comment

    # bad rows first: every one is reported, nothing is written
    fill("d1", "approve")
    fill("d2", "correct")
    fill("d5", "confirm")
    fill("d6", "code", "K99.999")
    wb.save(path)
    with pytest.raises(ImportRejected) as exc:
        import_worklist(engine, path, "李娜")
    assert [str(p) for p in exc.value.problems] == [
        f"{path}, sheet worklist, row {row_of['d1']}, column decision: decision 'approve' is not one of confirm, correct, code",
        f"{path}, sheet worklist, row {row_of['d2']}, column correct_code: decision correct needs the right code in correct_code",
        f"{path}, sheet worklist, row {row_of['d5']}, column decision: has no code to confirm (status failed); code it by hand with: audit code".replace(
            "has no", f"diagnosis {ids['d5']} has no"
        ),
        f"{path}, sheet worklist, row {row_of['d6']}, column correct_code: code 'K99.999' is not in the code dictionary "
        "(import it with icdcoder dict import)",
    ]
    with engine.connect() as conn:
        assert conn.execute(select(audit_action)).all() == []
    fill("d1", "confirm")
    fill("d2", "correct", "I10.x00x003", "分级写错")
    fill("d5", "code", "K80.200")
    fill("d6", None)
    wb.save(path)
    first = import_worklist(engine, path, "李娜")
    assert first.summary() == {"confirm": 1, "correct": 1, "code": 1, "unchanged": 0, "skipped": 4}
    again = import_worklist(engine, path, "李娜")
    assert again.summary() == {"confirm": 0, "correct": 0, "code": 0, "unchanged": 3, "skipped": 4}
    with engine.connect() as conn:
        assert len(conn.execute(select(audit_action)).all()) == 3
        d2 = conn.execute(select(diagnosis).where(diagnosis.c.id == ids["d2"])).one()
    assert (d2.status, d2.code, d2.coded_by) == ("corrected", "I10.x00x003", "李娜")


def test_feedback_groups_corrections_no_match_and_collisions(reviewed):
    engine, ids = reviewed
    _review(engine, ids)
    with engine.begin() as conn:  # a rule change citing the correction of d2 (audit #2)
        rulestore.change_rule(conn, 3, "王芳", "answers #2", pattern="高血压(病)?.{0,2}(3|III)级")
    fb = feedback(engine)
    assert [(c["rule_id"], c["corrections"], c["changes"]) for c in fb["corrections"]] == [
        (3, 1, [{"wrong": "I10.x00x004", "right": "I10.x00x003", "count": 1}]),
        (4, 1, [{"wrong": "J18.900", "right": "J06.900", "count": 1}]),
    ]
    assert fb["corrections"][0]["answered_by"] == [{"rule_id": 3, "version": 2}]
    assert fb["corrections"][1]["answered_by"] == []
    assert fb["no_match"] == [
        {"normalized": "胆石症", "count": 2, "codes": [{"code": "K80.200", "count": 2}], "audit_ids": [6, 7]}
    ]
    assert [(g["rules"], g["codes"], g["count"], g["chosen"]) for g in fb["ambiguous"]] == [
        ([1, 2], ["I25.103", "I20.000"], 1, [{"code": "I20.000", "count": 1}])
    ]
    assert feedback(engine, since="2999-01-01")["corrections"] == []


def test_report_on_a_hand_made_history(reviewed, tmp_path):
    engine, ids = reviewed
    _review(engine, ids)
    data = report(engine, by=("chapter", "code", "month"))
    # TP d1 (confirmed); FP d2, d3 (corrected); FN d4 (I20.000 has a rule); TN d5, d6 (K80.200 has
    # none); d7 is not audited; d8, coded by a person at import and never tried by a run, says
    # nothing of icdcoder and is left out.
    assert {k: data[k] for k in ("tp", "fp", "fn", "tn", "total")} == {"tp": 1, "fp": 2, "fn": 1, "tn": 2, "total": 6}
    assert (data["precision"], data["recall"], data["f_measure"]) == (0.3333, 0.5, 0.4)
    assert (data["accuracy"], data["coverage"], data["time_saved"]) == (0.5, 0.5, 1)
    chapters = {g["chapter"]: (g["tp"], g["fp"], g["fn"], g["tn"]) for g in data["by_chapter"]}
    assert chapters == {"IX": (1, 1, 1, 0), "X": (0, 1, 0, 0), "XI": (0, 0, 0, 2)}
    assert {g["code"]: g["tn"] for g in data["by_code"]}["K80.200"] == 2
    assert len(data["by_month"]) == 1 and data["by_month"][0]["total"] == 6
    assert report(engine, date_from="2999-01-01")["total"] == 0
    path = tmp_path / "report.xlsx"
    write_report_xlsx(report(engine, by=("month", "chapter", "code")), path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["summary", "month", "chapter", "code"]
    assert len(wb["month"]._charts) == 1


def test_report_cli_json_top_level_holds_the_period(reviewed, db_url, monkeypatch):
    engine, ids = reviewed
    _review(engine, ids)
    monkeypatch.setenv("ICDCODER_DB", db_url)
    r = CliRunner().invoke(cli, ["report", "--json", "--by", "chapter"])
    out = json.loads(r.output)
    assert {"tp", "fp", "fn", "tn", "precision", "recall", "f_measure", "accuracy", "coverage"} <= set(out)
    assert "by_chapter" in out and "by_month" not in out
    r = CliRunner().invoke(cli, ["report", "--from", "yesterday"])
    assert (r.exit_code, r.output) == (1, "Error: --from 'yesterday' is not a date; write YYYY-MM-DD\n")


def test_cli_worklist_feedback_and_report_files(reviewed, db_url, monkeypatch, tmp_path):
    engine, ids = reviewed
    monkeypatch.setenv("ICDCODER_DB", db_url)
    run = lambda *a: CliRunner().invoke(cli, list(a), catch_exceptions=False)  # noqa: E731
    path = tmp_path / "w.xlsx"
    assert run("audit", "export", str(path), "--status", "failed").output == f"3 diagnoses written to {path}\n"
    wb = openpyxl.load_workbook(path)
    ws = wb["worklist"]
    for r in range(2, ws.max_row + 1):
        if ws.cell(row=r, column=2).value in ("d5", "d6"):
            ws.cell(row=r, column=10).value = "code"  # decision, after the suggestions column
            ws.cell(row=r, column=11).value = "K80.200"
    wb.save(path)
    r = run("audit", "import", str(path), "--by", "李娜")
    assert (r.exit_code, r.output) == (
        0,
        "worklist: 0 confirmed, 0 corrected, 2 coded, 0 unchanged, 1 without a decision\n",
    )
    act(engine, ids["d2"], CORRECT, "李娜", "I10.x00x003")
    fb_path = tmp_path / "feedback.xlsx"
    r = run("rules", "feedback", "--xlsx", str(fb_path))
    assert (
        r.exit_code == 0
        and "  rule 3 (I10.x00x004 高血压(病)?.{0,2}3级): 1 corrected (I10.x00x004 -> I10.x00x003 x1)" in r.output
    )
    assert "     2  胆石症  -> K80.200 x2" in r.output
    fb = openpyxl.load_workbook(fb_path)
    assert fb.sheetnames == ["corrections", "no_match", "ambiguous"]
    assert [c.value for c in fb["no_match"][2]] == ["胆石症", 2, "K80.200 x2", "#1, #2"]
    report_path = tmp_path / "report.xlsx"
    r = run("report", "--by", "chapter", "--xlsx", str(report_path))
    assert r.exit_code == 0 and r.output.startswith("audited codes 3: TP 0, FP 1, FN 0, TN 2\n")
    assert openpyxl.load_workbook(report_path).sheetnames == ["summary", "month", "chapter", "code"]


def test_rules_show_lists_the_corrections_a_change_answers(reviewed, db_url, monkeypatch):
    engine, ids = reviewed
    act(engine, ids["d2"], CORRECT, "李娜", "I10.x00x003")  # audit #1
    monkeypatch.setenv("ICDCODER_DB", db_url)
    r = CliRunner().invoke(
        cli,
        [
            "rules",
            "edit",
            "3",
            "--pattern",
            "高血压(病)?.{0,2}(3|III)级",
            "--author",
            "王芳",
            "--reason",
            "answers #1 #99",
            "--force",
        ],
    )
    assert r.exit_code == 0, r.output
    shown = json.loads(CliRunner().invoke(cli, ["rules", "show", "3", "--json"]).output)
    assert shown["history"][-1]["answers"] == [
        {
            "audit_id": 1,
            "diagnosis_id": ids["d2"],
            "action": "correct",
            "person": "李娜",
            "old_code": "I10.x00x004",
            "new_code": "I10.x00x003",
        }
    ]
    text = CliRunner().invoke(cli, ["rules", "show", "3"]).output
    assert f"      answers audit #1: diagnosis {ids['d2']} correct I10.x00x004 -> I10.x00x003 by 李娜\n" in text
