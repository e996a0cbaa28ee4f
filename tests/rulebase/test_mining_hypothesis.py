"""Properties of the miner on random small histories, META characters included."""

from __future__ import annotations

import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rulebase.mining import Example, MiningOptions, mine

ALPHABET = "肺炎胆结石肾急慢性左右2型病.()[]*+?|^$\\{} "
texts = st.text(alphabet=ALPHABET, min_size=1, max_size=12).map(lambda s: " ".join(s.split())).filter(bool)
histories = st.lists(
    st.tuples(texts, st.sampled_from(["A01", "B02", "C03"]), st.integers(1, 12)), min_size=1, max_size=25
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories, st.sampled_from([0.8, 0.95]))
def test_accepted_meet_thresholds_and_patterns_mean_what_was_counted(rows, min_precision):
    history = [Example(t, {c: n}, t) for t, c, n in rows]
    opts = MiningOptions(min_support=3, min_precision=min_precision, folds=3, seed=1)
    result = mine(history, (), opts)
    lines: dict[str, int] = {}
    for t, _c, n in rows:
        lines[t] = lines.get(t, 0) + n
    for p in result.proposals:
        if p.accepted:
            assert p.precision >= min_precision and p.cv_precision >= min_precision
            assert p.support >= opts.min_support and p.breaks == 0
        exclude = regex.compile(p.rule.exclude) if p.rule.exclude else None
        hits = [t for t in lines if regex.search(p.rule.pattern, t) and not (exclude and exclude.search(t))]
        assert sum(lines[t] for t in hits) == p.support  # an unescaped META would change what matches
    again = mine(list(reversed(history)), (), opts)
    assert [(p.rule, p.cv_precision) for p in again.proposals] == [(p.rule, p.cv_precision) for p in result.proposals]
