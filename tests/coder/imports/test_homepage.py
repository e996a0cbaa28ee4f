"""The HIS layouts: the wide homepage export, the long layout's Chinese headers and --map, the
export back in either layout, and lines coded in their own code system only."""

from __future__ import annotations

import json

import pytest
from openpyxl import Workbook
from sqlalchemy import func, insert, select

from coder.audit.actions import apply_action
from coder.db.models import code_log, diagnosis, homepage, icd_code, metadata
from coder.errors import ActionRefused, ImportRejected
from coder.services.diagnoses import export_diagnoses, import_diagnoses
from coder.services.rules import import_rules
from coder.services.run import run_coding
from tests.conftest import write_csv

CODES = [
    ("I25.103", "冠状动脉粥样硬化性心脏病", "icd10"),
    ("I20.000", "不稳定型心绞痛", "icd10"),
    ("I10.x00x032", "高血压病3级（极高危）", "icd10"),
    ("E11.900", "2型糖尿病", "icd10"),
    ("E11.401+G63.2*", "2型糖尿病性周围神经病", "icd10"),
    ("Z95.501", "冠状动脉支架植入后状态", "icd10"),
    ("36.0700", "冠状动脉药物洗脱支架置入术", "icd9cm3"),
    ("88.5500", "单根导管冠状动脉造影", "icd9cm3"),
    ("39.9500x007", "血液透析", "icd9cm3"),
]
NOTE = "患者既往体健，此次因胸痛入院，绝密病程文字"

HEADERS = [
    "病案号",
    "住院次数",
    "姓名",
    "性别",
    "年龄",
    "出生日期",
    "入院时间",
    "出院时间",
    "出院科别",
    "出院诊断",
    "出院主要诊断名称",
    "出院主要诊断编码",
    "出院其他诊断名称1",
    "出院其他诊断编码1",
    "出院其他诊断名称2",
    "出院其他诊断编码2",
    "主要手术操作名称",
    "主要手术操作编码",
    "其他手术操作名称1",
    "其他手术操作编码1",
    "其他手术操作名称2",
    "其他手术操作编码2",
    "编码员",
    "病程记录",
    "总费用",
]


def homepage_rows():
    return [
        # a coded record (history): every pair has a person's code, a procedure twice
        ["0012345", "1", "某甲", "男", "67岁", "1959-02-01", "2026-03-01 08:30", "2026-03-09 10:00", "心血管内科",
         "1.冠心病 不稳定型心绞痛 2.高血压病3级（极高危）", "冠状动脉粥样硬化性心脏病", "I25.103",
         "高血压病3级（极高危）", "I10.x00x032", "", "", "冠状动脉药物洗脱支架置入术", "36.0700", "血液透析",
         "39.9500x007", "血液透析", "39.9500x007", "李娜", NOTE, "35120.5"],
        # the same patient again, pending
        ["0012345", "2", "某甲", "男", "67", "1959-02-01", "2026/5/1", "2026年5月5日", "心血管内科", "", "冠心病", "",
         "2型糖尿病", "", "", "", "冠状动脉造影", "", "", "", "", "", "", NOTE, "8000"],
        # another patient, pending, no procedures
        ["0099001", "1", "某乙", "女", "45岁", "1981-07-12", "2026-04-02", "2026-04-10", "内分泌科", "", "2型糖尿病", "",
         "不稳定型心绞痛", "", "冠心病", "", "", "", "", "", "", "", "", NOTE, "5000"],
    ]  # fmt: skip


@pytest.fixture
def coded_db(engine):
    with engine.begin() as conn:
        conn.execute(insert(icd_code), [{"code": c, "name": n, "code_system": s} for c, n, s in CODES])
    return engine


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _lines(engine):
    with engine.connect() as conn:
        return conn.execute(
            select(diagnosis).order_by(diagnosis.c.record_id, diagnosis.c.kind, diagnosis.c.seq_no)
        ).all()


def test_homepage_layout_reads_records_lines_and_procedures(coded_db, tmp_path):
    f = write_csv(tmp_path / "export.csv", HEADERS, homepage_rows())
    s = import_diagnoses(coded_db, f, layout="homepage").summary()
    assert s["records_added"] == 3
    assert s["added"] == 11 and s["coded_by_person"] == 5 and s["pending"] == 6 and s["procedures"] == 4
    lines = [(r.record_id, r.kind, r.seq_no, r.description, r.code, r.status, r.coded_by) for r in _lines(coded_db)]
    assert lines[:5] == [
        ("0012345-1", "discharge", 1, "冠状动脉粥样硬化性心脏病", "I25.103", "manual", "李娜"),
        ("0012345-1", "discharge", 2, "高血压病3级（极高危）", "I10.x00x032", "manual", "李娜"),
        ("0012345-1", "procedure", 1, "冠状动脉药物洗脱支架置入术", "36.0700", "manual", "李娜"),
        # the same procedure twice in one record: both lines kept
        ("0012345-1", "procedure", 2, "血液透析", "39.9500x007", "manual", "李娜"),
        ("0012345-1", "procedure", 3, "血液透析", "39.9500x007", "manual", "李娜"),
    ]
    assert ("0099001-1", "discharge", 3, "冠心病", None, "pending", None) in lines
    with coded_db.connect() as conn:
        rec = {r.record_id: r for r in conn.execute(select(homepage))}
    assert set(rec) == {"0012345-1", "0012345-2", "0099001-1"}
    first = rec["0012345-1"]
    assert (first.mrn, first.admission_no, first.sex, first.age, first.department) == (
        "0012345",
        "1",
        "M",
        "67岁",
        "心血管内科",
    )
    assert first.admitted_at.isoformat() == "2026-03-01T08:30:00"
    assert rec["0012345-2"].discharged_at.isoformat() == "2026-05-05T00:00:00"
    assert rec["0099001-1"].sex == "F"
    assert first.discharge_text.startswith("1.冠心病")


def test_clinical_notes_and_names_are_never_stored(coded_db, tmp_path):
    f = write_csv(tmp_path / "export.csv", HEADERS, homepage_rows())
    import_diagnoses(coded_db, f, layout="homepage")
    stored = []
    with coded_db.connect() as conn:
        for table in metadata.sorted_tables:
            stored += [str(v) for row in conn.execute(select(table)) for v in row]
    text = "\n".join(stored)
    assert "高血压病3级（极高危）" in text  # the check sees the text that is stored
    assert NOTE not in text and "某甲" not in text and "35120.5" not in text


def test_reimporting_the_same_homepage_file_changes_nothing(coded_db, tmp_path):
    f = write_csv(tmp_path / "export.csv", HEADERS, homepage_rows())
    import_diagnoses(coded_db, f, layout="homepage")
    before = [tuple(r) for r in _lines(coded_db)]
    s = import_diagnoses(coded_db, f, layout="homepage").summary()
    assert (s["added"], s["unchanged"], s["records_added"], s["records_changed"], s["records_unchanged"]) == (
        0,
        11,
        0,
        0,
        3,
    )
    assert [tuple(r) for r in _lines(coded_db)] == before


def _departments(engine) -> dict[str, set]:
    out: dict[str, set] = {}
    for line in _lines(engine):
        out.setdefault(line.record_id, set()).add(line.department)
    return out


def test_a_changed_patient_field_updates_the_record_and_leaves_lines(coded_db, tmp_path):
    import_diagnoses(coded_db, write_csv(tmp_path / "a.csv", HEADERS, homepage_rows()), layout="homepage")
    # every line carries its record's department (the worklist's filter reads it from the line)
    assert _departments(coded_db) == {
        "0012345-1": {"心血管内科"},
        "0012345-2": {"心血管内科"},
        "0099001-1": {"内分泌科"},
    }
    rows = homepage_rows()
    rows[2][8] = "老年医学科"
    s = import_diagnoses(coded_db, write_csv(tmp_path / "b.csv", HEADERS, rows), layout="homepage").summary()
    assert (s["records_changed"], s["added"]) == (1, 0)
    with coded_db.connect() as conn:
        assert conn.execute(select(homepage.c.department).where(homepage.c.record_id == "0099001-1")).scalar() == (
            "老年医学科"
        )
    assert _departments(coded_db)["0099001-1"] == {"老年医学科"}  # the lines follow their record
    long = write_csv(tmp_path / "long.csv", ["record_id", "seq", "description"], [["0099001-1", "9", "肺炎"]])
    import_diagnoses(coded_db, long)  # a line added to the record later takes its department too
    assert _departments(coded_db)["0099001-1"] == {"老年医学科"}


def test_homepage_errors_name_row_and_column_and_nothing_is_written(coded_db, tmp_path):
    rows = homepage_rows()
    rows[0][3] = "男女"  # not a sex
    rows[1][6] = "五月一日"  # not a date
    rows[2][11] = "36.0700"  # a procedure code as a diagnosis's
    rows[1][17] = "I25.103"  # a diagnosis code as a procedure's
    rows[2][13] = "I25.103"  # a code without its name: 出院其他诊断名称1 is 不稳定型心绞痛, so use pair 2
    rows[2][14], rows[2][15] = "", "I25.103"
    f = write_csv(tmp_path / "bad.csv", HEADERS, rows)
    with pytest.raises(ImportRejected) as exc:
        import_diagnoses(coded_db, f, layout="homepage")
    msgs = [str(p) for p in exc.value.problems]
    assert (
        f"{f}, row 2, column 性别: 性别 '男女' is not a sex: write 男 or 女 (or 1, 2; 0 or 9 when not stated)" in msgs
    )
    assert any(m.startswith(f"{f}, row 3, column 入院时间: 入院时间 '五月一日' is not a date") for m in msgs)
    assert any(
        m.startswith(
            f"{f}, row 4, column 出院主要诊断编码: code '36.0700' is an ICD-9-CM-3 code; this line is coded in ICD-10"
        )
        for m in msgs
    )
    assert any(
        m.startswith(
            f"{f}, row 3, column 主要手术操作编码: code 'I25.103' is an ICD-10 code; this line is coded in ICD-9-CM-3"
        )
        for m in msgs
    )
    assert any(m.startswith(f"{f}, row 4, column 出院其他诊断名称2: the name is empty beside the code") for m in msgs)
    assert _count(coded_db, diagnosis) == 0 and _count(coded_db, homepage) == 0


def test_a_missing_id_column_names_what_is_needed_not_the_whole_header(coded_db, tmp_path):
    headers = [f"字段{i}" for i in range(180)] + ["出院主要诊断名称", "出院主要诊断编码"]
    f = write_csv(tmp_path / "wide.csv", headers, [["x"] * 180 + ["冠心病", ""]])
    with pytest.raises(ImportRejected) as exc:
        import_diagnoses(coded_db, f, layout="homepage")
    (problem,) = exc.value.problems
    message = str(problem)
    assert "missing column 'record_id' (or 病案号, 病案号码, 住院号, id)" in message
    assert "182 columns in all" in message and "字段100" not in message
    assert "--map record_id=HEADER" in message


def test_the_long_layout_points_to_the_homepage_layout(coded_db, tmp_path):
    f = write_csv(tmp_path / "export.csv", HEADERS, homepage_rows())
    with pytest.raises(ImportRejected) as exc:
        import_diagnoses(coded_db, f)
    (problem,) = exc.value.problems
    assert "missing column 'description' (or 诊断名称, 诊断描述)" in str(problem)
    assert "import it with --layout homepage" in str(problem)
    assert len(str(problem)) < 600


def test_long_layout_chinese_headers_and_map(coded_db, tmp_path):
    f = write_csv(
        tmp_path / "long.csv",
        ["病案号", "序号", "诊断名称", "诊断编码", "编码员"],
        [["A1", "1", "冠心病", "I25.103", "王芳"], ["A1", "2", "2型糖尿病", "", ""]],
    )
    assert import_diagnoses(coded_db, f).summary()["coded_by_person"] == 1
    # An HIS's long export has more columns than icdcoder reads: they are left unread, and named.
    g = write_csv(
        tmp_path / "his.csv",
        ["ID", "出院诊断", "科室", "姓名"],
        [["B7", "1.冠心病2.高血压病3级（极高危）", "心内科", "某丙"]],
    )
    s = import_diagnoses(coded_db, g, mapping={"record_id": "id", "description": "出院诊断"}).summary()
    assert (s["added"], s["split_rows"], s["ignored_columns"]) == (2, 1, ["科室", "姓名"])
    with pytest.raises(ImportRejected, match="--map names no column 'diagnosis'"):
        import_diagnoses(coded_db, g, mapping={"diagnosis": "出院诊断"})
    with pytest.raises(ImportRejected, match="--map description=诊断: the header row has no such column"):
        import_diagnoses(coded_db, g, mapping={"description": "诊断"})


def test_a_code_excel_holds_as_a_number_is_refused(coded_db, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["病案号", "出院主要诊断名称", "主要手术操作名称", "主要手术操作编码"])
    ws.append(["C1", "冠心病", "冠状动脉药物洗脱支架置入术", 36.07])  # typed 36.0700, kept as a number
    path = tmp_path / "numeric.xlsx"
    wb.save(path)
    with pytest.raises(ImportRejected) as exc:
        import_diagnoses(coded_db, path, layout="homepage")
    assert "column 主要手术操作编码: the code '36.07' is a number in the workbook" in str(exc.value.problems[0])


RULES = [
    ["code", "pattern", "exclude", "priority", "note"],
    ["I25.103", "冠(状动脉粥样硬化性)?心(脏)?病", "", "0", ""],
    ["E11.900", "2型糖尿病", "", "0", ""],
    ["I20.000", "不稳定型?心绞痛", "", "0", ""],
    # A diagnosis rule whose words a procedure line also has, and a procedure rule whose words a
    # diagnosis line has: each may code only its own system's lines.
    ["Z95.501", "冠状动脉.{0,6}(支架|造影)", "", "0", ""],
    ["88.5500", "冠状动脉造影", "", "0", ""],
    ["36.0700", "冠心病", "", "0", "a procedure rule matching a diagnosis text"],
]


@pytest.mark.parametrize("engine_name", ["python", "sql"])
def test_procedures_are_coded_by_procedure_rules_only(coded_db, tmp_path, engine_name):
    import_rules(coded_db, write_csv(tmp_path / "r.csv", RULES[0], RULES[1:]), "测试", "test")
    import_diagnoses(coded_db, write_csv(tmp_path / "e.csv", HEADERS, homepage_rows()), layout="homepage")
    run_coding(coded_db, engine_name=engine_name)
    got = {(r.record_id, r.kind, r.seq_no): (r.status, r.code) for r in _lines(coded_db)}
    assert got[("0012345-2", "procedure", 1)] == ("coded", "88.5500")  # 冠状动脉造影: not Z95.501
    assert got[("0012345-2", "discharge", 1)] == ("coded", "I25.103")  # 冠心病: not 36.0700
    assert got[("0099001-1", "discharge", 3)] == ("coded", "I25.103")
    assert got[("0099001-1", "discharge", 2)] == ("coded", "I20.000")
    with coded_db.connect() as conn:
        systems = conn.execute(
            select(diagnosis.c.kind, icd_code.c.code_system)
            .join(code_log, code_log.c.diagnosis_id == diagnosis.c.id)
            .join(icd_code, icd_code.c.code == code_log.c.code)
        ).all()
    assert systems and all((k == "procedure") == (s == "icd9cm3") for k, s in systems)


def test_a_procedure_line_takes_only_a_procedure_code_in_the_audit(coded_db, tmp_path):
    import_rules(coded_db, write_csv(tmp_path / "r.csv", RULES[0], RULES[1:]), "测试", "test")
    import_diagnoses(coded_db, write_csv(tmp_path / "e.csv", HEADERS, homepage_rows()), layout="homepage")
    run_coding(coded_db)
    proc = next(r for r in _lines(coded_db) if r.record_id == "0012345-2" and r.kind == "procedure")
    with (
        coded_db.begin() as conn,
        pytest.raises(ActionRefused, match="is an ICD-10 code; this line is coded in ICD-9-CM-3"),
    ):
        apply_action(conn, proc.id, "correct", "李娜", "Z95.501")
    with coded_db.begin() as conn:
        assert apply_action(conn, proc.id, "correct", "李娜", "36.0700").code == "36.0700"


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
@pytest.mark.parametrize("layout", ["homepage", "long"])
def test_export_fills_in_the_codes_and_imports_back_as_a_no_op(coded_db, tmp_path, layout, suffix):
    import_rules(coded_db, write_csv(tmp_path / "r.csv", RULES[0], RULES[1:]), "测试", "test")
    import_diagnoses(coded_db, write_csv(tmp_path / "e.csv", HEADERS, homepage_rows()), layout="homepage")
    run_coding(coded_db)
    before = [tuple(r) for r in _lines(coded_db)]
    out = tmp_path / f"back{suffix}"
    n = export_diagnoses(coded_db, out, layout=layout).rows
    assert n == (3 if layout == "homepage" else 11)
    from coder.imports.tabular import read_sheet

    sheet = read_sheet(out)
    cells = [r.values for r in sheet.rows]
    if layout == "homepage":
        second = next(c for c in cells if c["住院次数"] == "2")
        assert (second["出院主要诊断名称"], second["出院主要诊断编码"], second["出院主要诊断状态"]) == (
            "冠心病",
            "I25.103",
            "自动编码",
        )
        assert (second["主要手术操作名称"], second["主要手术操作编码"]) == ("冠状动脉造影", "88.5500")
        first = next(c for c in cells if c["住院次数"] == "1" and c["病案号"] == "0012345")
        assert (first["出院主要诊断编码"], first["出院主要诊断状态"], first["编码员"]) == (
            "I25.103",
            "人工编码",
            "李娜",
        )
        assert first["其他手术操作编码2"] == "39.9500x007"  # the procedure done twice, twice
        assert first["性别"] == "男" and first["入院时间"].startswith("2026-03-01")
    else:
        assert {"record_id", "seq", "kind", "description", "code", "coder", "status"} <= set(sheet.headers)
        assert any(c["code"] == "88.5500" and c["status"] == "coded" and c["coder"] == "" for c in cells)
    s = import_diagnoses(coded_db, out, layout=layout).summary()
    assert (s["added"], s["unchanged"]) == (0, 11)
    if layout == "homepage":
        assert (s["records_added"], s["records_changed"]) == (0, 0)
    assert [tuple(r) for r in _lines(coded_db)] == before


def test_cli_homepage_import_list_and_export(migrated_invoke, tmp_path, db_url):
    from coder.db.connect import make_engine

    eng = make_engine(db_url)
    with eng.begin() as conn:
        conn.execute(insert(icd_code), [{"code": c, "name": n, "code_system": s} for c, n, s in CODES])
    eng.dispose()
    f = write_csv(tmp_path / "export.csv", HEADERS, homepage_rows())
    r = migrated_invoke("diagnoses", "import", str(f), "--layout", "homepage")
    assert r.exit_code == 0, r.output
    assert "records: 3 added" in r.stdout
    r = migrated_invoke("diagnoses", "list", "--system", "icd9cm3", "--json")
    rows = json.loads(r.stdout)
    assert len(rows) == 4 and {x["kind"] for x in rows} == {"procedure"} and {x["system"] for x in rows} == {"icd9cm3"}
    r = migrated_invoke("diagnoses", "export", str(tmp_path / "out.xlsx"), "--layout", "homepage", "--json")
    assert json.loads(r.stdout)["rows"] == 3
    r = migrated_invoke("diagnoses", "import", str(tmp_path / "out.xlsx"), "--layout", "homepage", "--json")
    assert json.loads(r.stdout)["added"] == 0


def test_the_demo_database_exports_and_imports_back_unchanged(tmp_path):
    """Both samples (a long-layout list with gaps in its numbering and blank lines, and the
    homepage export): the homepage export of all of it imports back as a no-op."""
    from coder.db.connect import make_engine
    from coder.services.demo import run_demo

    run_demo(tmp_path / "demo.db")
    eng = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    before = [tuple(r) for r in _lines(eng)]
    with eng.connect() as conn:
        records = conn.execute(select(func.count()).select_from(homepage)).scalar_one()
    for layout in ("homepage", "long"):
        out = tmp_path / f"all-{layout}.xlsx"
        export_diagnoses(eng, out, layout=layout)
        s = import_diagnoses(eng, out, layout=layout).summary()
        assert (s["added"], s["codes_not_applied"]) == (0, 0), layout
        assert [tuple(r) for r in _lines(eng)] == before
        with eng.connect() as conn:
            assert conn.execute(select(func.count()).select_from(homepage)).scalar_one() == records
    eng.dispose()


def test_icdcoder_codes_coming_back_in_an_export_are_not_a_persons(coded_db, tmp_path):
    from coder.db.connect import make_engine
    from coder.db.migrate import upgrade_db

    import_rules(coded_db, write_csv(tmp_path / "r.csv", RULES[0], RULES[1:]), "测试", "test")
    import_diagnoses(coded_db, write_csv(tmp_path / "e.csv", HEADERS, homepage_rows()), layout="homepage")
    run_coding(coded_db)
    out = tmp_path / "back.xlsx"
    export_diagnoses(coded_db, out, layout="homepage")
    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")  # another database: every line there is new
    upgrade_db(fresh)
    with fresh.begin() as conn:
        conn.execute(insert(icd_code), [{"code": c, "name": n, "code_system": s} for c, n, s in CODES])
    s = import_diagnoses(fresh, out, layout="homepage").summary()
    got = {(r.record_id, r.kind, r.seq_no): (r.status, r.code, r.coded_by) for r in _lines(fresh)}
    assert s["added"] == 11 and s["coded_by_person"] == 5  # the persons' codes, not icdcoder's
    assert got[("0012345-2", "procedure", 1)] == ("pending", None, None)  # was auto-coded 88.5500
    assert got[("0012345-1", "discharge", 1)] == ("manual", "I25.103", "李娜")


def test_a_file_with_fewer_columns_keeps_the_stored_patient_fields(coded_db, tmp_path):
    import_diagnoses(coded_db, write_csv(tmp_path / "a.csv", HEADERS, homepage_rows()), layout="homepage")
    keep = ["病案号", "住院次数", "出院主要诊断名称", "出院主要诊断编码"]
    idx = [HEADERS.index(h) for h in keep]
    narrow = [[r[i] for i in idx] for r in homepage_rows()]
    s = import_diagnoses(coded_db, write_csv(tmp_path / "b.csv", keep, narrow), layout="homepage").summary()
    assert (s["records_changed"], s["added"]) == (0, 0)
    with coded_db.connect() as conn:
        rec = conn.execute(select(homepage).where(homepage.c.record_id == "0012345-1")).one()
    assert (rec.sex, rec.department) == ("M", "心血管内科")


def test_bad_cells_in_unread_columns_do_not_refuse_the_file(coded_db, tmp_path):
    rows = homepage_rows()
    rows[0][HEADERS.index("病程记录")] = "记录\x01含控制字符"
    rows[1][HEADERS.index("姓名")] = "某\x07甲"
    f = write_csv(tmp_path / "notes.csv", [*HEADERS, "总费用"], [[*r, "x"] for r in rows])  # 总费用 twice
    s = import_diagnoses(coded_db, f, layout="homepage").summary()
    assert s["added"] == 11 and "病程记录" in s["ignored_columns"]
    rows[0][HEADERS.index("出院主要诊断名称")] = "冠心\x01病"  # a read column is still checked
    with pytest.raises(ImportRejected, match="column 出院主要诊断名称: the cell holds the control character U[+]0001"):
        import_diagnoses(coded_db, write_csv(tmp_path / "bad.csv", HEADERS, rows), layout="homepage")


def test_a_changed_code_in_the_file_is_counted_not_applied(coded_db, tmp_path):
    import_diagnoses(coded_db, write_csv(tmp_path / "a.csv", HEADERS, homepage_rows()), layout="homepage")
    rows = homepage_rows()
    rows[1][HEADERS.index("出院主要诊断编码")] = "I25.103"  # coded in the HIS meanwhile
    rows[0][HEADERS.index("出院主要诊断编码")] = "NOT.A.CODE"  # a stored line's code is not asked about
    s = import_diagnoses(coded_db, write_csv(tmp_path / "b.csv", HEADERS, rows), layout="homepage").summary()
    assert (s["added"], s["codes_not_applied"]) == (0, 2)


def test_a_procedures_export_has_no_diagnosis_columns_and_kinds_are_checked(coded_db, tmp_path):
    import_diagnoses(coded_db, write_csv(tmp_path / "a.csv", HEADERS, homepage_rows()), layout="homepage")
    out = tmp_path / "procs.csv"
    assert export_diagnoses(coded_db, out, layout="homepage", system="icd9cm3").rows == 2
    from coder.imports.tabular import read_sheet

    headers = read_sheet(out).headers
    assert "主要手术操作名称" in headers and not any("诊断名称" in h or "诊断编码" in h for h in headers)
    f = write_csv(tmp_path / "k.csv", ["record_id", "kind", "description"], [["K1", "Procedure", "阑尾切除术"]])
    with pytest.raises(ImportRejected, match="write 'procedure' [(]lower case[)] for a procedure line"):
        import_diagnoses(coded_db, f)
    f = write_csv(tmp_path / "k2.csv", ["record_id", "kind", "description"], [["K1", "手术", "阑尾切除术"]])
    import_diagnoses(coded_db, f)
    assert [r.kind for r in _lines(coded_db) if r.record_id == "K1"] == ["procedure"]
