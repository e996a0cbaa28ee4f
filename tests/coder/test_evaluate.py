"""icdcoder evaluate: Zhou's two-phase experiment on the audited history, writing nothing.

The tiny case (tests/coder/audited.py) is checked by hand on SQLite and PostgreSQL; the demo's
year of history shows --mine at work and that nothing is written."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import func, insert, select, update

from coder.cli import cli
from coder.db.connect import make_engine
from coder.db.models import coding_rule, diagnosis, homepage, metadata, rulebase_state
from coder.errors import HistoryEmpty, SplitInvalid
from coder.services.demo import run_demo
from coder.services.evaluation import evaluate_history
from coder.store.codes import codes_of
from tests.coder.audited import TINY_LEARNING, TINY_TEST, built_file, copy_db, write_tiny


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    return built_file(tmp_path_factory, write_tiny)


@pytest.fixture
def tiny(tiny_file, tmp_path):
    """The tiny case on a SQLite file of the test's own."""
    eng = make_engine(copy_db(tiny_file, tmp_path))
    yield eng
    eng.dispose()


def invoke(url: str, *args: str):
    """icdcoder as a user runs it, the database's URL in the environment (never argv)."""
    return CliRunner().invoke(cli, list(args), env={"ICDCODER_DB": url}, catch_exceptions=False)


def test_the_tiny_case_by_hand_per_line_per_record_and_by_code(tiny):
    check_tiny(evaluate_history(tiny, split_date="2025-10-01"))


@pytest.mark.postgres
def test_the_tiny_case_on_postgresql_writes_nothing(pg_engine):
    write_tiny(pg_engine)
    before = _tables(pg_engine)
    r = invoke(pg_engine.url.render_as_string(hide_password=False), "evaluate", "--split-date", "2025-10-01", "--json")
    assert r.exit_code == 0, r.output
    check_tiny(json.loads(r.output))
    mined = evaluate_history(pg_engine, holdout=0.5, with_mining=True, min_support=1)
    assert mined["rules"]["mined"] and _tables(pg_engine) == before


def check_tiny(data: dict) -> None:
    assert data["learning"] == {"lines": 6, "records": 4} and data["test"] == {"lines": 7, "records": 4}
    assert data["rules"]["stored"] == 3 and data["rules"]["mined"] is None
    # TP 冠心病, 2型糖尿病, 冠状动脉粥样硬化性心脏病; FP 高血压3级 (I10.x00x004 for I10.x00x032);
    # FN 冠脉粥样硬化 (I25.103 has a rule); TN 胆囊多发结石, 急性阑尾炎 (no rule for their codes)
    lines = data["lines"]
    assert (lines["tp"], lines["fp"], lines["fn"], lines["tn"]) == (3, 1, 1, 2)
    assert lines["precision"] == 0.75 and lines["recall"] == 0.75 and lines["f_measure"] == 0.75
    assert lines["accuracy"] == round(5 / 7, 4) and lines["coverage"] == round(4 / 7, 4)
    # code sets: T1 {I25.103, I10.x00x032} vs {I25.103, I10.x00x004}; T2 {E11.900, K80.200x003} vs
    # {E11.900}; T3 {K35.900, I25.103} vs {}; T4 {I25.103} vs {I25.103}: 3 in both, 1 engine only, 4 person only
    rec = data["records"]
    assert (rec["codes_both"], rec["codes_engine_only"], rec["codes_person_only"]) == (3, 1, 4)
    assert rec["precision"] == 0.75 and rec["recall"] == round(3 / 7, 4)
    assert rec["f_measure"] == round(2 * 0.75 * (3 / 7) / (0.75 + 3 / 7), 4)
    assert (rec["records"], rec["exact"], rec["exact_share"]) == (4, 1, 0.25)
    by_code = {r["code"]: r for r in data["by_code"]}
    assert by_code["I25.103"]["tp"] == 2 and by_code["I25.103"]["fn"] == 1 and by_code["I25.103"]["recall"] == 0.6667
    assert by_code["K80.200x003"]["tn"] == 1 and by_code["K80.200x003"]["coverage"] == 0.0
    chapters = {r["chapter"]: r["total"] for r in data["by_chapter"]}
    assert chapters == {"IV": 1, "IX": 4, "XI": 2}  # E11; I25 I10 I25 I25; K80 K35
    errors = {(e["description"], e["kind"]): e for e in data["errors"]}
    assert set(errors) == {("高血压3级", "fp"), ("冠脉粥样硬化", "fn"), ("胆囊多发结石", "tn"), ("急性阑尾炎", "tn")}
    fp = errors[("高血压3级", "fp")]
    assert fp["person_code"] == "I10.x00x032" and fp["engine_code"] == "I10.x00x004" and len(fp["rule_ids"]) == 1
    # suggestions from the learning part on the three uncoded lines: the two texts seen there come first
    sug = data["suggestions"]
    assert sug["lines"] == 3 and sug["right_at_1"] >= 2 and sug["p_at_5"] >= round(2 / 3, 4)


def test_a_line_is_dated_by_its_discharge_else_by_its_review(tiny):
    # L4 was discharged on 30 September and coded on 2 October: a learning line. Two lines imported
    # without a homepage are dated by the day a person coded them.
    with tiny.begin() as conn:
        for i, day in enumerate((dt.datetime(2025, 9, 15), dt.datetime(2025, 10, 15))):
            conn.execute(
                insert(diagnosis).values(
                    record_id=f"H{i}", seq_no=1, kind="discharge", description="痛风", code="M10.900",
                    coded_by="张伟", status="manual", created_at=day, updated_at=day,
                )
            )  # fmt: skip
    data = evaluate_history(tiny, split_date="2025-10-01")
    assert data["learning"] == {"lines": 7, "records": 5} and data["test"] == {"lines": 8, "records": 5}


def test_a_holdout_draws_whole_records_the_same_way_every_time(tiny):
    a = evaluate_history(tiny, holdout=0.5, seed=7)
    assert a["test"]["records"] == 4 and a["learning"]["records"] == 4  # 8 records, half of them tested
    assert a == {**evaluate_history(tiny, holdout=0.5, seed=7), "seconds": a["seconds"]}
    assert a["test"]["lines"] + a["learning"]["lines"] == sum(len(r[2]) for r in TINY_LEARNING + TINY_TEST)
    b = evaluate_history(tiny, holdout=0.5, seed=8)
    assert (b["split"]["seed"], a["split"]) == (8, {"kind": "holdout", "fraction": 0.5, "seed": 7})


def test_mining_the_learning_part_names_the_rules_it_adds(tiny):
    # 胆囊多发结石 K80.200x003 twice and 急性阑尾炎 K35.900 twice before the split: with support 2 they
    # are learned, so the test part's two lines coded by hand become covered, by named mined rules
    data = evaluate_history(tiny, split_date="2025-10-01", with_mining=True, min_support=2, min_precision=0.9)
    rules = data["rules"]
    assert rules["mined"] == len(rules["mined_ids"]) == len(rules["mined_rules"]) >= 2
    with tiny.connect() as conn:
        top = conn.execute(select(func.max(coding_rule.c.id))).scalar()
    assert min(rules["mined_ids"]) == top + 1
    assert {"K80.200x003", "K35.900"} <= {r["code"] for r in rules["mined_rules"]}
    assert data["lines"]["coverage"] > round(4 / 7, 4) and data["lines"]["tn"] == 0


def test_the_errors_and_the_exit_codes(tiny, tmp_path):
    with pytest.raises(SplitInvalid, match="--split-date YYYY-MM-DD"):
        evaluate_history(tiny)
    with pytest.raises(SplitInvalid, match="give one split"):
        evaluate_history(tiny, split_date="2025-10-01", holdout=0.2)
    for bad in (0, 1, 1.5, -0.1):
        with pytest.raises(SplitInvalid, match=r"between 0 and 1, exclusive"):
            evaluate_history(tiny, holdout=bad)
    with pytest.raises(HistoryEmpty, match="learning part is empty.*a later --split-date"):
        evaluate_history(tiny, split_date="2025-01-01")
    with pytest.raises(HistoryEmpty, match="test part is empty.*an earlier --split-date"):
        evaluate_history(tiny, split_date="2026-01-01")
    with pytest.raises(HistoryEmpty, match="test part is empty.*a larger --holdout"):
        evaluate_history(tiny, holdout=0.01)
    url = tiny.url.render_as_string(hide_password=False)
    bad_date = invoke(url, "evaluate", "--split-date", "2025-13-01")
    assert bad_date.exit_code == 1 and "--split-date '2025-13-01' is not a date" in bad_date.output
    assert invoke(url, "evaluate", "--holdout", "1").exit_code == 1
    empty = invoke(url, "evaluate", "--split-date", "2030-01-01")
    assert empty.exit_code == 1 and "an earlier --split-date" in empty.output


def test_json_and_workbook_shapes(tiny, tmp_path):
    url = tiny.url.render_as_string(hide_password=False)
    out = tmp_path / "eval.xlsx"
    r = invoke(url, "evaluate", "--split-date", "2025-10-01", "--json", "--xlsx", str(out))
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert set(data) >= {"split", "learning", "test", "rules", "lines", "records", "suggestions", "by_chapter"}
    assert {"by_code", "errors"} <= set(data) and data["split"] == {"kind": "date", "date": "2025-10-01"}
    assert set(data["errors"][0]) >= {"description", "person_code", "engine", "outcome", "rule_ids", "count"}
    wb = load_workbook(out)
    assert wb.sheetnames[:4] == ["summary", "by_chapter", "by_code", "errors"]
    summary = {row[0]: row[1] for row in wb["summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["line precision"] == 0.75 and summary["record exact_share"] == 0.25
    assert wb["errors"].max_row == 1 + len(data["errors"])
    text = invoke(url, "evaluate", "--split-date", "2025-10-01")
    assert text.exit_code == 0
    assert "rules: 3 of the rule base" in text.output and "TP 3, FP 1, FN 1, TN 2" in text.output
    assert "code sets exactly right 1 (25.0%)" in text.output and "高血压3级" in text.output


def _tables(engine) -> dict:
    with engine.connect() as conn:
        return {t.name: sorted(map(tuple, conn.execute(select(t)).all()), key=repr) for t in metadata.sorted_tables}


def test_evaluate_writes_nothing(tiny, tmp_path):
    before = _tables(tiny)
    data = evaluate_history(tiny, split_date="2025-10-01", with_mining=True, min_support=2)
    evaluate_history(tiny, holdout=0.5, with_mining=True)
    assert data["rules"]["mined"] and _tables(tiny) == before


# --- the demo's year of history (SQLite; one build per module, each test on its own copy)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    run_demo(path)
    return path


def _dump(path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return list(conn.iterdump())


def test_evaluate_on_the_demo_writes_nothing_to_the_file(demo_file, tmp_path):
    url = copy_db(demo_file, tmp_path)
    path = url.removeprefix("sqlite:///")
    before = _dump(path)
    for args in (("--split-date", "2025-10-01", "--mine"), ("--holdout", "0.3", "--mine", "--seed", "3")):
        r = invoke(url, "evaluate", *args, "--xlsx", str(tmp_path / "e.xlsx"))
        assert r.exit_code == 0, r.output
    assert _dump(path) == before


def test_mining_the_learning_part_raises_coverage_on_the_demo(demo_file, tmp_path):
    # The demo's rule base was written through the year answering these very lines, so it covers
    # nearly all of them; without the ICD-10 rules, what the learning part teaches shows.
    eng = make_engine(copy_db(demo_file, tmp_path))
    with eng.begin() as conn:
        conn.execute(update(coding_rule).where(coding_rule.c.code.in_(codes_of("icd10"))).values(enabled=False))
    plain = evaluate_history(eng, split_date="2025-10-01", system="icd10")
    mined = evaluate_history(eng, split_date="2025-10-01", system="icd10", with_mining=True)
    eng.dispose()
    assert plain["rules"]["stored"] == 0 and plain["lines"]["coverage"] == 0.0
    assert mined["rules"]["mined"] > 10 and mined["lines"]["coverage"] > 0.5
    assert mined["lines"]["precision"] >= 0.95 and mined["records"]["recall"] > plain["records"]["recall"]
    assert all(e["rules"].endswith("(mined)") for e in mined["errors"] if e["kind"] == "fp")


def test_the_split_on_the_demo_counts_lines_by_their_day(demo_file, tmp_path):
    eng = make_engine(copy_db(demo_file, tmp_path))
    split = dt.datetime(2025, 10, 1)
    person = diagnosis.c.status.in_(("confirmed", "corrected", "manual"))
    lines = diagnosis.outerjoin(homepage, homepage.c.record_id == diagnosis.c.record_id)
    with eng.connect() as conn:

        def count(*where) -> int:
            return conn.execute(select(func.count()).select_from(lines).where(person, *where)).scalar_one()

        before = count(homepage.c.discharged_at < split) + count(
            homepage.c.record_id.is_(None), diagnosis.c.updated_at < split
        )
        total = count()
        version = conn.execute(select(rulebase_state.c.version)).scalar_one()
    data = evaluate_history(eng, split_date="2025-10-01")
    eng.dispose()
    assert data["learning"]["lines"] == before and data["test"]["lines"] == total - before
    assert data["rules"]["rulebase_version"] == version
