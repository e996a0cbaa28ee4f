"""Patterns and texts a hostile or careless user writes (issue #16, items 3, 6 and 12)."""

import re

import pytest

from rulebase.decision import prepare
from rulebase.dialect import MAX_EXPANDED, parse
from rulebase.engine import PlainMatcher, RuleSet
from rulebase.errors import PatternInvalid, PatternTimeout
from rulebase.normalize import Normalizer, Replacement, normalize_text
from rulebase.rule import Rule
from rulebase.states import Outcome


@pytest.mark.parametrize(
    "pattern, reason",
    [
        ("(a{255}){255}", "spells out to 65025 positions"),
        ("(肺炎.{0,200}){60}", "spells out to"),
        ("[a-b-c]", "'-' right after a range"),
        ("肺\u200b炎", "invisible formatting character U+200B"),
        ("肺\u202e炎", "invisible formatting character U+202E"),
        ("肺\u2028炎", "blank U+2028"),
    ],
)
def test_patterns_an_engine_would_refuse_or_never_match_are_refused_with_the_reason(pattern, reason):
    with pytest.raises(PatternInvalid, match=re.escape(reason)):
        parse(pattern)


def test_the_bounds_that_stay_within_the_limit_are_accepted():
    for pattern in (".{0,255}" * 8 + "肺", "a{255}" * 8, "(a{255}){39}", "[-a-z]", "[a-z-]"):
        parse(pattern)
    assert MAX_EXPANDED == 10_000


def test_invisible_characters_are_removed_from_descriptions():
    # A zero-width space and a right-to-left override would make look-alike texts.
    assert normalize_text("冠\u200b心\u202e病\ufeff") == "冠心病"
    assert normalize_text("肺\u2028炎 \t 待查") == "肺 炎 待查"


def test_a_normalization_pattern_that_runs_out_of_time_is_a_timeout_outcome():
    slow = Normalizer([Replacement(find="(a|b)+c", replace="x", kind="pattern")], timeout=1e-9)
    text = "ab" * 5000
    with pytest.raises(PatternTimeout):
        slow(text)
    assert prepare(slow, text).outcome == Outcome.TIMEOUT
    rules = [Rule(code="I10", pattern="ab", id=1)]
    for matcher in (RuleSet(rules, normalizer=slow), PlainMatcher(rules, normalizer=slow)):
        assert matcher.decide(text).outcome == Outcome.TIMEOUT
    assert RuleSet(rules).decide(text).outcome == Outcome.CODED  # the same text, normalized in time
