import pytest

from rulebase.dialect import parse
from rulebase.errors import PatternInvalid, RuleInvalid
from rulebase.literals import pattern_requirements
from rulebase.rule import Rule

ACCEPTED = [
    "冠(状动脉粥样硬化性)?心(脏)?病",
    "^(急性)?(化脓性)?阑尾炎$",
    "高血压(病)?.{0,2}3级",
    "(综合征|综合症)",
    "[12]型糖尿病",
    "[0-9]+级",
    "a\\.b",
    "\\(术后\\)",
    "^肥胖(症)?$",
    "(ab|cd)+",
    "x{255}",
    "[^a-z]病",
]

REJECTED = [
    ("", "empty pattern"),
    ("(?:a)", "(? constructs"),
    ("(?=a)b", "(? constructs"),
    ("a\\1", "back-references"),
    ("\\d级", "write [0-9]"),
    ("\\w", "\\w is not portable"),
    ("\\s", "\\s is not portable"),
    ("\\b肺炎", "\\b is not portable"),
    ("\\q", "escape \\q is not portable"),
    ("a*?", "lazy quantifiers"),
    ("a++", "possessive quantifiers"),
    ("a{,3}", "{,n} is not portable"),
    ("a{256}", "bounds over 255"),
    ("a{3,2}", "maximum is smaller"),
    ("a^b", "^ is only allowed at the very start"),
    ("a$b", "$ is only allowed at the very end"),
    ("a|", "empty alternative"),
    ("(|a)b", "empty alternative"),
    ("()a", "empty alternative"),
    ("a?", "can match the empty string"),
    ("(肺炎)*", "can match the empty string"),
    ("(a+)+", "nested repetition"),
    ("(.*a){2,}", "nested repetition"),
    ("(a|aa)+", "alternatives inside a repeated group"),
    ("[\\d]", "backslash inside [ ]"),
    ("[[:alpha:]]", "POSIX bracket expressions"),
    ("[一-龥]", "is not portable: ranges are ordered by collation"),
    ("[]a]", "']' first in a class"),
    ("^a|b", "^ and $ bind only"),
    ("高血压（3级）", "never occurs in normalized descriptions"),
    ("a" * 513, "UTF-8 bytes"),
    ("肺" * 171, "UTF-8 bytes"),
    ("(a", "unclosed '('"),
    ("a)", "unmatched ')'"),
    ("[ab", "unclosed '['"),
    ("*a", "nothing to repeat"),
    ("a{2}{3}", "cannot follow another quantifier"),
    ("a}", "unescaped '}'"),
]


@pytest.mark.parametrize("pattern", ACCEPTED)
def test_portable_patterns_are_accepted(pattern):
    assert parse(pattern).source == pattern


@pytest.mark.parametrize("pattern,reason", REJECTED)
def test_each_lint_rejection_names_its_reason(pattern, reason):
    with pytest.raises(PatternInvalid) as exc:
        parse(pattern)
    assert reason in str(exc.value)


def test_rejection_names_the_position():
    with pytest.raises(PatternInvalid) as exc:
        parse("肺炎\\d")
    assert exc.value.position == 2


def test_rule_wraps_pattern_error_with_rule_id():
    with pytest.raises(RuleInvalid, match=r"^rule 7: pattern '\(\?:a\)' is invalid: \(\? constructs"):
        Rule(id=7, code="I10", pattern="(?:a)")
    with pytest.raises(RuleInvalid, match=r"^rule 7: exclude pattern 'a\?' is invalid"):
        Rule(id=7, code="I10", pattern="a", exclude="a?")


def test_rule_from_dict_rejects_unknown_keys_and_lists_allowed():
    with pytest.raises(RuleInvalid, match="unknown key\\(s\\) colour; allowed: id, code, pattern"):
        Rule.from_dict({"code": "I10", "pattern": "高血压", "colour": "red"})
    rule = Rule.from_dict({"code": "I10", "pattern": "高血压", "priority": 2})
    assert Rule.from_dict(rule.to_dict()) == rule


@pytest.mark.parametrize(
    "pattern,expected",
    [
        ("^(急性)?(化脓性)?阑尾炎$", [{"阑尾炎"}]),
        ("(综合征|综合症)", [{"综合征", "综合症"}]),
        ("[12]型糖尿病.{0,4}肾病", [{"1型糖尿病", "2型糖尿病"}, {"肾病"}]),
        ("高血压病.*3级", [{"高血压病"}, {"3级"}]),
        ("^.{2}$", []),
    ],
)
def test_required_literals(pattern, expected):
    assert [set(r) for r in pattern_requirements(parse(pattern))] == expected
