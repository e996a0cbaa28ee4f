"""Guards: the issue's real lines, scope, not_within, validation; both matchers agree."""

import pytest

from rulebase.engine import PlainMatcher, RuleSet
from rulebase.guards import STARTER, Guard, GuardInvalid, Guards
from rulebase.rule import Rule
from rulebase.states import Outcome

RULES = [
    Rule(id=1, code="A16.200", pattern="肺结核"),
    Rule(id=2, code="R91.x00", pattern="肺部阴影"),
    Rule(id=3, code="I25.103", pattern="冠心病"),
    Rule(id=4, code="K85.900", pattern="急性胰腺炎"),
    Rule(id=5, code="I21.900", pattern="(急性)?心肌梗死"),
    Rule(id=6, code="R50.900", pattern="发热待查"),
    Rule(id=7, code="J18.900", pattern="肺炎"),
    Rule(id=8, code="I10.x00", pattern="高血压"),
]

MATCHERS = [
    pytest.param(lambda guards: RuleSet(RULES, guards=guards), id="engine"),
    pytest.param(lambda guards: PlainMatcher(RULES, guards=guards), id="plain"),
]


@pytest.mark.parametrize("make", MATCHERS)
@pytest.mark.parametrize(
    ("text", "outcome", "candidate"),
    [
        ("疑似肺结核", Outcome.UNCERTAIN, "A16.200"),
        ("肺部阴影待查", Outcome.UNCERTAIN, "R91.x00"),
        ("冠心病？", Outcome.UNCERTAIN, "I25.103"),  # NFKC makes ？ the starter set's ?
        ("可能为急性胰腺炎", Outcome.UNCERTAIN, "K85.900"),
        ("急性胰腺炎可能", Outcome.UNCERTAIN, "K85.900"),
        ("排除心肌梗死", Outcome.NEGATED, "I21.900"),
        ("急性心肌梗死待排", Outcome.UNCERTAIN, "I21.900"),
        ("疑似肺炎", Outcome.UNCERTAIN, "J18.900"),
        ("否认高血压病史", Outcome.NEGATED, "I10.x00"),
        # not_within: 排除 / 除外 inside 不排除, 不除外, 待排除 are not negations but doubts
        ("不除外肺结核", Outcome.UNCERTAIN, "A16.200"),
        ("不排除肺结核", Outcome.UNCERTAIN, "A16.200"),
        ("待排除心肌梗死", Outcome.UNCERTAIN, "I21.900"),
        ("不考虑肺结核", Outcome.NEGATED, "A16.200"),
    ],
)
def test_the_issues_lines_are_not_auto_coded(make, text, outcome, candidate):
    d = make(STARTER).decide(text)
    assert d.outcome == outcome
    assert d.code is None and d.rule_id is None
    assert [c.code for c in d.candidates] == [candidate]  # shown to the coder
    assert d.span is not None


@pytest.mark.parametrize("make", MATCHERS)
@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("肺结核", "A16.200"),
        ("发热待查", "R50.900"),  # the rule matched 待查 itself: part of the disease words
        ("肺炎未见好转", "J18.900"),  # 未见 is `before`: after the words it says nothing of them
        ("肺炎,排除支气管扩张", "J18.900"),  # 排除 is `before`: it stands after the matched words
    ],
)
def test_scope_leaves_these_coded(make, text, code):
    d = make(STARTER).decide(text)
    assert (d.outcome, d.code) == (Outcome.CODED, code)


@pytest.mark.parametrize("make", MATCHERS)
def test_scope_before_after_any(make):
    def one(scope):
        return make([Guard(id=1, cue="待查", kind="uncertain", scope=scope)])

    assert one("after").decide("肺部阴影待查").outcome == Outcome.UNCERTAIN
    assert one("before").decide("肺部阴影待查").outcome == Outcome.CODED
    assert one("before").decide("待查肺部阴影").outcome == Outcome.UNCERTAIN
    assert one("after").decide("待查肺部阴影").outcome == Outcome.CODED
    assert one("any").decide("待查肺部阴影").outcome == Outcome.UNCERTAIN
    assert one("any").decide("肺部阴影待查").outcome == Outcome.UNCERTAIN


@pytest.mark.parametrize("make", MATCHERS)
def test_first_guard_in_table_order_decides(make):
    doubt = Guard(id=1, cue="可能", kind="uncertain", scope="any", position=20)
    denial = Guard(id=2, cue="否认", kind="negated", scope="before", position=10)
    assert make([doubt, denial]).decide("否认可能肺结核").outcome == Outcome.NEGATED
    moved = Guard(id=2, cue="否认", kind="negated", scope="before", position=30)
    assert make([doubt, moved]).decide("否认可能肺结核").outcome == Outcome.UNCERTAIN


@pytest.mark.parametrize("make", MATCHERS)
def test_disabled_guards_and_no_guards_change_nothing(make):
    off = Guard(cue="疑似", kind="uncertain", scope="before", enabled=False)
    assert make([off]).decide("疑似肺结核").code == "A16.200"
    assert make(()).decide("疑似肺结核").code == "A16.200"


def test_ambiguous_stays_ambiguous():
    rules = [Rule(id=1, code="A16.200", pattern="肺结核"), Rule(id=2, code="A15.000", pattern="结核病")]
    d = RuleSet(rules, guards=STARTER).decide("疑似肺结核病")
    assert d.outcome == Outcome.AMBIGUOUS and len(d.candidates) == 2


def test_guard_occurrences_respect_not_within():
    g = Guards([Guard(id=1, cue="排除", kind="negated", scope="before", not_within="不排除|待排除")])
    assert [(o.start, o.end) for o in g.occurrences("不排除肺炎, 排除肺结核")] == [(7, 9)]
    assert g.occurrences("待排除肺炎") == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"cue": "", "kind": "uncertain"}, "cue is empty"),
        ({"cue": "？", "kind": "uncertain"}, "not in normalized form"),
        ({"cue": "疑似", "kind": "maybe"}, "kind must be one of"),
        ({"cue": "疑似", "kind": "uncertain", "scope": "near"}, "scope must be one of"),
        ({"cue": "排除", "kind": "negated", "not_within": "排尿"}, "does not contain the cue"),
        ({"cue": "排除", "kind": "negated", "not_within": "排除"}, "does not contain the cue"),
        ({"cue": "疑似", "kind": "uncertain", "position": "x"}, "position must be a whole number"),
        ({"cue": "疑" * 21, "kind": "uncertain"}, "longer than 20"),
    ],
)
def test_an_invalid_guard_cannot_be_made_and_says_where(fields, message):
    with pytest.raises(GuardInvalid, match=message) as exc:
        Guard(**fields, where="guards sheet, row 4")
    assert str(exc.value).startswith("guards sheet, row 4:")


def test_guard_id_in_messages_and_not_within_canonical():
    with pytest.raises(GuardInvalid, match="^guard 7:"):
        Guard(id=7, cue="疑似", kind="doubt")
    g = Guard(cue="排除", kind="negated", not_within=" 不排除 |待排除|不排除")
    assert g.not_within == "不排除|待排除" and g.exceptions == ("不排除", "待排除")
    assert Guard.from_dict(g.to_dict()) == g


def test_starter_set_is_the_issues_list():
    cues = {g.cue: g.kind for g in STARTER}
    for cue in ("疑似", "可疑", "可能", "考虑", "待查", "待排", "待除外", "不除外", "?"):
        assert cues[cue] == "uncertain"
    for cue in ("排除", "除外", "否认", "未见"):
        assert cues[cue] == "negated"


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda rules: RuleSet(rules, guards=STARTER), id="engine"),
        pytest.param(lambda rules: PlainMatcher(rules, guards=STARTER), id="plain"),
    ],
)
@pytest.mark.parametrize(
    ("text", "shown"),
    [
        # two diagnoses, one in doubt: the line fails whole, proposing both of its codes but not
        # the 心绞痛 inside 不稳定型心绞痛 that its span dropped
        ("冠心病 疑似不稳定型心绞痛", [("I25.103", (3,)), ("I20.000", (11, 12))]),
        ("疑似不稳定型心绞痛", [("I20.000", (11, 12))]),
    ],
)
def test_a_guarded_line_proposes_the_codes_it_would_have_had(make, text, shown):
    rules = [
        Rule(id=3, code="I25.103", pattern="冠心病"),
        Rule(id=10, code="I20.900", pattern="心绞痛"),
        Rule(id=11, code="I20.000", pattern="不稳定型心绞痛"),
        Rule(id=12, code="I20.000", pattern="不稳定.{0,2}心绞痛"),
    ]
    unguarded = make([*rules]).decide(text.replace("疑似", ""))
    assert unguarded.outcome == Outcome.CODED and "I20.900" in [c.code for c in unguarded.candidates]
    d = make(rules).decide(text)
    assert d.outcome == Outcome.UNCERTAIN
    assert [(c.code, c.rule_ids) for c in d.candidates] == shown
