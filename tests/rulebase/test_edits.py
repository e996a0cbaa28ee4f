"""The code edits' pure checker: each starter edit on a realistic record, codes by their parts and
categories, ages as spans, and edits that validate themselves."""

import importlib.util
from pathlib import Path

import pytest

from rulebase.edits import STARTER, AgeSpan, Checker, CodeEdit, EditInvalid, EditLine, Patient, parse_age, parts_of
from rulebase.states import EditKind

CHECK = Checker(STARTER)


def hits(codes, sex=None, age=None, active=None, kinds=None):
    """The (seq, kind) of each hit on a record of discharge lines with these codes, seq 1 the main."""
    lines = [EditLine(i, kinds[i - 1] if kinds else "discharge", i, c) for i, c in enumerate(codes, start=1)]
    known = active if active is not None else {c: True for c in codes if c}
    found = CHECK.check(lines, Patient(sex, age), known)
    return sorted((h.line_id, h.kind) for h in found), found


def test_a_man_with_a_normal_delivery_is_marked_on_that_line():
    got, found = hits(["O80.000x001", "I10.x00"], sex="M", age="45岁")  # 正常分娩, 原发性高血压
    assert got == [(1, "sex")]
    assert found[0].reason == "妊娠、分娩和产褥期编码仅用于女性：O80.000x001，病案性别为男"
    assert hits(["O80.000x001"], sex="F", age="28岁")[0] == []
    assert hits(["O80.000x001"], sex=None)[0] == []  # sex not stated: nothing to say


def test_sex_edits_for_the_genital_organs_both_ways():
    assert hits(["C61.x00"], sex="F")[0] == [(1, "sex")]  # 前列腺恶性肿瘤
    assert hits(["N40.x00"], sex="F")[0] == [(1, "sex")]  # 前列腺增生
    assert hits(["C53.900"], sex="M")[0] == [(1, "sex")]  # 宫颈恶性肿瘤
    assert hits(["N80.000"], sex="M")[0] == [(1, "sex")]  # 子宫内膜异位症
    assert hits(["C61.x00"], sex="M")[0] == [] and hits(["C53.900"], sex="F")[0] == []
    assert hits(["N39.000"], sex="M")[0] == []  # 泌尿道感染: N39 is neither range


def test_a_newborn_code_on_a_45_year_old_is_marked_and_not_on_a_newborn():
    got, found = hits(["P07.300"], sex="M", age="45")  # 早产儿
    assert got == [(1, "age")]
    assert "P07.300，年龄 45" in found[0].reason
    for newborn in ("12天", "3日", "6小时", "28天", "1月"):  # a month may be 28 days: not beyond for sure
        assert hits(["P07.300"], age=newborn)[0] == [], newborn
    for older in ("29天", "2月", "1岁3月", "3周岁"):
        assert hits(["P07.300"], age=older)[0] == [(1, "age")], older
    assert hits(["P07.300"], age=None)[0] == []


def test_an_asterisk_code_alone_and_as_the_main_diagnosis():
    got, found = hits(["G63.2*"])  # 糖尿病性周围神经病 coded alone
    assert got == [(1, "asterisk_alone"), (1, "asterisk_main")]
    # the specific edit (G63.2 needs E10-E14) stands in for the general one
    assert [h.reason for h in found if h.kind == "asterisk_alone"] == [
        "糖尿病性多神经病须与糖尿病编码同时编码：G63.2*，病案中无其病因（剑号）编码（应有 E10-E14 的剑号编码）"
    ]
    assert hits(["E11.900", "G63.2*"])[0] == []  # 2型糖尿病 first, then the manifestation
    assert hits(["I10.x00", "G63.2*"])[0] == [(2, "asterisk_alone")]  # hypertension is not its dagger
    assert hits(["A18.001†", "M49.0*"])[0] == []  # 脊柱结核: any dagger for the general edit
    assert hits(["J18.900", "M49.0*"])[0] == []  # the general edit: an etiology code is in the record


def test_a_combination_code_carries_its_dagger():
    assert hits(["E11.401+G63.2*"])[0] == []  # as the main diagnosis too: its first part is the dagger
    assert [(p.code, p.category, p.mark) for p in parts_of("E11.401+G63.2*")] == [
        ("E11.401", "E11", "†"),
        ("G63.2", "G63", "*"),
    ]
    assert parts_of("O80.000x001")[0].category == "O80"


def test_the_same_code_twice_marks_the_later_line():
    got, found = hits(["J18.900", "I10.x00", "J18.900"])  # 肺炎 … 肺炎
    assert got == [(3, "duplicate")]
    assert found[0].reason == "同一编码在病案中重复：J18.900（与第 1 行相同）"
    # a combination and its own asterisk part on another line say the same thing twice
    assert hits(["E11.401+G63.2*", "G63.2*"])[0] == [(2, "duplicate")]
    # a procedure repeated is two operations, and lines of other kinds are not compared
    assert hits(["36.0700", "36.0700"], kinds=["procedure", "procedure"])[0] == []
    assert hits(["J18.900", "J18.900"], kinds=["discharge", "admission"])[0] == []


def test_mutually_exclusive_codes_mark_both_lines():
    got, found = hits(["E10.900", "E11.900"])  # 1型糖尿病 with 2型糖尿病
    assert got == [(1, "exclusive"), (2, "exclusive")]
    assert found[0].reason == "1型与2型糖尿病不能同时编码：E10.900 与第 2 行 E11.900"
    assert hits(["E10.900", "E11.401+G63.2*"])[0] == [(1, "exclusive"), (2, "exclusive")]
    assert hits(["I10.x00x003", "I11.900"])[0] == [(1, "exclusive"), (2, "exclusive")]  # 高血压 with 高血压性心脏病
    assert hits(["O80.000x001", "O82.000"], sex="F")[0] == [(1, "exclusive"), (2, "exclusive")]
    assert hits(["E11.900", "I10.x00"])[0] == []


def test_a_code_missing_from_the_dictionary_or_inactive():
    got, found = hits(["I25.103", "I99.x00", "J06.900"], active={"I25.103": True, "J06.900": False})
    assert got == [(2, "dictionary"), (3, "dictionary")]
    assert [h.reason.split("：")[1] for h in found] == ["I99.x00 不在编码字典中", "J06.900 在编码字典中已停用"]
    assert hits(["36.0700"], active={}, kinds=["procedure"])[0] == [(1, "dictionary")]


def test_ages_as_written_are_spans_of_days():
    assert parse_age("45") == parse_age("45岁") == AgeSpan(45 * 365, 46 * 366)
    assert parse_age("12天") == AgeSpan(12, 13)
    assert parse_age("1岁3月") == AgeSpan(365 + 3 * 28, 366 + 3 * 31 + 31)
    for nothing in (None, "", "  ", "岁", "45x", "3月45"):
        assert parse_age(nothing) is None, nothing


def test_edits_validate_themselves_naming_the_edit():
    with pytest.raises(EditInvalid, match="edit 7: kind 'gender' is not an edit kind"):
        CodeEdit("gender", "x", id=7)
    with pytest.raises(EditInvalid, match="new edit: a sex edit needs the sex"):
        CodeEdit(EditKind.SEX, "仅用于女性", codes="O00-O99")
    with pytest.raises(EditInvalid, match="rows.csv, row 3: codes range 'O99-O00' is not a range"):
        CodeEdit(EditKind.SEX, "x", codes="O99-O00", sex="F", where="rows.csv, row 3")
    with pytest.raises(EditInvalid, match="codes entry '妊娠' is not a category"):
        CodeEdit(EditKind.SEX, "x", codes="妊娠", sex="F")
    with pytest.raises(EditInvalid, match="needs other_codes"):
        CodeEdit(EditKind.EXCLUSIVE, "x", codes="E10")
    with pytest.raises(EditInvalid, match="min_days 30 is more than max_days 28"):
        CodeEdit(EditKind.AGE, "x", codes="P00-P96", min_days=30, max_days=28)
    with pytest.raises(EditInvalid, match="the message .* is empty"):
        CodeEdit(EditKind.DUPLICATE, " ")
    with pytest.raises(EditInvalid, match="entry 'o00-o99' is not a category"):  # checked, never retyped
        CodeEdit(EditKind.SEX, "x", codes="o00-o99", sex="F")
    assert CodeEdit(EditKind.SEX, "x", codes="O00 – O99，N70-N98", sex="女").codes == "O00-O99,N70-N98"


def test_the_migration_inserts_the_starter_set_described_here():
    path = Path(__file__).parents[2] / "migrations" / "versions" / "0012_code_edits.py"
    spec = importlib.util.spec_from_file_location("m0012", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = [CodeEdit(**dict(zip(module.FIELDS, r, strict=True))) for r in module.STARTER]
    assert rows == list(STARTER)


# --- several codes a line -------------------------------------------------------------------------


def multi(lines, sex=None, age=None, together=None):
    """(seq, kind) of each hit on discharge lines given as tuples of codes (the first is `code`)."""
    rows = [EditLine(i, "discharge", i, c[0], ",".join(c[1:]) or None) for i, c in enumerate(lines, start=1)]
    known = {c: True for codes in lines for c in codes}
    found = CHECK.check(rows, Patient(sex, age), known, together)
    return sorted((h.line_id, h.kind) for h in found), found


def test_every_code_of_a_line_is_checked():
    got, found = multi([("I10.x00", "O80.000x001")], sex="M")  # a line's second code, on a man
    assert got == [(1, "sex")] and found[0].reason.endswith("O80.000x001，病案性别为男")
    got, found = multi([("I10.x00",), ("J18.900", "E10.900", "E11.900")])  # exclusive inside one line
    assert got == [(2, "exclusive"), (2, "exclusive")]
    assert sorted(h.reason.split("：")[1] for h in found) == ["E10.900 与第 2 行 E11.900", "E11.900 与第 2 行 E10.900"]
    rows = [EditLine(1, "discharge", 1, "I10.x00", "I99.x00")]
    (hit,) = CHECK.check(rows, None, {"I10.x00": True})
    assert (hit.kind, hit.reason.split("：")[1]) == ("dictionary", "I99.x00 不在编码字典中")


def test_the_main_diagnosis_is_the_first_code_of_the_first_line():
    assert multi([("E11.900", "G63.2*")])[0] == []  # asterisk second, its dagger on the same line
    assert multi([("G63.2*", "E11.900")])[0] == [(1, "asterisk_main")]
    assert multi([("I10.x00",), ("J18.900", "G63.2*")])[0] == [(2, "asterisk_alone")]
    assert multi([("I10.x00",), ("J18.900", "G63.2*"), ("E11.900",)])[0] == []


def test_the_same_code_on_two_lines_unless_one_combination_gave_both():
    got, found = multi([("J18.900", "I10.x00"), ("E11.900", "I10.x00")])
    assert got == [(2, "duplicate")] and "I10.x00（与第 1 行相同）" in found[0].reason
    combined = [("E11.401+G63.2*", "I10.x00"), ("E11.401+G63.2*",)]
    assert multi(combined)[0] == [(2, "duplicate")]  # nobody said where the code came from
    one = {(1, "E11.401+G63.2*"): (7, "1,2"), (2, "E11.401+G63.2*"): (7, "1,2")}
    assert multi(combined, together=one)[0] == []
    # two applications of the combination, or its asterisk part coded again, are two codes
    two = {(1, "E11.401+G63.2*"): (7, "1,2"), (2, "E11.401+G63.2*"): (7, "2,3")}
    assert multi(combined, together=two)[0] == [(2, "duplicate")]
    assert multi([*combined, ("G63.2*",)], together=one)[0] == [(3, "duplicate")]


def test_a_line_after_an_uncoded_first_line_is_not_the_main_diagnosis():
    # The store reads only lines with a code and says of each whether a line of its kind precedes it.
    later = [EditLine(2, "discharge", 2, "G63.2*", None, True)]
    assert sorted(h.kind for h in CHECK.check(later, None, {"G63.2*": True})) == ["asterisk_alone"]
    first = [EditLine(2, "discharge", 2, "G63.2*", None, False)]
    assert sorted(h.kind for h in CHECK.check(first, None, {"G63.2*": True})) == ["asterisk_alone", "asterisk_main"]
