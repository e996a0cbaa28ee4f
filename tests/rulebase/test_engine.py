import pytest
import regex

from benchmarks.workload import make_descriptions, make_rules
from rulebase.decision import Candidate, Hit, resolve
from rulebase.engine import PlainMatcher, RuleSet
from rulebase.rule import Rule
from rulebase.states import Outcome

AMBIGUOUS, CODED, INVALID_INPUT, NO_MATCH, TIMEOUT = (
    Outcome.AMBIGUOUS,
    Outcome.CODED,
    Outcome.INVALID_INPUT,
    Outcome.NO_MATCH,
    Outcome.TIMEOUT,
)

RULES = [
    Rule(id=1, code="I25.103", pattern="冠(状动脉粥样硬化性)?心(脏)?病"),
    Rule(id=2, code="I20.000", pattern="不稳定(型)?心绞痛"),
    Rule(id=3, code="I10.x00", pattern="^(原发性)?高血压(病)?$"),
    Rule(id=4, code="I10.x00x004", pattern="高血压(病)?.{0,2}3级"),
    Rule(id=5, code="E11.900", pattern="^2型糖尿病$"),
    Rule(id=6, code="E11.201", pattern="2型糖尿病(性)?肾病", priority=1),
    Rule(id=7, code="E11.900", pattern="糖尿病2型"),
    Rule(id=8, code="J18.900", pattern="肺炎", exclude="(支原体|病毒性)"),
    Rule(id=9, code="I25.103", pattern="冠状动脉粥样硬化"),
    Rule(id=10, code="K35.900", pattern="阑尾炎", enabled=False),
]


@pytest.fixture(params=["plain", "compiled"])
def matcher(request):
    return PlainMatcher(RULES) if request.param == "plain" else RuleSet(RULES)


def test_one_code_is_coded_with_rule_span_and_normalized_text(matcher):
    d = matcher.decide("高血压病３级（极高危）")
    assert (d.outcome, d.code, d.rule_id, d.span, d.normalized) == (
        CODED,
        "I10.x00x004",
        4,
        (0, 6),
        "高血压病3级(极高危)",
    )


def test_no_rule_matches(matcher):
    assert matcher.decide("系统性红斑狼疮").outcome == NO_MATCH


@pytest.mark.parametrize("kind", [PlainMatcher, RuleSet])
def test_two_codes_are_ambiguous_with_every_candidate_under_the_strict_setting(kind):
    d = kind(RULES, strict=True).decide("冠心病 不稳定型心绞痛")
    assert d.outcome == AMBIGUOUS and d.code is None
    assert d.candidates == (Candidate("I20.000", (2,)), Candidate("I25.103", (1,)))


def test_two_codes_at_separate_places_are_two_diagnoses(matcher):
    d = matcher.decide("冠心病 不稳定型心绞痛")
    assert (d.outcome, d.code, d.rule_id, d.span) == (CODED, "I25.103", 1, (0, 3))
    assert d.codes == ("I25.103", "I20.000")
    assert [(p.code, p.rule_id, p.span) for p in d.coded_parts()] == [("I25.103", 1, (0, 3)), ("I20.000", 2, (4, 11))]
    assert d.candidates == (Candidate("I20.000", (2,)), Candidate("I25.103", (1,)))


SHAPES = [
    Rule(id=21, code="J18.900", pattern="肺炎"),
    Rule(id=22, code="J15.900", pattern="肺炎"),
    Rule(id=23, code="N83.200", pattern="卵巢囊肿"),
    Rule(id=24, code="N83.900", pattern="^.{2,3}囊肿$"),
    Rule(id=25, code="J98.000", pattern="支气管(功能不全|功能衰竭)", exclude="先天"),
    Rule(id=26, code="J45.900", pattern="(支气管)?哮喘"),
]


@pytest.mark.parametrize("kind", [PlainMatcher, RuleSet])
def test_several_codes_from_one_hit_of_their_words_are_ambiguous(kind):
    # the engine decides this from the one automaton hit, without building the places
    d = kind(SHAPES).decide("肺炎")
    assert d.outcome == AMBIGUOUS and d.candidates == (Candidate("J15.900", (22,)), Candidate("J18.900", (21,)))


@pytest.mark.parametrize("kind", [PlainMatcher, RuleSet])
def test_a_searched_pattern_beside_one_hit_is_placed_by_its_own_span(kind):
    engine = kind(SHAPES)
    assert engine.decide("卵巢囊肿").outcome == AMBIGUOUS  # both patterns match the whole text
    d = engine.decide("左卵巢囊肿")  # ^.{2,3}囊肿$ takes the whole line, 卵巢囊肿 lies strictly inside it
    assert (d.outcome, d.code, d.rule_id, d.span, d.parts) == (CODED, "N83.900", 24, (0, 5), ())


@pytest.mark.parametrize("kind", [PlainMatcher, RuleSet])
def test_a_set_of_words_with_an_exclusion_is_placed_by_its_words(kind):
    engine = kind(SHAPES)
    d = engine.decide("支气管哮喘 支气管功能衰竭")
    assert [(p.code, p.rule_id, p.span) for p in d.coded_parts()] == [("J45.900", 26, (0, 5)), ("J98.000", 25, (6, 13))]
    assert engine.decide("支气管哮喘 先天支气管功能衰竭").codes == ("J45.900",)


def test_several_rules_for_one_code_are_not_ambiguous(matcher):
    d = matcher.decide("冠状动脉粥样硬化性心脏病")
    assert (d.outcome, d.code, d.rule_id) == (CODED, "I25.103", 1)
    assert d.candidates == (Candidate("I25.103", (1, 9)),)


def test_higher_priority_wins(matcher):
    d = matcher.decide("2型糖尿病肾病")
    assert (d.outcome, d.code) == (CODED, "E11.201")


def test_anchors_are_honoured(matcher):
    assert matcher.decide("原发性高血压").code == "I10.x00"
    assert matcher.decide("妊娠期高血压").outcome == NO_MATCH


def test_exclude_pattern_vetoes_the_rule(matcher):
    assert matcher.decide("社区获得性肺炎").code == "J18.900"
    assert matcher.decide("支原体肺炎").outcome == NO_MATCH


def test_disabled_rules_do_not_match(matcher):
    assert matcher.decide("急性阑尾炎").outcome == NO_MATCH


@pytest.mark.parametrize("text", ["", "   ", "\n\t", None, "\u3000"])
def test_empty_descriptions_are_invalid_input(matcher, text):
    assert matcher.decide(text).outcome == INVALID_INPUT


def test_a_timed_out_rule_is_not_a_guess():
    hit = Hit(RULES[0], (0, 3))
    assert resolve("冠心病", [hit], timed_out=[RULES[1]]).outcome == TIMEOUT
    # a timed-out rule below the winning priority cannot change the outcome
    low = Rule(id=99, code="X", pattern="x", priority=-1)
    assert resolve("冠心病", [hit], timed_out=[low]).outcome == CODED


def test_regex_positional_timeout_convention_holds():
    """The engine passes timeout positionally (string, pos, endpos, concurrent, partial, timeout)."""
    with pytest.raises(TimeoutError):
        regex.compile("(a|aa)+$").search("a" * 40 + "b", None, None, None, False, 0.05)


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_engine_equals_plain_loop_on_generated_workloads(seed, strict):
    rules = make_rules(400, seed=seed, codes=150)
    texts = list(make_descriptions(2000, seed=seed, rules=400))
    plain, fast = PlainMatcher(rules, strict=strict), RuleSet(rules, strict=strict)
    outcomes, several = set(), 0
    for t in texts:
        a, b = plain.decide(t), fast.decide(t)
        assert a == b, t
        outcomes.add(a.outcome)
        several += len(a.parts) > 1
    assert {CODED, NO_MATCH, INVALID_INPUT} <= outcomes
    if strict:
        assert AMBIGUOUS in outcomes and several == 0


def test_a_rule_anchored_at_both_ends_matches_only_the_whole_text():
    rules = [Rule(id=1, code="J18.900", pattern="^(双侧)?肺炎$"), Rule(id=2, code="J15.700", pattern="支原体肺炎")]
    rs = RuleSet(rules)
    assert rs.decide("肺炎").code == "J18.900"
    assert rs.decide("双侧肺炎").span == (0, 4)
    assert rs.decide("支原体肺炎").code == "J15.700"  # holds 肺炎, but is not 肺炎
    assert rs.decide("肺炎 ").code == "J18.900"  # normalized: trailing blanks are trimmed
    assert rs.decide("肺炎肺炎").outcome == NO_MATCH  # the word twice, the length of neither


def test_rules_without_literals_are_always_verified():
    rules = [
        Rule(id=1, code="R1", pattern="^.{2}$"),
        Rule(id=2, code="R2", pattern="[0-9]+级"),
        Rule(id=3, code="R3", pattern="[a-z]{3}"),
    ]
    rs = RuleSet(rules)
    assert rs.unindexed == 2  # R1 and R3; R2 must contain 级
    assert rs.decide("发热").code == "R1"
    assert rs.decide("高血压3级以上").code == "R2"
    assert rs.decide("copd").code == "R3"


def test_the_issues_quoted_lines_with_the_bundled_rules():
    """Issue #14's real lines, decided by the sample rule base (read as a file: the core imports nothing of coder)."""
    import csv
    from pathlib import Path

    path = Path(__file__).parents[2] / "coder" / "sample" / "rules.csv"
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rules = [
        Rule(id=i, code=r["code"], pattern=r["pattern"], exclude=r["exclude"] or None, priority=int(r["priority"]))
        for i, r in enumerate(rows, start=1)
    ]
    rules.append(Rule(id=len(rules) + 1, code="I49.900", pattern="心律失常"))  # not in the sample
    for strict in (False, True):
        rs = RuleSet(rules, strict=strict)
        assert rs.decide("高血压病（3级很高危）").codes == ("I10.x00x032",)  # the qualifier decides the code
        two = rs.decide("冠状动脉粥样硬化性心脏病 不稳定型心绞痛")
        three = rs.decide("心律失常III度房室传导阻滞")
        if strict:
            assert two.outcome == three.outcome == AMBIGUOUS
        else:
            assert two.codes == ("I25.103", "I20.000") and three.codes == ("I49.900", "I44.200")
        assert rs.decide("尿路感染性休克").outcome == AMBIGUOUS  # both claim 感染


def test_an_exclusion_many_rules_share_is_compiled_once_and_vetoes_each():
    """Rule bases repeat a few exclusions under thousands of codes: the pattern is parsed once and
    the rule set compiles its test once, and it still vetoes every rule that carries it."""
    from rulebase.errors import RuleInvalid

    a = Rule(id=1, code="J18.900", pattern="肺炎", exclude="疑似|待查")
    b = Rule(id=2, code="K35.800", pattern="阑尾炎", exclude="疑似|待查")
    assert a.parsed_exclude is b.parsed_exclude
    rs = RuleSet([a, b])
    tests = {id(v.excluded) for v in rs.verifiers}
    assert len(tests) == 1
    assert rs.decide("疑似肺炎").outcome == Outcome.NO_MATCH
    assert rs.decide("阑尾炎待查").outcome == Outcome.NO_MATCH
    assert rs.decide("急性阑尾炎").code == "K35.800"
    # an invalid pattern is refused each time, naming the rule that carries it
    for rule_id, bad in ((3, "(疑似"), (4, "(疑似"), (5, ["疑似"])):  # a list (a JSON body's) is no text
        with pytest.raises(RuleInvalid, match=f"rule {rule_id}: exclude pattern"):
            Rule(id=rule_id, code="J18.900", pattern="肺炎", exclude=bad)
