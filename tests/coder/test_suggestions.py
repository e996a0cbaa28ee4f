"""Suggestions for failures from the audited history: the service per code system, the CLI's JSON
and text, the Excel worklist's drop-down and its round trip. Real SQLite files; the service also on
the real PostgreSQL server."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import insert, select, update

from coder.cli import cli
from coder.db.connect import make_engine
from coder.db.migrate import upgrade_db
from coder.db.models import diagnosis, icd_code
from coder.services.audit import export_worklist, import_worklist
from coder.services.dictionary import import_dictionary
from coder.services.run import run_coding
from coder.services.suggestions import LineText, add_suggestions, failure_suggestions, suggest_lines
from rulebase.codes import ICD9CM3
from tests.conftest import SAMPLE

AUDITED = [  # (kind, description, code, lines): what persons coded
    ("discharge", "冠心病", "I25.103", 3),
    ("discharge", "不稳定型心绞痛", "I20.000", 2),
    ("discharge", "2型糖尿病", "E11.900", 2),
    ("discharge", "原发性高血压", "I10.x00", 2),
    ("procedure", "冠状动脉药物洗脱支架置入术", "36.0700", 2),
]
FAILING = [("discharge", "冠心病不稳定型心绞痛"), ("procedure", "冠状动脉支架置入术"), ("discharge", "骨折")]


def _seed(engine) -> dict[str, int]:
    """The sample dictionaries, the audited lines, and the FAILING lines failed by a run (no rules)."""
    import_dictionary(engine, SAMPLE / "codes.csv")
    import_dictionary(engine, SAMPLE / "procedure_codes.csv", system=ICD9CM3)
    rows = []
    for n, (kind, text, code, lines) in enumerate(AUDITED):
        for i in range(lines):
            rows.append(
                {
                    "record_id": f"H{n}-{i}",
                    "seq_no": 1,
                    "kind": kind,
                    "description": text,
                    "code": code,
                    "coded_by": "李娜",
                    "status": "manual",
                }
            )
    rows += [
        {
            "record_id": f"F{n}",
            "seq_no": 1,
            "kind": kind,
            "description": text,
            "code": None,
            "coded_by": None,
            "status": "pending",
        }
        for n, (kind, text) in enumerate(FAILING)
    ]
    with engine.begin() as conn:
        conn.execute(insert(diagnosis), rows)
    run_coding(engine)
    with engine.connect() as conn:
        return {
            r.description: r.id
            for r in conn.execute(select(diagnosis.c.id, diagnosis.c.description).where(diagnosis.c.status == "failed"))
        }


@pytest.fixture
def sqlite_db(tmp_path):
    url = f"sqlite:///{tmp_path / 'icdcoder.db'}"
    engine = make_engine(url)
    upgrade_db(engine)
    failed = _seed(engine)
    yield url, engine, failed
    engine.dispose()


def _invoke(url, monkeypatch, *args):
    monkeypatch.setenv("ICDCODER_DB", url)
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_service_suggests_per_code_system_on_both_databases(engine):
    failed = _seed(engine)
    lines = [
        LineText(failed["冠心病不稳定型心绞痛"], "discharge", None, "冠心病不稳定型心绞痛"),
        LineText(failed["冠状动脉支架置入术"], "procedure", None, "冠状动脉支架置入术"),
        LineText(failed["骨折"], "discharge", None, "骨折"),
    ]
    with engine.connect() as conn:
        found = suggest_lines(conn, lines)
    heart = found[failed["冠心病不稳定型心绞痛"]]
    assert {"I25.103", "I20.000"} <= {s["code"] for s in heart}
    first = {s["code"]: s for s in heart}["I20.000"]
    assert first["name"] == "不稳定型心绞痛"
    assert first["evidence"][0] == {"text": "不稳定型心绞痛", "code": "I20.000", "count": 2, "score": first["score"]}
    # the procedure line gets procedure codes only; the fracture shares nothing with the history
    assert [s["code"] for s in found[failed["冠状动脉支架置入术"]]] == ["36.0700"]
    assert found[failed["骨折"]] == []
    # suggesting codes nothing
    with engine.connect() as conn:
        statuses = set(conn.execute(select(diagnosis.c.status).where(diagnosis.c.id.in_(failed.values()))).scalars())
    assert statuses == {"failed"}


def test_inactive_codes_are_left_out_and_a_new_audit_is_seen(sqlite_db):
    _, engine, failed = sqlite_db
    line = LineText(failed["冠心病不稳定型心绞痛"], "discharge", "冠心病不稳定型心绞痛")
    with engine.begin() as conn:
        conn.execute(update(icd_code).where(icd_code.c.code == "I25.103").values(active=False))
    with engine.connect() as conn:
        assert "I25.103" not in {s["code"] for s in suggest_lines(conn, [line])[line.id]}
    with engine.begin() as conn:  # a person codes a matching text: the kept suggester is rebuilt
        conn.execute(
            insert(diagnosis).values(
                record_id="N1", seq_no=1, kind="discharge", description="冠心病不稳定型心绞痛",
                code="I20.000", coded_by="李娜", status="manual",
            )
        )  # fmt: skip
    with engine.connect() as conn:
        best = suggest_lines(conn, [line])[line.id][0]
    assert best["code"] == "I20.000" and best["score"] == 100.0


def test_failures_list_and_audit_queue_carry_suggestions(sqlite_db, monkeypatch):
    url, _, failed = sqlite_db
    rows = json.loads(_invoke(url, monkeypatch, "failures", "list", "--json"))
    by_text = {r["description"]: r for r in rows}
    assert {"I25.103", "I20.000"} <= {s["code"] for s in by_text["冠心病不稳定型心绞痛"]["suggestions"]}
    assert [s["code"] for s in by_text["冠状动脉支架置入术"]["suggestions"]] == ["36.0700"]
    assert by_text["骨折"]["suggestions"] == []
    s = by_text["冠状动脉支架置入术"]["suggestions"][0]
    assert set(s) >= {"code", "name", "score", "evidence"} and s["name"] == "药物洗脱冠状动脉支架置入术"
    assert s["evidence"][0]["text"] == "冠状动脉药物洗脱支架置入术" and s["evidence"][0]["count"] == 2

    items = json.loads(_invoke(url, monkeypatch, "audit", "queue", "--json"))
    queued = {i["diagnosis_id"]: i for i in items}
    assert [x["code"] for x in queued[failed["冠状动脉支架置入术"]]["suggestions"]] == ["36.0700"]
    assert all("suggestions" not in i for i in json.loads(_invoke(url, monkeypatch, "audit", "queue", "--json",
                                                                   "--no-suggest")))  # fmt: skip

    text = _invoke(url, monkeypatch, "failures", "list")
    assert "suggest" in text.splitlines()[0] and "36.0700 药物洗脱冠状动脉支架置入术 (" in text
    assert "suggest" not in _invoke(url, monkeypatch, "failures", "list", "--no-suggest").splitlines()[0]
    assert "I20.000" in _invoke(url, monkeypatch, "audit", "queue", "--status", "failed")


def test_worklist_offers_the_suggestions_and_imports_as_before(sqlite_db, tmp_path):
    _, engine, failed = sqlite_db
    path = tmp_path / "worklist.xlsx"
    assert export_worklist(engine, path, failure_suggestions(engine)) == 3
    wb = load_workbook(path)
    ws = wb["worklist"]
    header = [c.value for c in ws[1]]
    col = {h: i for i, h in enumerate(header)}
    assert header.index("suggestions") == header.index("decision") - 1
    rows = {r[col["diagnosis_id"]].value: r for r in ws.iter_rows(min_row=2)}
    heart = rows[failed["冠心病不稳定型心绞痛"]]
    assert "I20.000 不稳定型心绞痛" in heart[col["suggestions"]].value
    assert rows[failed["骨折"]][col["suggestions"]].value is None
    # correct_code's drop-down on the procedure row offers exactly its suggestion, without an error stop
    code_cell = rows[failed["冠状动脉支架置入术"]][col["correct_code"]].coordinate
    lists = [dv for dv in ws.data_validations.dataValidation if dv.type == "list" and code_cell in dv.sqref]
    assert len(lists) == 1 and lists[0].formula1 == '"36.0700"' and not lists[0].showErrorMessage
    heart_cell = heart[col["correct_code"]].coordinate
    (heart_list,) = [dv for dv in ws.data_validations.dataValidation if heart_cell in dv.sqref]
    assert {"I25.103", "I20.000"} <= set(heart_list.formula1.strip('"').split(","))

    # the coder picks a suggestion on one row and types another code on the other
    heart[col["decision"]].value, heart[col["correct_code"]].value = "code", "I20.000"
    proc = rows[failed["冠状动脉支架置入术"]]
    proc[col["decision"]].value, proc[col["correct_code"]].value = "code", "00.6600"
    wb.save(path)
    result = import_worklist(engine, path, "李娜")
    assert result.summary()["code"] == 2
    with engine.connect() as conn:
        coded = dict(conn.execute(select(diagnosis.c.description, diagnosis.c.code).where(
            diagnosis.c.id.in_([failed["冠心病不稳定型心绞痛"], failed["冠状动脉支架置入术"]]))).all())  # fmt: skip
    assert coded == {"冠心病不稳定型心绞痛": "I20.000", "冠状动脉支架置入术": "00.6600"}
    assert import_worklist(engine, path, "李娜").unchanged == 2  # importing it again changes nothing


def test_worklist_without_the_suggestions_column_still_imports(sqlite_db, tmp_path):
    _, engine, failed = sqlite_db
    path = tmp_path / "old.xlsx"
    export_worklist(engine, path)
    wb = load_workbook(path)
    ws = wb["worklist"]
    ws.delete_cols([c.value for c in ws[1]].index("suggestions") + 1)
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if row[0].value == failed["骨折"]:
            row[header.index("decision")].value = "code"
            row[header.index("correct_code")].value = "S72.000"
    wb.save(path)
    assert import_worklist(engine, path, "李娜").summary()["code"] == 1


def test_add_suggestions_skips_auto_codes_when_asked(sqlite_db):
    _, engine, failed = sqlite_db
    rows = [
        {"diagnosis_id": failed["冠心病不稳定型心绞痛"], "status": "coded", "normalized": "冠心病不稳定型心绞痛"},
        {"diagnosis_id": failed["冠心病不稳定型心绞痛"], "status": "failed", "normalized": "冠心病不稳定型心绞痛"},
    ]
    add_suggestions(engine, rows, only_failed=True)
    assert rows[0]["suggestions"] == [] and rows[1]["suggestions"]
