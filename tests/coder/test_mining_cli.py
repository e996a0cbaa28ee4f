"""icdcoder rules mine: proposals from the audited history in a workbook that `rules import` takes
as it is (accept = 1 rows through the judged import, with history; accept = 0 rows skipped)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import select, update

from coder.cli import cli
from coder.db.connect import make_engine
from coder.db.models import icd_code, rule_history, rulebase_state
from coder.imports.mined import COLUMNS
from coder.services.dictionary import import_dictionary
from coder.services.rules import add_rule
from coder.store import normalization as normstore
from coder.store import rules as rulestore
from rulebase.codes import ICD9CM3
from rulebase.engine import RuleSet
from tests.coder.audited import built_file, copy_db, write_records
from tests.conftest import SAMPLE

# What persons coded over 2025: (description, code, lines). Frequent texts, variants, a text coded
# two ways (肺部感染), procedures; 冠心病 is coded by the existing rule already.
HISTORY = [
    ("胆囊多发结石", "K80.200x003", 6),
    ("胆囊结石伴慢性胆囊炎", "K80.100", 5),
    ("急性阑尾炎", "K35.900", 6),
    ("2型糖尿病", "E11.900", 6),
    ("2型糖尿病性肾病", "E11.201", 5),
    ("高血压病3级（极高危）", "I10.x00x032", 6),
    ("肺部感染", "J18.900", 3),
    ("肺部感染", "J15.700", 3),
    ("痛风", "M10.900", 5),
    ("冠心病", "I25.103", 5),
    ("腹腔镜胆囊切除术", "51.2300", 6),
    ("腹腔镜阑尾切除术", "47.0100", 5),
]
MONTHS = ("2025-03", "2025-05", "2025-07", "2025-09", "2025-11")


def _records():
    """Each text's lines spread over the months, two or three lines a record."""
    lines = sorted(((i, text, code) for text, code, n in HISTORY for i in range(n)))
    records, at = [], 0
    while at < len(lines):
        size = 2 + len(records) % 2
        month = MONTHS[len(records) % len(MONTHS)]
        day = f"{month}-{10 + len(records) % 15:02d}"
        records.append((f"R{len(records):03d}", day, [(t, c) for _, t, c in lines[at : at + size]]))
        at += size
    return records


def write_history(engine) -> None:
    import_dictionary(engine, SAMPLE / "codes.csv")
    import_dictionary(engine, SAMPLE / "procedure_codes.csv", system=ICD9CM3)
    add_rule(engine, "I25.103", "冠(状动脉粥样硬化性)?心(脏)?病", "王芳", reason="existing")
    write_records(engine, _records())


@pytest.fixture(scope="module")
def history_file(tmp_path_factory):
    return built_file(tmp_path_factory, write_history)


@pytest.fixture
def history(history_file, tmp_path):
    """The history on a SQLite file of the test's own."""
    eng = make_engine(copy_db(history_file, tmp_path))
    yield eng
    eng.dispose()


def invoke(engine, *args: str):
    """icdcoder as a user runs it, the database's URL in the environment (never argv)."""
    url = engine.url.render_as_string(hide_password=False)
    return CliRunner().invoke(cli, list(args), env={"ICDCODER_DB": url}, catch_exceptions=False)


def _mine_json(engine, out, *args):
    r = invoke(engine, "rules", "mine", "--out", str(out), "--json", *args)
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def _decide(engine, text: str, system: str = "icd10"):
    with engine.connect() as conn:
        rules = rulestore.load_rules(conn, system=system)
        return RuleSet(rules, normalizer=normstore.normalizer(conn)).decide(text)


def test_mine_review_import_and_the_rules_are_live_with_history(history, tmp_path):
    mine_review_import(history, tmp_path)


@pytest.mark.postgres
def test_mine_review_import_on_postgresql(pg_engine, tmp_path):
    write_history(pg_engine)
    mine_review_import(pg_engine, tmp_path)


def mine_review_import(history, tmp_path) -> None:
    out = tmp_path / "mined.xlsx"
    r = invoke(history, "rules", "mine", "--out", str(out))
    assert r.exit_code == 0, r.output
    total = sum(n for _, _, n in HISTORY)
    assert f"read {total} audited lines" in r.output and "pre-accepted" in r.output
    wb = load_workbook(out)
    assert wb.sheetnames == ["rules", "instructions"]
    ws = wb["rules"]
    header = [c.value for c in ws[1]]
    assert tuple(header) == COLUMNS and ws.freeze_panes == "A2"
    assert {"id", "code", "pattern", "exclude", "priority", "enabled", "note", "version"} <= set(header)
    assert any(dv.formula1 == '"1,0"' for dv in ws.data_validations.dataValidation)
    rows = [dict(zip(header, row, strict=True)) for row in ws.iter_rows(min_row=2, values_only=True)]
    assert rows and all(row["id"] is None and row["version"] is None and row["enabled"] == 1 for row in rows)
    accepted = [row for row in rows if row["accept"] == 1]
    assert accepted and {row["system"] for row in accepted} == {"icd10", "icd9cm3"}
    gallstones = [row for row in accepted if row["code"] == "K80.200x003"]
    assert gallstones and all(row["cv_precision"] >= 0.90 and row["support"] >= 5 for row in gallstones)
    instructions = " ".join(str(v) for row in wb["instructions"].iter_rows(values_only=True) for v in row if v)
    assert "icdcoder rules import FILE --author 王芳" in instructions and "审核" in instructions
    assert "accept = 1" in instructions
    # The reviewer rejects the first accepted row: it must not be imported.
    rejected = accepted[0]
    ws.cell(row=rows.index(rejected) + 2, column=header.index("accept") + 1, value=0)
    wb.save(out)
    with history.connect() as conn:
        version = conn.execute(select(rulebase_state.c.version)).scalar_one()
    imported = invoke(history, "rules", "import", str(out), "--author", "王芳", "--reason", "采纳挖掘规则", "--json")
    assert imported.exit_code == 0, imported.output
    summary = json.loads(imported.output)
    assert summary["added"] + summary["unchanged"] == len(accepted) - 1
    assert summary["not_accepted"] == len(rows) - len(accepted) + 1
    with history.connect() as conn:
        live = rulestore.load_rules(conn, include_disabled=True)
        written = conn.execute(select(rule_history).where(rule_history.c.reason == "采纳挖掘规则")).all()
        assert conn.execute(select(rulebase_state.c.version)).scalar_one() == version + 1
    keys = {(r.code, r.pattern, r.exclude) for r in live}
    assert (rejected["code"], rejected["pattern"], rejected["exclude"]) not in keys
    for row in accepted[1:]:
        assert (row["code"], row["pattern"], row["exclude"]) in keys
    assert len(written) == summary["added"] and {h.author for h in written} == {"王芳"}
    assert {h.action for h in written} == {"insert"}
    if rejected["code"] != "K80.200x003":
        assert _decide(history, "胆囊多发结石").code == "K80.200x003"
    assert _decide(history, "腹腔镜阑尾切除术", ICD9CM3).code == "47.0100" or rejected["code"] == "47.0100"


def test_json_lists_the_proposals_and_totals(history, tmp_path):
    data = _mine_json(history, tmp_path / "m.xlsx")
    assert set(data) >= {"out", "texts", "lines", "proposals", "accepted", "dropped", "systems"}
    assert data["lines"] == sum(n for _, _, n in HISTORY) and data["texts"] == len({t for t, _, _ in HISTORY})
    assert data["accepted"] == sum(p["accept"] for p in data["proposals"]) > 0
    p = data["proposals"][0]
    assert set(p) == set(COLUMNS)
    assert isinstance(p["wrong_codes"], list) and isinstance(p["examples"], list) and p["examples"]
    assert isinstance(p["overlapping_rules"], list) and isinstance(p["breaks"], int)
    # the text coded two ways: never pre-accepted at half precision
    for q in data["proposals"]:
        if q["pattern"] in ("^肺部感染$", "肺部感染"):
            assert q["accept"] == 0 and q["wrong_codes"]


def test_filters_by_code_system_and_day(history, tmp_path):
    k80 = _mine_json(history, tmp_path / "a.xlsx", "--code", "K80")
    assert k80["lines"] == 11 and {p["code"][:3] for p in k80["proposals"]} <= {"K80"}
    procedures = _mine_json(history, tmp_path / "b.xlsx", "--system", "icd9cm3")
    assert procedures["lines"] == 11 and procedures["systems"] == ["icd9cm3"]
    assert {p["system"] for p in procedures["proposals"]} == {"icd9cm3"}
    everything = sum(n for _, _, n in HISTORY)
    late = _mine_json(history, tmp_path / "c.xlsx", "--since", "2025-07-01")
    early = _mine_json(history, tmp_path / "d.xlsx", "--until", "2025-06-30")
    assert 0 < late["lines"] < everything and late["lines"] + early["lines"] == everything


def test_a_code_set_inactive_is_dropped_and_counted(history, tmp_path):
    with history.begin() as conn:
        conn.execute(update(icd_code).where(icd_code.c.code == "M10.900").values(active=False))
    data = _mine_json(history, tmp_path / "m.xlsx")
    assert data["dropped"] >= 1 and "M10.900" not in {p["code"] for p in data["proposals"]}


def test_errors_name_what_to_change(history, tmp_path):
    bad = invoke(history, "rules", "mine", "--out", str(tmp_path / "m.xlsx"), "--since", "2025-02-30")
    assert bad.exit_code == 1 and "--since '2025-02-30' is not a date" in bad.output
    none = invoke(history, "rules", "mine", "--out", str(tmp_path / "m.xlsx"), "--code", "Z99")
    assert none.exit_code == 1 and "--code Z99" in none.output and "widen" in none.output
    csv = invoke(history, "rules", "mine", "--out", str(tmp_path / "m.csv"))
    assert csv.exit_code == 1 and "written as .xlsx" in csv.output
    assert not (tmp_path / "m.xlsx").exists()


def test_a_bad_accept_cell_names_its_row(history, tmp_path):
    out = tmp_path / "m.xlsx"
    _mine_json(history, out)
    wb = load_workbook(out)
    ws = wb["rules"]
    ws.cell(row=3, column=1, value="maybe")
    ws.cell(row=2, column=COLUMNS.index("examples") + 1, value="a reviewer's remark")  # never read
    wb.save(out)
    r = invoke(history, "rules", "import", str(out), "--author", "王芳")
    assert r.exit_code == 1 and "row 3, column accept: accept must be 1" in r.output
    assert "examples" not in r.output
