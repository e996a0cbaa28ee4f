"""Hypothesis looks for a rule base and a description where the engine and the plain loop disagree.

Patterns are drawn from the portable dialect over a six-character alphabet, so matches, overlaps,
collisions and near misses are common: literals, dots and bounded gaps, optional groups,
alternations, classes, anchors, rules without any literal, exclusions and priorities.
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rulebase.engine import PlainMatcher, RuleSet
from rulebase.errors import RuleInvalid
from rulebase.rule import Rule

ALPHABET = "肺炎癌急性1"
lit = st.text(alphabet=ALPHABET, min_size=1, max_size=3)
atom = st.one_of(
    lit,
    st.just("."),
    st.just("[1急]"),
    st.builds(lambda a, b: f"({a}|{b})", lit, lit),
    st.builds(lambda a: f"({a})?", lit),
    st.builds(lambda a, q: a + q, st.sampled_from(list(ALPHABET)), st.sampled_from(["?", "+", "*", "{1,2}"])),
    st.sampled_from([".*", ".{0,2}", ".{1,3}", ".+"]),
)


@st.composite
def patterns(draw):
    body = "".join(draw(st.lists(atom, min_size=1, max_size=4)))
    return ("^" if draw(st.booleans()) else "") + body + ("$" if draw(st.booleans()) else "")


@st.composite
def rule_bases(draw):
    rules = []
    for i in range(draw(st.integers(min_value=1, max_value=12))):
        try:
            rules.append(
                Rule(
                    id=i + 1,
                    code=draw(st.sampled_from(["A01", "B02", "C03", "D04"])),
                    pattern=draw(patterns()),
                    exclude=draw(st.one_of(st.none(), lit)),
                    priority=draw(st.sampled_from([0, 0, 0, 1, 2])),
                )
            )
        except RuleInvalid:
            continue  # a shape the dialect rejects (e.g. one that matches the empty string)
    return rules


texts = st.text(alphabet=ALPHABET + " （）", max_size=10)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_bases(), st.lists(texts, min_size=1, max_size=8))
def test_engine_equals_the_plain_loop(rules, descriptions):
    engine, plain = RuleSet(rules), PlainMatcher(rules)
    for text in descriptions:
        assert engine.decide(text) == plain.decide(text), (text, [(r.pattern, r.exclude, r.priority) for r in rules])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_bases(), st.lists(texts, min_size=1, max_size=8))
def test_strict_engine_equals_the_strict_plain_loop(rules, descriptions):
    engine, plain = RuleSet(rules, strict=True), PlainMatcher(rules, strict=True)
    for text in descriptions:
        d = engine.decide(text)
        assert d == plain.decide(text), (text, [(r.pattern, r.exclude, r.priority) for r in rules])
        assert not d.parts  # the paper's semantics: never two codes


def _by_hand(rules, description):
    """(outcome, codes, spans) by the README's point 3 written out plainly, straight from `regex`."""
    import regex

    from rulebase.normalize import normalize_text

    text = normalize_text(description)
    if not text:
        return "invalid_input", (), ()
    found = []
    for r in rules:
        m = regex.search(r.pattern, text)
        if r.enabled and m and not (r.exclude and regex.search(r.exclude, text)):
            found.append((r, m.span()))
    if not found:
        return "no_match", (), ()
    top = max(r.priority for r, _ in found)
    found = [(r, sp) for r, sp in found if r.priority == top]
    if len({r.code for r, _ in found}) == 1:
        r, sp = min(found, key=lambda f: f[0].id)
        return "coded", (r.code,), (sp,)
    left = [
        (r, sp)
        for r, sp in found
        if not any(o.code != r.code and o_sp[0] <= sp[0] and sp[1] <= o_sp[1] and o_sp != sp for o, o_sp in found)
    ]
    for r, sp in left:
        for o, o_sp in left:
            if o.code != r.code and sp[0] < o_sp[1] and o_sp[0] < sp[1]:
                return "ambiguous", (), ()
    firsts = {}
    for r, sp in sorted(left, key=lambda f: f[0].id):
        firsts.setdefault(r.code, sp)
    ordered = sorted(firsts.items(), key=lambda kv: (kv[1], kv[0]))
    return "coded", tuple(c for c, _ in ordered), tuple(sp for _, sp in ordered)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_bases(), st.lists(texts, min_size=1, max_size=8))
def test_several_codes_by_span_equal_the_semantics_written_out(rules, descriptions):
    engine = RuleSet(rules)
    for text in descriptions:
        d = engine.decide(text)
        if d.outcome == "timeout":
            continue
        got = (str(d.outcome), d.codes, tuple(p.span for p in d.coded_parts()))
        assert got == _by_hand(rules, text), (text, [(r.pattern, r.exclude, r.priority, r.code) for r in rules])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_bases(), st.lists(texts, min_size=1, max_size=8))
def test_every_matching_rule_is_found_whatever_its_priority(rules, descriptions):
    """`rules test` relies on RuleSet.matching: every rule whose pattern is found and exclude is not."""
    import regex

    from rulebase.normalize import normalize_text

    engine = RuleSet(rules)
    for description in descriptions:
        text = normalize_text(description)
        expected = [
            r.id for r in rules if regex.search(r.pattern, text) and not (r.exclude and regex.search(r.exclude, text))
        ]
        assert sorted(r.id for r in engine.matching(text)) == sorted(expected), (text, [r.pattern for r in rules])


# Guards over the same alphabet: cues that are often inside, before or after a match, some inside
# a longer exception word; each a kind and a scope.
cue_texts = st.text(alphabet=ALPHABET, min_size=1, max_size=2)


@st.composite
def guard_tables(draw):
    from rulebase.guards import Guard, GuardInvalid

    guards = []
    for i in range(draw(st.integers(min_value=0, max_value=4))):
        cue = draw(cue_texts)
        longer = [draw(cue_texts) + cue, cue + draw(cue_texts)]
        try:
            guards.append(
                Guard(
                    id=i + 1,
                    cue=cue,
                    kind=draw(st.sampled_from(["uncertain", "negated"])),
                    scope=draw(st.sampled_from(["before", "after", "any"])),
                    not_within="|".join(draw(st.lists(st.sampled_from(longer), max_size=2))) or None,
                    position=draw(st.integers(min_value=0, max_value=3)),
                    enabled=draw(st.booleans()) or draw(st.booleans()),
                )
            )
        except GuardInvalid:
            continue
    return guards


def _guarded_by_hand(decision, guards):
    """The guard semantics written out plainly (README point 6), for the engines to agree with."""
    from rulebase.decision import Cue
    from rulebase.states import Outcome

    if decision.outcome != Outcome.CODED:
        return decision
    text, spans = decision.normalized, [p.span for p in decision.coded_parts()]
    for g in sorted((g for g in guards if g.enabled), key=lambda g: (g.position, g.id)):
        for start in range(len(text)):
            end = start + len(g.cue)
            if text[start:end] != g.cue:
                continue
            covered = any(
                text[q : q + len(w)] == w and q <= start and end <= q + len(w)
                for w in g.exceptions
                for q in range(len(text))
            )
            if len(spans) > 1 and any(start < e and s < end for s, e in spans):
                continue  # a cue inside one diagnosis's words is that rule's own text
            wanted = any(
                {"before": end <= s, "after": start >= e, "any": end <= s or start >= e}[g.scope] for s, e in spans
            )
            if wanted and not covered:
                # the codes it would have had are proposed, and the cue that stopped it is named
                return decision._replace(
                    outcome=Outcome(g.kind),
                    code=None,
                    rule_id=None,
                    rule_version=None,
                    parts=(),
                    candidates=tuple(c for code in decision.codes for c in decision.candidates if c.code == code),
                    cue=Cue(g.id, g.version, start, end),
                )
    return decision


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_bases(), guard_tables(), st.lists(texts, min_size=1, max_size=8))
def test_guards_engine_equals_the_plain_loop_and_the_semantics(rules, guards, descriptions):
    engine, plain = RuleSet(rules, guards=guards), PlainMatcher(rules, guards=guards)
    unguarded = PlainMatcher(rules)
    for text in descriptions:
        expected = _guarded_by_hand(unguarded.decide(text), guards)
        assert engine.decide(text) == expected, (text, [(r.pattern, r.priority) for r in rules], guards)
        assert plain.decide(text) == expected, (text, [(r.pattern, r.priority) for r in rules], guards)
