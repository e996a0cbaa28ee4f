"""Excel round trip of the rule base: export, edit in a workbook, import, check diff and history."""

import openpyxl
import pytest

from coder.services.rules import export_rules, import_rules
from coder.store import rules as rulestore
from rulebase.rule import Rule


@pytest.fixture
def two_rules(seeded):
    with seeded.begin() as conn:
        rulestore.add_rule(conn, Rule(code="I25.103", pattern="冠心病", note='=HYPERLINK("http://x")'), "王芳", "t")
        rulestore.add_rule(conn, Rule(code="J18.900", pattern="肺炎", exclude="-支原体"), "王芳", "t")
    return seeded


def test_export_is_an_editable_workbook(two_rules, tmp_path):
    path = tmp_path / "rules.xlsx"
    assert export_rules(two_rules, path) == 2
    wb = openpyxl.load_workbook(path)
    ws = wb["rules"]
    assert [c.value for c in ws[1]] == [
        "id",
        "code",
        "code_name",
        "pattern",
        "exclude",
        "priority",
        "enabled",
        "note",
        "version",
    ]
    assert ws.freeze_panes == "A2"
    assert ws.column_dimensions["D"].width == 48
    assert any('"1,0"' in dv.formula1 and "G2" in str(dv.sqref) for dv in ws.data_validations.dataValidation)
    assert ws["C2"].value == "冠状动脉粥样硬化性心脏病"
    assert "instructions" in wb.sheetnames
    text = "\n".join(str(c.value) for row in wb["instructions"].iter_rows() for c in row if c.value)
    assert "^(急性)?(化脓性)?阑尾炎$" in text and "冠(状动脉粥样硬化性)?心(脏)?病" in text


def test_formula_like_text_is_never_a_formula_and_reads_back_unchanged(two_rules, tmp_path):
    path = tmp_path / "rules.xlsx"
    export_rules(two_rules, path)
    ws = openpyxl.load_workbook(path)["rules"]
    note, exclude = ws["H2"], ws["E3"]
    assert (note.data_type, note.quotePrefix, note.value) == ("s", True, '=HYPERLINK("http://x")')
    assert (exclude.data_type, exclude.quotePrefix, exclude.value) == ("s", True, "-支原体")
    assert import_rules(two_rules, path, "王芳", "no-op").summary()["unchanged"] == 2


def test_round_trip_edit_disable_add(two_rules, tmp_path):
    path = tmp_path / "rules.xlsx"
    export_rules(two_rules, path)
    wb = openpyxl.load_workbook(path)
    ws = wb["rules"]
    ws["D2"] = "冠(状动脉粥样硬化性)?心(脏)?病"
    ws["G3"] = 0
    ws.append([None, "K35.900", None, "^(急性)?(化脓性)?阑尾炎$", None, 0, 1, None, None])
    wb.save(path)
    dry = import_rules(two_rules, path, "王芳", "widen", dry_run=True)
    assert dry.summary() == {"added": 1, "changed": 2, "disabled": 1, "unchanged": 0}
    assert dry.changed[0].changed_fields == ["pattern"]
    import_rules(two_rules, path, "王芳", "audit #7")
    with two_rules.connect() as conn:
        rules = {r.id: r for r in rulestore.load_rules(conn, include_disabled=True)}
        assert rules[1].pattern == "冠(状动脉粥样硬化性)?心(脏)?病" and rules[1].version == 2
        assert rules[2].enabled is False and rules[3].code == "K35.900"
        h = rulestore.history(conn, 1)
        assert (h[-1]["old"]["pattern"], h[-1]["new"]["pattern"], h[-1]["reason"]) == (
            "冠心病",
            "冠(状动脉粥样硬化性)?心(脏)?病",
            "audit #7",
        )
