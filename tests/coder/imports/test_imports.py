import pytest
from sqlalchemy import func, select

from coder.db.models import coding_rule, diagnosis, icd_code, rule_history
from coder.errors import ImportRejected
from coder.services.diagnoses import import_diagnoses
from coder.services.dictionary import import_dictionary
from coder.services.rules import import_rules
from coder.store import rules as rulestore
from tests.conftest import write_csv


def counts(engine):
    with engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (icd_code, coding_rule, rule_history, diagnosis)
        }


def test_dictionary_import_adds_updates_and_is_idempotent(engine, tmp_path):
    f = write_csv(
        tmp_path / "codes.csv",
        ["code", "name", "parent"],
        [["I10.x00", "原发性高血压", ""], ["I10.x00x004", "高血压病3级", "I10.x00"]],
    )
    assert import_dictionary(engine, f).summary() == {"added": 2, "changed": 0, "unchanged": 0}
    assert import_dictionary(engine, f).summary() == {"added": 0, "changed": 0, "unchanged": 2}
    f2 = write_csv(tmp_path / "codes2.csv", ["code", "name"], [["I10.x00", "高血压"]])
    plan = import_dictionary(engine, f2, dry_run=True)
    assert plan.summary()["changed"] == 1
    with engine.connect() as conn:
        assert conn.execute(select(icd_code.c.name).where(icd_code.c.code == "I10.x00")).scalar_one() == "原发性高血压"


def test_dictionary_bad_rows_are_all_reported_and_nothing_written(engine, tmp_path):
    f = write_csv(
        tmp_path / "codes.csv",
        ["code", "name", "parent"],
        [["I10", "高血压", ""], ["", "空", ""], ["I10", "重复", ""], ["X" * 40, "长", ""], ["J18", "", "Q99"]],
    )
    with pytest.raises(ImportRejected) as exc:
        import_dictionary(engine, f)
    msgs = [str(p) for p in exc.value.problems]
    assert f"{f}, row 3, column code: code is empty" in msgs
    assert f"{f}, row 4, column code: duplicate code 'I10' (also on row 2)" in msgs
    assert f"{f}, row 5, column code: code is longer than 32 characters" in msgs
    assert f"{f}, row 6, column name: name is empty" in msgs
    assert f"{f}, row 6, column parent: parent 'Q99' is neither in this file nor in the dictionary" in msgs
    assert counts(engine)["icd_code"] == 0


def test_missing_column_is_reported(engine, tmp_path):
    f = write_csv(tmp_path / "codes.csv", ["code", "title"], [["I10", "x"]])
    with pytest.raises(ImportRejected, match=r"row 1, column name: missing column 'name'"):
        import_dictionary(engine, f)


def test_rules_import_bad_rows_report_every_problem_and_write_nothing(seeded, tmp_path):
    f = write_csv(
        tmp_path / "rules.csv",
        ["code", "pattern", "exclude", "priority"],
        [
            ["I25.103", "冠心病", "", "0"],
            ["NOPE", "肺炎", "", "0"],
            ["J18.900", "肺炎\\d", "", "0"],
            ["J18.900", "肺炎", "(?=x)", "high"],
            ["I25.103", "冠心病", "", "0"],
        ],
    )
    before = counts(seeded)
    with pytest.raises(ImportRejected) as exc:
        import_rules(seeded, f, "王芳", "initial")
    msgs = [str(p) for p in exc.value.problems]
    assert msgs == [
        f"{f}, row 3, column code: code 'NOPE' is not in the code dictionary",
        f"{f}, row 4, column pattern: invalid pattern '肺炎\\\\d': \\d is not portable: write [0-9] at position 2",
        f"{f}, row 5, column exclude: invalid pattern '(?=x)': (? constructs (non-capturing groups, lookaround, "
        "named groups, inline flags) are not portable; use plain ( ) at position 0",
        f"{f}, row 5, column priority: priority 'high' is not a whole number",
        f"{f}, row 6, column pattern: duplicate of row 2 (same code, pattern and exclude)",
    ]
    assert counts(seeded) == before


def test_rules_import_updates_disables_and_detects_conflicts(seeded, tmp_path):
    f = write_csv(tmp_path / "r.csv", ["code", "pattern"], [["I25.103", "冠心病"], ["J18.900", "肺炎"]])
    assert import_rules(seeded, f, "王芳", "initial").summary()["added"] == 2
    with seeded.connect() as conn:
        ids = [r.id for r in rulestore.load_rules(conn)]
        assert rulestore.rulebase_version(conn) == 1
    f2 = write_csv(
        tmp_path / "r2.csv",
        ["id", "code", "pattern", "enabled", "version"],
        [[ids[0], "I25.103", "冠(状动脉粥样硬化性)?心(脏)?病", "1", "1"], [ids[1], "J18.900", "肺炎", "0", "1"]],
    )
    dry = import_rules(seeded, f2, "王芳", "widen", dry_run=True)
    assert dry.summary() == {"added": 0, "changed": 2, "disabled": 1, "unchanged": 0}
    with seeded.connect() as conn:
        assert rulestore.get_rule(conn, ids[0]).pattern == "冠心病"
    import_rules(seeded, f2, "王芳", "widen")
    with seeded.connect() as conn:
        r0, r1 = rulestore.get_rule(conn, ids[0]), rulestore.get_rule(conn, ids[1])
        assert (r0.pattern, r0.version, r1.enabled, r1.version) == ("冠(状动脉粥样硬化性)?心(脏)?病", 2, False, 2)
        assert [h["action"] for h in rulestore.history(conn, ids[1])] == ["insert", "disable"]
        assert rulestore.rulebase_version(conn) == 2
    # re-importing what is stored (as an export would hold it) changes nothing
    same = write_csv(
        tmp_path / "same.csv",
        ["id", "code", "pattern", "enabled", "version"],
        [[ids[0], "I25.103", "冠(状动脉粥样硬化性)?心(脏)?病", "1", "2"], [ids[1], "J18.900", "肺炎", "0", "2"]],
    )
    assert import_rules(seeded, same, "王芳", "again").summary() == {
        "added": 0,
        "changed": 0,
        "disabled": 0,
        "unchanged": 2,
    }
    # a stale version is a conflict, not a silent overwrite
    stale = write_csv(tmp_path / "r3.csv", ["id", "code", "pattern", "version"], [[ids[0], "I25.103", "冠心病", "1"]])
    with pytest.raises(ImportRejected, match="conflict: rule .* was changed to version 2 after this file was exported"):
        import_rules(seeded, stale, "李娜", "old edit")


def test_diagnoses_import_splits_lists_and_keeps_person_codes(seeded, tmp_path):
    f = write_csv(
        tmp_path / "d.csv",
        ["record_id", "seq", "description", "code", "coder"],
        [
            ["R1", "1", "1.冠心病2.高血压病（3级很高危）3.2型糖尿病", "", ""],
            ["R1", "2", "肺炎", "J18.900", "李娜"],
            ["R2", "1", "胆囊结石", "", ""],
        ],
    )
    plan = import_diagnoses(seeded, f)
    assert plan.summary() == {
        "added": 5,
        "pending": 4,
        "coded_by_person": 1,
        "unchanged": 0,
        "split_rows": 1,
        "codes_not_applied": 0,
        "ignored_columns": [],
    }
    with seeded.connect() as conn:
        rows = conn.execute(select(diagnosis).where(diagnosis.c.record_id == "R1").order_by(diagnosis.c.seq_no)).all()
    assert [(r.seq_no, r.description, r.status) for r in rows] == [
        (1, "冠心病", "pending"),
        (2, "高血压病（3级很高危）", "pending"),
        (3, "2型糖尿病", "pending"),
        (4, "肺炎", "manual"),
    ]
    assert rows[3].coded_by == "李娜" and rows[3].code == "J18.900"
    assert import_diagnoses(seeded, f).summary()["unchanged"] == 5


def test_diagnoses_bad_rows_leave_db_unchanged(seeded, tmp_path):
    f = write_csv(
        tmp_path / "d.csv",
        ["record_id", "seq", "description", "code"],
        [
            ["R1", "1", "冠心病", ""],
            ["", "1", "肺炎", ""],
            ["R2", "x", "肺炎", ""],
            ["R3", "1", "肺炎", "BAD"],
            ["R1", "1", "胃炎", ""],
        ],
    )
    with pytest.raises(ImportRejected) as exc:
        import_diagnoses(seeded, f)
    msgs = [str(p) for p in exc.value.problems]
    assert f"{f}, row 3, column record_id: record_id is empty" in msgs
    assert f"{f}, row 4, column seq: seq 'x' is not a whole number >= 1" in msgs
    assert f"{f}, row 5, column code: code 'BAD' is not in the code dictionary" in msgs
    assert f"{f}, row 6, column seq: record R1 has seq 1 twice (also row 2)" in msgs
    assert counts(seeded)["diagnosis"] == 0


def test_xlsx_is_read_like_csv(seeded, tmp_path):
    from coder.imports.tabular import write_workbook

    path = tmp_path / "d.xlsx"
    write_workbook(
        path, [("homepage", ["record_id", "seq", "description"], [["R9", 1, "-急性阑尾炎"], ["R9", 2, "=肺炎"]])]
    )
    import_diagnoses(seeded, path)
    with seeded.connect() as conn:
        assert [r.description for r in conn.execute(select(diagnosis).order_by(diagnosis.c.seq_no))] == [
            "-急性阑尾炎",
            "=肺炎",
        ]
