"""Suggestions from the audited history: ranking, evidence, determinism, inactive codes, empty cases."""

from __future__ import annotations

import random

from rulebase.mining import Example
from rulebase.suggest import Evidence, Suggester, Suggestion

HISTORY = [
    Example("冠心病", {"I25.103": 40}),
    Example("冠状动脉粥样硬化性心脏病", {"I25.103": 12}),
    Example("不稳定型心绞痛", {"I20.000": 25}),
    Example("稳定型心绞痛", {"I20.800x007": 10}),
    Example("心绞痛", {"I20.900": 6}),
    Example("急性心肌梗死", {"I21.900": 9}),
    Example("急性下壁心肌梗死", {"I21.101": 4}),
    Example("高血压3级", {"I10.x00x004": 30}),
    Example("高血压", {"I10.x00": 50}),
    Example("2型糖尿病", {"E11.900": 30}),
    Example("2型糖尿病性肾病", {"E11.201": 8}),
    Example("社区获得性肺炎", {"J18.900": 20, "J15.900": 2}),
    Example("重症肺炎", {"J18.903": 14}),
]


def codes(found: list[Suggestion]) -> list[str]:
    return [s.code for s in found]


def test_run_together_line_gets_both_of_its_codes():
    found = Suggester(HISTORY).suggest("冠心病不稳定型心绞痛")
    assert {"I25.103", "I20.000"} <= set(codes(found))
    assert len(found) <= 5


def test_an_exact_text_ranks_its_code_first_with_full_score():
    found = Suggester(HISTORY).suggest("重症肺炎")
    assert found[0].code == "J18.903" and found[0].score == 100.0
    assert found[0].evidence[0] == Evidence("重症肺炎", "J18.903", 14, 100.0, 14)
    assert found[0].lines == 14


def test_a_variant_with_a_qualifier_gets_the_code_of_its_closest_text():
    # not in the history: a qualifier in front, a suffix behind
    assert Suggester(HISTORY).suggest("急性下壁心肌梗死（待查）")[0].code == "I21.101"
    assert Suggester(HISTORY).suggest("2型糖尿病肾病")[0].code == "E11.201"


def test_ranked_by_score_then_lines_then_code_and_scores_are_bounded():
    found = Suggester(HISTORY).suggest("高血压3级很高危", k=10)
    keys = [(-s.score, -s.lines, s.code) for s in found]
    assert keys == sorted(keys)
    assert all(0 < s.score <= 100 for s in found)
    assert found[0].code == "I10.x00x004"  # the closer, more specific text beats the more frequent one


def test_evidence_names_the_similar_texts_their_code_and_counts():
    found = {s.code: s for s in Suggester(HISTORY).suggest("社区获得性肺炎伴感染")}
    j18, j15 = found["J18.900"], found["J15.900"]
    assert j18.evidence[0].text == "社区获得性肺炎" and j18.evidence[0].count == 20
    assert j15.evidence[0].count == 2 and j15.evidence[0].total == 22
    # the same text, coded J18.900 in 20 of its 22 lines: agreement ranks J18.900 first
    assert j18.score > j15.score
    assert all(e.code == s.code for s in found.values() for e in s.evidence)


def test_the_history_order_does_not_change_the_answer():
    texts = ["冠心病不稳定型心绞痛", "急性心梗", "肺炎", "2型糖尿病伴肾病", "高血压病"]
    shuffled = HISTORY[:]
    random.Random(3).shuffle(shuffled)
    assert Suggester(HISTORY).suggest_many(texts) == Suggester(shuffled).suggest_many(texts)


def test_ties_are_broken_by_lines_then_code():
    history = [Example("甲状腺结节", {"E04.101": 3}), Example("甲状腺结节", {"E04.902": 3, "E04.100": 3})]
    found = Suggester(history).suggest("甲状腺结节")
    # one text: E04.101 and E04.902 and E04.100 each 3 of 9 lines; equal scores, then by code
    assert codes(found) == ["E04.100", "E04.101", "E04.902"]


def test_inactive_codes_are_never_suggested():
    s = Suggester(HISTORY, inactive={"J18.900", "J18.903"})
    found = s.suggest("社区获得性肺炎")
    assert "J18.900" not in codes(found) and found[0].code == "J15.900"
    assert "J18.903" not in codes(s.suggest("重症肺炎"))


def test_empty_cases():
    s = Suggester(HISTORY)
    assert s.suggest("") == []
    assert s.suggest("骨折") == []  # shares no piece with the history
    assert s.suggest("冠心病", k=0) == []
    assert Suggester([]).suggest("冠心病") == []
    assert len(Suggester([Example("", {"R69.x00": 3}), Example("发热", {})])) == 0


def test_a_shared_piece_always_gives_a_suggestion():
    # a common bigram among many texts: the pool is cut, but something is always suggested
    history = [Example(f"{q}肺炎{i}", {f"J{i % 90:02d}.900": 1 + i % 4}) for i, q in enumerate("左右双上下" * 400)]
    history.append(Example("支原体肺炎", {"J15.700": 1}))
    s = Suggester(history)
    for text in ["肺炎", "病毒性肺炎", "炎肺炎"]:
        assert s.suggest(text), text
    assert s.suggest("支原体肺炎")[0].code == "J15.700"


def test_suggest_many_matches_suggest_one_by_one():
    s = Suggester(HISTORY)
    texts = ["冠心病", "冠心病", "稳定型心绞痛", "骨折"]
    assert s.suggest_many(texts, k=3) == [s.suggest(t, k=3) for t in texts]
