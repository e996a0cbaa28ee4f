"""The regex-free chain matcher agrees with the regex engine, on a tiny alphabet where overlapping
occurrences, bounded gaps and anchors are everywhere."""

import random

import regex

from rulebase.chain import matcher, to_chain
from rulebase.dialect import parse


def _piece(rng):
    return rng.choice(["a", "b", "ab", "ba", "(a|b)", "(ab|b)", "(a)?b", "c", "(c|ca)"])


def _pattern(rng):
    out = _piece(rng)
    for _ in range(rng.randrange(0, 3)):
        out += rng.choice([".*", ".{0,2}", ".{1,3}", ".", ".{2}", "", ".+"]) + _piece(rng)
    if rng.random() < 0.2:
        out = rng.choice([".*", ".{2,3}", ".", ".+"]) + out
    if rng.random() < 0.2:
        out += rng.choice([".*", ".{0,2}", ".", ".+"])
    if rng.random() < 0.3:
        out = "^" + out
    if rng.random() < 0.3:
        out += "$"
    return out


def test_chain_matcher_equals_regex_search():
    rng = random.Random(5)
    checked = 0
    for _ in range(600):
        source = _pattern(rng)
        parsed = parse(source)
        chain = to_chain(parsed)
        if chain is None:
            continue
        test, compiled = matcher(chain), regex.compile(source)
        for _ in range(60):
            text = "".join(rng.choice("abc") for _ in range(rng.randrange(1, 12)))
            assert test(text) == bool(compiled.search(text)), (source, text)
            checked += 1
    assert checked > 20000


def test_leading_and_trailing_gaps_are_chains():
    chain = to_chain(parse("^.{2,3}结石$"))
    assert (chain.parts, chain.lead, chain.trail) == ((("结石",),), (2, 3), (0, 0))
    test = matcher(chain)
    assert [test(t) for t in ["肾结石", "左肾结石", "输尿管结石", "输尿管上段结石", "结石"]] == [
        False,
        True,
        True,
        False,
        False,
    ]


def test_shapes_that_are_not_chains():
    for source in ["[0-9]+级", "^.{2}$", "(肺|肝)+炎", "[^a]b"]:
        assert to_chain(parse(source)) is None, source
