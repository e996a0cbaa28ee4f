from rulebase.normalize import normalize_text


def test_nfkc_fullwidth_and_roman_numerals():
    assert normalize_text("高血压病３级（极高危）") == "高血压病3级(极高危)"
    assert normalize_text("Ⅱ型糖尿病") == "II型糖尿病"


def test_blanks_collapse_and_trim():
    assert normalize_text("  冠心病\t稳定型\r\n心绞痛\u3000 ") == "冠心病 稳定型 心绞痛"


def test_empty():
    assert normalize_text(None) == ""
    assert normalize_text(" \n\t ") == ""


# -- the replacement table -------------------------------------------------------------------

import pytest  # noqa: E402

from rulebase.normalize import Normalizer, Replacement, ReplacementInvalid, table_problems  # noqa: E402


def test_table_applies_in_position_order_after_nfkc():
    n = Normalizer(
        [
            Replacement("冠心病", "冠状动脉粥样硬化性心脏病", position=30, id=3),
            Replacement("梗塞", "梗死", position=10, id=1),
            Replacement("II型", "2型", position=20, id=2),
        ]
    )
    assert n("急性心肌梗塞，Ⅱ型糖尿病　冠心病") == "急性心肌梗死,2型糖尿病 冠状动脉粥样硬化性心脏病"
    assert n(n("急性心肌梗塞，Ⅱ型糖尿病")) == n("急性心肌梗塞，Ⅱ型糖尿病")


def test_disabled_entries_are_not_applied_and_pattern_entries_replace_plain_text():
    n = Normalizer(
        [
            Replacement("梗塞", "梗死", enabled=False),
            Replacement("(综合症|综合证)", "综合征", kind="pattern", position=5),
        ]
    )
    assert n("心肌梗塞后综合症") == "心肌梗塞后综合征"


def test_trace_lists_each_step_that_changed_the_text():
    n = Normalizer(
        [Replacement("梗塞", "梗死", id=1, position=1), Replacement("COPD", "慢性阻塞性肺疾病", id=2, position=2)]
    )
    steps = n.trace("脑梗塞")
    assert [(e.id if e else None, t) for e, t in steps] == [(None, "脑梗塞"), (1, "脑梗死")]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(find="炎", replace="炎症"),
            "new normalization: '炎' -> '炎症' loops: the replacement contains what it "
            "replaces, so normalizing twice would change the text again",
        ),
        (
            dict(find="待查", replace=" "),
            "new normalization: the replacement is empty; a replacement that deletes text "
            "can empty a description. Replace with the preferred term instead, or make "
            "the rule patterns tolerate the extra words",
        ),
        (dict(find="", replace="x"), "new normalization: the text to find is empty"),
        (
            dict(find="Ⅱ型", replace="2型"),
            "new normalization: find 'Ⅱ型' is not in normalized form; after NFKC and "
            "blank folding it reads 'II型': write that instead",
        ),
        (
            dict(find="高血压\\d", replace="高血压", kind="pattern"),
            "new normalization: pattern '高血压\\\\d' is invalid: \\d is not portable: write [0-9] at position 3",
        ),
        (
            dict(find="x", replace="y", kind="regex"),
            "new normalization: kind must be 'literal' or 'pattern', not 'regex'",
        ),
    ],
)
def test_bad_entries_are_refused_with_the_reason(kwargs, message):
    with pytest.raises(ReplacementInvalid) as exc:
        Replacement(**kwargs)
    assert str(exc.value) == message


def test_an_entry_whose_result_an_earlier_entry_rewrites_is_a_loop():
    a = Replacement("梗死", "梗塞", id=1, position=1)
    b = Replacement("梗塞", "梗死", id=2, position=2)
    assert table_problems([a, b]) == [
        "normalization 2 ('梗塞' -> '梗死') loops with normalization 1 ('梗死' -> '梗塞'), which runs before it and "
        "would rewrite its result; change one of them or move this entry before the other"
    ]
    with pytest.raises(ReplacementInvalid):
        Normalizer([a, b])
    # a chain whose later step rewrites an earlier result is stable: 粥硬化 -> 粥样硬化 -> ...
    assert (
        table_problems(
            [Replacement("粥硬化", "粥样硬化", position=1), Replacement("冠状动脉粥样硬化", "冠脉粥样硬化", position=2)]
        )
        == []
    )


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(ReplacementInvalid) as exc:
        Replacement.from_dict({"find": "a", "replace": "b", "replacement": "c"})
    assert str(exc.value) == (
        "normalization: unknown key(s) replacement; allowed: id, position, kind, find, replace, enabled, note, version"
    )
