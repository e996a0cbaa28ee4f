"""The normalization table in the database: CLI, history, Excel sheet, and its effect on runs."""

import json

import openpyxl
import pytest
from sqlalchemy import select

from coder.db.models import code_log, diagnosis
from coder.errors import ImportRejected
from coder.run.loop import run_coding
from coder.services.diagnoses import import_diagnoses
from coder.services.rules import export_rules, import_rules
from coder.store import normalization as normstore
from coder.store import rules as rulestore
from rulebase.normalize import Replacement
from rulebase.rule import Rule
from tests.conftest import SAMPLE, write_csv


@pytest.fixture
def invoke(migrated_invoke):
    return migrated_invoke


def test_normalize_commands_with_history_and_version_bumps(invoke, db_url):
    r = invoke("normalize", "add", "--find", "梗塞", "--replace", "梗死", "--author", "王芳", "--reason", "旧称")
    assert (r.exit_code, r.output) == (0, "normalization 1 added at position 10 (version 1)\n")
    invoke("normalize", "add", "--find", "II型", "--replace", "2型", "--author", "王芳")
    invoke("normalize", "add", "--find", "冠心病", "--replace", "冠状动脉粥样硬化性心脏病", "--author", "王芳")
    r = invoke("normalize", "add", "--find", "冠状动脉粥样硬化性心脏病", "--replace", "冠心病", "--author", "王芳")
    assert r.exit_code == 1
    assert r.output == (
        "Error: new normalization ('冠状动脉粥样硬化性心脏病' -> '冠心病') loops with normalization 3 "
        "('冠心病' -> '冠状动脉粥样硬化性心脏病'), which runs before it and would rewrite its result; "
        "change one of them or move this entry before the other\n"
    )
    r = invoke("normalize", "test", "急性心肌梗塞，Ⅱ型糖尿病")
    assert r.output == (
        "NFKC and blanks: 急性心肌梗塞,II型糖尿病\n#1 梗塞 -> 梗死: 急性心肌梗死,II型糖尿病\n"
        "#2 II型 -> 2型: 急性心肌梗死,2型糖尿病\nnormalized: 急性心肌梗死,2型糖尿病\n"
    )
    r = invoke("normalize", "edit", "3", "--replace", "冠心病(全称)", "--author", "李娜")
    assert (r.exit_code, r.output) == (
        1,
        "Error: normalization 3: '冠心病' -> '冠心病(全称)' loops: the replacement "
        "contains what it replaces, so normalizing twice would change the text again\n",
    )
    assert (
        invoke("normalize", "disable", "1", "--author", "李娜", "--reason", "test").output
        == "normalization 1 is now version 2\n"
    )
    assert [e["id"] for e in json.loads(invoke("normalize", "list", "--json").output)] == [2, 3]
    assert len(json.loads(invoke("normalize", "list", "--all", "--json").output)) == 3
    shown = json.loads(invoke("normalize", "show", "1", "--json").output)
    assert [h["action"] for h in shown["history"]] == ["insert", "disable"]
    assert shown["history"][1]["old"]["enabled"] is True and shown["history"][1]["new"]["enabled"] is False
    assert json.loads(invoke("normalize", "test", "心肌梗塞", "--json").output)["normalized"] == "心肌梗塞"
    from coder.db.connect import make_engine

    with make_engine(db_url).connect() as conn:
        assert rulestore.rulebase_version(conn) == 4  # three adds and one disable


def test_runs_apply_the_table_and_the_success_log_keeps_the_normalized_text(seeded, tmp_path):
    with seeded.begin() as conn:
        rulestore.add_rule(conn, Rule(code="I21.900", pattern="^急性(前壁)?心肌梗死$"), "王芳", None)
    import_diagnoses(
        seeded,
        write_csv(
            tmp_path / "d.csv", ["record_id", "description"], [["r1", "急性心肌梗塞"], ["r2", "急性前壁心肌梗死"]]
        ),
    )
    first = run_coding(seeded)
    assert (first.coded, first.no_match) == (1, 1)
    with seeded.begin() as conn:
        normstore.add(conn, Replacement("梗塞", "梗死"), "王芳", "旧称")
    second = run_coding(seeded)  # the table change bumped the rule-base version: the failure is retried
    assert (second.considered, second.coded) == (1, 1)
    with seeded.connect() as conn:
        row = conn.execute(
            select(code_log.c.normalized, diagnosis.c.description)
            .join(diagnosis, diagnosis.c.id == code_log.c.diagnosis_id)
            .where(code_log.c.run_id == second.run_id)
        ).one()
    assert (row.description, row.normalized) == ("急性心肌梗塞", "急性心肌梗死")


def test_workbook_round_trip_of_the_normalization_sheet(seeded, tmp_path):
    with seeded.begin() as conn:
        rulestore.add_rule(conn, Rule(code="I25.103", pattern="冠心病"), "王芳", None)
        normstore.add(conn, Replacement("梗塞", "梗死"), "王芳", None)
    path = tmp_path / "rules.xlsx"
    export_rules(seeded, path)
    wb = openpyxl.load_workbook(path)
    ws = wb["normalization"]
    assert [c.value for c in ws[1]] == ["id", "position", "kind", "find", "replace", "enabled", "note", "version"]
    assert [c.value for c in ws[2]] == [1, 10, "literal", "梗塞", "梗死", 1, None, 1]
    ws.append([None, 20, "literal", "综合症", "综合征", 1, "错别字", None])
    wb.save(path)
    plan = import_rules(seeded, path, "王芳", "norm")
    assert plan.normalization.summary() == {"added": 1, "changed": 0, "unchanged": 1}
    assert plan.summary()["unchanged"] == 1
    again = import_rules(seeded, path, "王芳", "norm")  # re-importing the same file changes nothing
    with seeded.connect() as conn:
        assert [(e.find, e.replace) for e in normstore.load(conn)] == [("梗塞", "梗死"), ("综合症", "综合征")]
        version = rulestore.rulebase_version(conn)
    assert again.normalization.summary() == {"added": 0, "changed": 0, "unchanged": 2}
    export_rules(seeded, path)
    wb = openpyxl.load_workbook(path)
    wb["normalization"]["E3"] = "综合征(错别字)"
    wb["normalization"].append([None, 30, "literal", "梗塞", "心肌梗死", 1, None, None])
    wb.save(path)
    with pytest.raises(ImportRejected) as exc:
        import_rules(seeded, path, "王芳", "norm")
    assert [str(p) for p in exc.value.problems] == [
        f"{path}, sheet normalization, row 4, column find: entry 1 already replaces '梗塞' (with '梗死'); "
        "put its id in the id column to change it"
    ]
    wb["normalization"].delete_rows(4)
    wb.save(path)
    plan = import_rules(seeded, path, "王芳", "norm")
    assert plan.normalization.summary() == {"added": 0, "changed": 1, "unchanged": 1}
    with seeded.connect() as conn:
        assert rulestore.rulebase_version(conn) == version + 1
        assert [h["action"] for h in normstore.history(conn, 2)] == ["insert", "update"]


def test_bad_normalization_rows_reject_the_whole_workbook(seeded, tmp_path):
    with seeded.begin() as conn:
        normstore.add(conn, Replacement("梗塞", "梗死"), "王芳", None)
    path = tmp_path / "rules.xlsx"
    export_rules(seeded, path)
    wb = openpyxl.load_workbook(path)
    wb["rules"].append([None, "I25.103", None, "冠心病", None, 0, 1, None, None])
    ws = wb["normalization"]
    ws.append([None, 20, "literal", "炎", "炎症", 1, None, None])
    ws.append([None, 30, "literal", "梗死", "梗塞", 1, None, None])
    ws.append([None, 40, "regex", "x", "y", 1, None, None])
    wb.save(path)
    with pytest.raises(ImportRejected) as exc:
        import_rules(seeded, path, "王芳", None)
    assert [str(p) for p in exc.value.problems] == [
        f"{path}, sheet normalization, row 3: '炎' -> '炎症' loops: the replacement contains what it replaces, "
        "so normalizing twice would change the text again",
        f"{path}, sheet normalization, row 5: kind must be 'literal' or 'pattern', not 'regex'",
    ]
    ws.delete_rows(5)
    ws.delete_rows(3)
    wb.save(path)
    with pytest.raises(ImportRejected) as exc:
        import_rules(seeded, path, "王芳", None)
    assert "sheet normalization: " in str(exc.value.problems[0]) and "loops with normalization 1" in str(exc.value)
    with seeded.connect() as conn:
        assert rulestore.load_rules(conn) == [] and len(normstore.load(conn)) == 1


def test_normalize_import_from_csv(invoke, tmp_path):
    f = SAMPLE / "normalization.csv"
    r = invoke("normalize", "import", str(f), "--author", "王芳", "--dry-run")
    assert r.output.endswith("dry run, nothing written; normalization: 6 added, 0 changed, 0 unchanged\n")
    assert invoke("normalize", "list", "--json").output.strip() == "[]"
    r = invoke("normalize", "import", str(f), "--author", "王芳")
    assert r.output == "normalization: 6 added, 0 changed, 0 unchanged\n"
    assert (
        json.loads(invoke("normalize", "test", "COPD 慢阻肺 Ⅱ型糖尿病", "--json").output)["normalized"]
        == "COPD 慢性阻塞性肺疾病 2型糖尿病"
    )


def test_enable_brings_an_entry_back_and_is_judged_like_any_change(invoke):
    invoke("normalize", "add", "--find", "梗塞", "--replace", "梗死", "--author", "王芳")
    # placed first, 梗死 -> 梗塞 would have its result turned back by entry 1: a loop, refused
    r = invoke("normalize", "add", "--find", "梗死", "--replace", "梗塞", "--author", "王芳", "--position", "1")
    assert r.exit_code == 1 and "loops with" in r.output
    assert [e["id"] for e in json.loads(invoke("normalize", "list", "--json").output)] == [1]
    invoke("normalize", "disable", "1", "--author", "王芳")
    assert (
        invoke(
            "normalize", "add", "--find", "梗死", "--replace", "梗塞", "--author", "王芳", "--position", "1"
        ).exit_code
        == 0
    )
    r = invoke("normalize", "enable", "1", "--author", "王芳")
    assert r.exit_code == 1 and "loops with" in r.output


def test_adding_a_replacement_warns_about_rules_that_will_no_longer_match(invoke):
    invoke("dict", "import", str(SAMPLE / "codes.csv"))
    invoke("rules", "add", "--code", "I25.103", "--pattern", "^冠心病$", "--author", "王芳")
    r = invoke("normalize", "add", "--find", "冠心病", "--replace", "冠状动脉粥样硬化性心脏病", "--author", "王芳")
    assert r.exit_code == 0
    assert r.stdout == "normalization 1 added at position 10 (version 1)\n"
    assert r.stderr == (
        "warning: 1 enabled rule(s) contain '冠心病', which descriptions no longer hold after this "
        "replacement; rewrite them for '冠状动脉粥样硬化性心脏病': rules 1\n"
    )
