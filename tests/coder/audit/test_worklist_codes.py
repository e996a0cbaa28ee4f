"""The Excel worklist with lines of several codes, on a real SQLite file: the export lists a line's
codes (and their names) in auto_code; correct_code takes a list, also in a cell whose drop-down offers
single codes (the drop-down never stops a value it does not offer); a list is checked whole."""

from __future__ import annotations

import openpyxl
import pytest
from sqlalchemy import select

from coder.audit.worklist import export_worklist, import_worklist
from coder.db.connect import make_engine
from coder.db.migrate import upgrade_db
from coder.db.models import audit_action, diagnosis
from coder.errors import ImportRejected
from coder.services.dictionary import import_dictionary
from coder.services.rules import import_rules
from coder.services.run import run_coding
from rulebase.codes import ICD9CM3
from tests.conftest import SAMPLE, insert_pending

TEXTS = ("冠状动脉粥样硬化性心脏病 不稳定型心绞痛", "心房颤动", "罕见的某种病")


@pytest.fixture
def coded(tmp_path):
    """The sample's dictionary and rules, three lines coded by one run: two codes, one code, no match."""
    engine = make_engine(f"sqlite:///{tmp_path / 'icdcoder.db'}")
    upgrade_db(engine)
    import_dictionary(engine, SAMPLE / "codes.csv")
    import_dictionary(engine, SAMPLE / "procedure_codes.csv", system=ICD9CM3)
    import_rules(engine, SAMPLE / "rules.csv", "王芳", "sample rules")
    insert_pending(engine, TEXTS, prefix="W-")
    run_coding(engine)
    with engine.connect() as conn:
        ids = dict(conn.execute(select(diagnosis.c.description, diagnosis.c.id)).all())
    yield engine, ids
    engine.dispose()


def _offer(items):
    """What the export's `suggest` does (services.suggestions), fixed: single codes for the failure."""
    for item in items:
        if item["status"] == "failed":
            item["suggestions"] = [{"code": "I25.103", "name": "冠状动脉粥样硬化性心脏病", "score": 90.0}]


def _sheet(path):
    wb = openpyxl.load_workbook(path)
    ws = wb["worklist"]
    header = [c.value for c in ws[1]]
    rows = {r[0].value: r for r in ws.iter_rows(min_row=2)}
    return wb, ws, {h: i for i, h in enumerate(header)}, rows


def test_the_export_lists_every_code_and_correct_code_takes_a_list(coded, tmp_path):
    engine, ids = coded
    two, one, failed = (ids[t] for t in TEXTS)
    path = tmp_path / "worklist.xlsx"
    assert export_worklist(engine, path, _offer) == 3
    wb, ws, col, rows = _sheet(path)
    assert rows[two][col["auto_code"]].value == "I25.103,I20.000"
    assert rows[two][col["auto_code_name"]].value == "冠状动脉粥样硬化性心脏病; 不稳定型心绞痛"
    assert rows[one][col["auto_code"]].value == "I48.x00" and rows[one][col["auto_code_name"]].value == "心房颤动"
    # the failure's correct_code offers its suggestion, and lets anything else be typed
    cell = rows[failed][col["correct_code"]].coordinate
    (offered,) = [dv for dv in ws.data_validations.dataValidation if dv.type == "list" and cell in dv.sqref]
    assert offered.formula1 == '"I25.103"' and not offered.showErrorMessage
    help_text = " ".join(str(c.value) for row in wb["instructions"].iter_rows() for c in row)
    assert "I25.103,I20.000" in help_text

    def fill(line, decision, code=None):
        rows[line][col["decision"]].value = decision
        rows[line][col["correct_code"]].value = code

    # a list with a code the dictionary lacks is refused whole, in its cell; nothing is written
    fill(two, "correct", "I25.103,K99.999")
    fill(failed, "code", "I25.103，I48.x00")
    wb.save(path)
    with pytest.raises(ImportRejected) as exc:
        import_worklist(engine, path, "李娜")
    assert [str(p) for p in exc.value.problems] == [
        f"{path}, sheet worklist, row 2, column correct_code: code 'K99.999' is not in the code dictionary "
        "(import it with icdcoder dict import)"
    ]
    with engine.connect() as conn:
        assert conn.execute(select(audit_action)).all() == []

    fill(two, "correct", "I25.103,I21.900")  # the second code changed
    fill(one, "confirm")
    wb.save(path)
    result = import_worklist(engine, path, "李娜")
    assert result.summary() == {"confirm": 1, "correct": 1, "code": 1, "unchanged": 0, "skipped": 0}
    with engine.connect() as conn:
        lines = {
            r.id: (r.status, r.code, r.other_codes)
            for r in conn.execute(select(diagnosis).where(diagnosis.c.id.in_([two, one, failed])))
        }
    assert lines == {
        two: ("corrected", "I25.103", "I21.900"),
        one: ("confirmed", "I48.x00", None),
        failed: ("manual", "I25.103", "I48.x00"),
    }
    assert import_worklist(engine, path, "李娜").summary()["unchanged"] == 3  # harmless twice
