"""The combination table's pure application with several codes a line: a source may be any code of a
line, it is replaced in place (each code kept once), each code serves one combination, a person's
line blocks instead of being replaced."""

from rulebase.combinations import Combination, Combinations, Line, Source, replaced

DIABETES = Combination(codes="E11.900,G63.2*", code="E11.401+G63.2*", id=1)
ULCER = Combination(codes="K25.900,K92.200", code="K25.400", id=2)
TABLE = Combinations([DIABETES, ULCER])


def line(i, *codes, auto=True, kind="discharge"):
    return Line(i, kind, i, tuple(codes), auto)


def test_a_source_among_a_lines_other_codes_is_replaced_in_place():
    # 2型糖尿病伴高血压 (E11.900, I10.x00) and 糖尿病性周围神经病变 (G63.2*)
    out = TABLE.apply([line(1, "I10.x00", "E11.900"), line(2, "G63.2*")])
    (a,) = out.applied
    assert a.combination is DIABETES and a.line_ids == (1, 2)
    assert a.sources == (Source(1, 1, "E11.900"), Source(2, 0, "G63.2*"))
    assert out.codes == {1: ("I10.x00", "E11.401+G63.2*"), 2: ("E11.401+G63.2*",)}
    assert out.blocked == []


def test_both_sources_on_one_line_give_it_the_code_once():
    out = TABLE.apply([line(1, "E11.900", "G63.2*", "I10.x00")])
    (a,) = out.applied
    assert a.line_ids == (1,) and [s.position for s in a.sources] == [0, 1]
    assert out.codes == {1: ("E11.401+G63.2*", "I10.x00")}
    # the line already holding the combination code keeps it once, at its first place
    assert replaced(("E11.900", "E11.401+G63.2*"), {0: "E11.401+G63.2*"}) == ("E11.401+G63.2*",)


def test_two_combinations_on_the_same_two_lines():
    out = TABLE.apply([line(1, "E11.900", "K25.900"), line(2, "K92.200", "G63.2*")])
    assert sorted(a.combination.id for a in out.applied) == [1, 2]
    assert out.codes == {1: ("E11.401+G63.2*", "K25.400"), 2: ("K25.400", "E11.401+G63.2*")}


def test_each_code_serves_one_combination_and_the_rest_stay():
    out = TABLE.apply([line(1, "E11.900"), line(2, "G63.2*"), line(3, "E11.900", "J18.900")])
    (a,) = out.applied
    assert a.line_ids == (1, 2)
    assert 3 not in out.codes  # its E11.900 has no G63.2* left to combine with


def test_a_persons_line_blocks_and_its_auto_lines_go_to_review():
    out = TABLE.apply([line(1, "I10.x00", "E11.900"), line(2, "G63.2*", "J18.900", auto=False)])
    assert out.applied == [] and out.codes == {}
    (b,) = out.blocked
    assert (b.combination, b.auto_ids, b.person_ids) == (DIABETES, (1,), (2,))
    # an auto line holding the same source is taken before the person's
    out = TABLE.apply([line(1, "E11.900"), line(2, "G63.2*", auto=False), line(3, "G63.2*")])
    assert out.blocked == [] and out.applied[0].line_ids == (1, 3)
    # every source a person's: theirs to decide, nothing happens
    out = TABLE.apply([line(1, "E11.900", auto=False), line(2, "G63.2*", auto=False)])
    assert out == ([], [], {})


def test_procedures_and_other_kinds_never_combine_with_discharge_lines():
    assert TABLE.apply([line(1, "E11.900"), line(2, "G63.2*", kind="admission")]).applied == []
    assert TABLE.apply([line(1, "E11.900", "G63.2*", kind="procedure")]).applied == []
    assert TABLE.touches(("J18.900", "G63.2*")) and not TABLE.touches(("J18.900",))
