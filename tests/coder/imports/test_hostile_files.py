"""Files a hostile or careless user imports (issue #16, items 5, 9, 10 and 12): each refused with
the place and what to do, or read as a person sees it; nothing half-written."""

import openpyxl
import pytest
from sqlalchemy import func, select

from coder.db.models import diagnosis, icd_code
from coder.errors import ImportRejected
from coder.imports.splitting import split_numbered
from coder.imports.tabular import read_sheet
from coder.services.diagnoses import import_diagnoses
from coder.services.dictionary import import_dictionary
from tests.conftest import write_csv


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_csv_is_parsed_as_a_stream_quoted_line_breaks_kept_u2028_not_a_row_end(seeded, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('record_id,seq,description\nR1,1,"冠心病\n续行"\nR1,2,高血压\u2028病\n', encoding="utf-8")
    sheet = read_sheet(path)
    assert [(r.number, r.get("description")) for r in sheet.rows] == [(2, "冠心病\n续行"), (3, "高血压\u2028病")]
    assert import_diagnoses(seeded, path).summary()["added"] == 2
    with seeded.connect() as conn:
        texts = conn.execute(select(diagnosis.c.description).order_by(diagnosis.c.seq_no)).scalars().all()
    assert texts == ["冠心病\n续行", "高血压\u2028病"]


def test_a_hidden_first_sheet_is_never_imported_in_place_of_the_visible_one(seeded, tmp_path):
    wb = openpyxl.Workbook()
    hidden = wb.active
    hidden.title = "old"
    hidden.append(["record_id", "seq", "description"])
    hidden.append(["X1", 1, "旧数据"])
    hidden.sheet_state = "hidden"
    shown = wb.create_sheet("diagnoses")
    shown.append(["record_id", "seq", "description"])
    shown.append(["R1", 1, "冠心病"])
    wb.save(tmp_path / "d.xlsx")
    assert import_diagnoses(seeded, tmp_path / "d.xlsx").summary()["added"] == 1
    with seeded.connect() as conn:
        assert conn.execute(select(diagnosis.c.record_id)).scalars().all() == ["R1"]
    with pytest.raises(ImportRejected, match="sheet 'old' is hidden: unhide it in Excel"):
        read_sheet(tmp_path / "d.xlsx", "old")


def test_duplicate_headers_formulas_without_values_imprecise_numbers_and_nul_are_refused(seeded, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["record_id", "seq", "description", "description"])
    ws.append(["R1", 1, "冠心病", "x"])
    ws.append(["R2", 1, '=A2&"病"', ""])  # written by a program: a formula with no saved value
    ws.append([123456789012345678.0, 1, "肺炎", ""])
    wb.save(tmp_path / "d.xlsx")
    with pytest.raises(ImportRejected) as exc:
        import_diagnoses(seeded, tmp_path / "d.xlsx")
    msgs = [str(p) for p in exc.value.problems]
    f = f"{tmp_path / 'd.xlsx'}, sheet Sheet"
    assert (
        f"{f}, row 1, column description: column 'description' appears twice in the header (columns 3 and 4); keep one"
        in msgs
    )
    assert any(m.startswith(f"{f}, row 3, column description: a formula without a saved value") for m in msgs)
    assert any(
        m.startswith(f"{f}, row 4, column record_id: the number 1.23456789012346e+17 has more digits") for m in msgs
    )
    assert _count(seeded, diagnosis) == 0


def test_record_ids_typed_as_numbers_that_excel_keeps_exactly_are_read_as_their_digits(seeded, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["record_id", "seq", "description"])
    ws.append([2024000123, 1, "冠心病"])
    wb.save(tmp_path / "d.xlsx")
    import_diagnoses(seeded, tmp_path / "d.xlsx")
    with seeded.connect() as conn:
        assert conn.execute(select(diagnosis.c.record_id)).scalar_one() == "2024000123"


@pytest.mark.parametrize(
    "code, why",
    [
        ("i10.x00", "its letters are lower-case"),
        ("Ｉ１０．ｘ００", "it holds full-width characters"),
        ("I10.x00\u200b", "it holds an invisible or control character"),
        ("2024-01-10T00:00:00", "it does not have the form of one"),
        ("1", "it does not have the form of one"),
    ],
)
def test_the_dictionary_refuses_codes_not_in_the_systems_form_and_never_retypes_them(engine, tmp_path, code, why):
    f = write_csv(tmp_path / "c.csv", ["code", "name"], [["I10.x00", "原发性高血压"], [code, "高血压"]])
    with pytest.raises(ImportRejected) as exc:
        import_dictionary(engine, f)
    assert [str(p) for p in exc.value.problems] == [
        f"{f}, row 3, column code: code {code!r} is not an ICD-10 code: {why}; write it as, e.g., "
        "I25.103, I10.x00x032, E11.401+G63.2*"
    ]
    assert _count(engine, icd_code) == 0


def test_the_national_versions_code_forms_are_accepted(engine, tmp_path):
    codes = ["I25.103", "I10.x00x032", "E11.401+G63.2*", "Z95.501", "K80.200x003", "G63.2*", "A17.0†", "I10"]
    f = write_csv(tmp_path / "c.csv", ["code", "name"], [[c, "名称"] for c in codes])
    assert import_dictionary(engine, f).summary()["added"] == len(codes)


def test_a_date_or_true_cell_in_the_code_column_is_refused_not_retyped(engine, tmp_path):
    import datetime as dt

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["code", "name"])
    ws.append([dt.datetime(2024, 1, 10), "日期"])
    ws.append([True, "真"])
    wb.save(tmp_path / "c.xlsx")
    with pytest.raises(ImportRejected) as exc:
        import_dictionary(engine, tmp_path / "c.xlsx")
    assert [p.row for p in exc.value.problems] == [2, 3]
    assert all("is not an ICD-10 code" in p.message for p in exc.value.problems)


def test_a_numbered_list_of_any_length_becomes_one_diagnosis_per_item():
    text = "".join(f"{i}.疾病{chr(0x4E00 + i)}" for i in range(1, 61))
    items = split_numbered(text)
    assert len(items) == 60 and items[49] == f"疾病{chr(0x4E00 + 50)}" and items[-1] == f"疾病{chr(0x4E00 + 60)}"


def test_a_nul_byte_in_a_csv_cell_is_refused_with_its_place(seeded, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("record_id,seq,description\nR1,1,冠心病\nR2,1,肺\x00炎\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as exc:
        import_diagnoses(seeded, path)
    assert [str(p) for p in exc.value.problems] == [
        f"{path}, row 3, column description: the cell holds the control character U+0000, which is not text: remove it"
    ]
    assert _count(seeded, diagnosis) == 0


def test_an_unclosed_quote_in_a_csv_is_refused_not_glued_into_one_cell(seeded, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('record_id,seq,description\nR9,1,"冠心病\nR9,2,高血压\n', encoding="utf-8")
    with pytest.raises(ImportRejected, match="cannot be read as CSV here"):
        import_diagnoses(seeded, path)
    assert _count(seeded, diagnosis) == 0
